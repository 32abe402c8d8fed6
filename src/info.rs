//! INFO: the node's state in Redis's `INFO` format.
//!
//! Sections come in Redis's fixed order, each as `# Name` then
//! `field:value` lines, all ending in CRLF, with a blank line between
//! sections. `INFO` alone (or `default`) gives the default sections, `all`
//! and `everything` add `commandstats` and `latencystats`; unknown section
//! names are ignored, as in Redis.
//!
//! Fields that mean something for redraft come from the node (uptime,
//! clients, counters, memory from `/proc`, the Raft state of each shard);
//! fields about Redis machinery redraft does not have (forks, RDB, Lua,
//! defragmentation, …) keep their names with idle values, so parsers that
//! expect them still work. `role` is `master`: clients are served by this
//! node. The Raft state of each local shard follows the standard
//! replication fields as `shard<N>:role=…,term=…,commit=…,applied=…`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use redraft_cluster::{ShardRole, SLOT_COUNT};

use crate::keyspace::scan::{MetaRecords, Start};
use crate::keyspace::KvRead;
use crate::node::Node;

/// The version INFO, HELLO and LOLWUT-style probes report. redraft speaks
/// Redis 7.0's protocol and command set, so it reports 7.0.15: clients
/// enable features (RESP3, CLUSTER SHARDS, …) by comparing this version.
pub const REDIS_VERSION: &str = "7.0.15";

/// INFO sections in Redis's order.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Not in the default set.
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

/// The sections INFO `args` (after the command name) asks for, in order.
pub fn requested_sections(args: &[Bytes]) -> Vec<&'static str> {
    if args.is_empty() {
        return default_sections();
    }
    let mut wanted = Vec::new();
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "all" | "everything" => return SECTIONS.to_vec(),
            "default" => wanted.extend(default_sections()),
            other => {
                if let Some(s) = SECTIONS.iter().find(|s| **s == other) {
                    wanted.push(*s);
                }
            }
        }
    }
    SECTIONS
        .iter()
        .copied()
        .filter(|s| wanted.contains(s))
        .collect()
}

fn default_sections() -> Vec<&'static str> {
    SECTIONS
        .iter()
        .copied()
        .filter(|s| !NOT_DEFAULT.contains(s))
        .collect()
}

/// The INFO text for `args` (the arguments after `INFO`).
pub fn render(node: &Node, args: &[Bytes]) -> String {
    let mut out = String::new();
    for (i, section) in requested_sections(args).into_iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let mut s = Section::new(section);
        match section {
            "server" => server(node, &mut s),
            "clients" => clients(node, &mut s),
            "memory" => memory(node, &mut s),
            "persistence" => persistence(node, &mut s),
            "stats" => stats(node, &mut s),
            "replication" => replication(node, &mut s),
            "cpu" => cpu(&mut s),
            "cluster" => s.field("cluster_enabled", 1),
            "keyspace" => keyspace(node, &mut s),
            // modules, commandstats, errorstats, latencystats: nothing to
            // report yet.
            _ => {}
        }
        out.push_str(&s.text);
    }
    out
}

/// One section being written.
struct Section {
    text: String,
}

impl Section {
    fn new(name: &str) -> Section {
        // Redis capitalizes the first letter, except `CPU`.
        let mut title = name.to_string();
        if title == "cpu" {
            title.make_ascii_uppercase();
        } else {
            title[..1].make_ascii_uppercase();
        }
        Section {
            text: format!("# {title}\r\n"),
        }
    }

    fn field(&mut self, name: &str, value: impl std::fmt::Display) {
        let _ = write!(self.text, "{name}:{value}\r\n");
    }
}

fn server(node: &Node, s: &mut Section) {
    let now_us = crate::clock::now_us();
    let uptime = node.started.elapsed().as_secs();
    s.field("redis_version", REDIS_VERSION);
    s.field("redis_git_sha1", "00000000");
    s.field("redis_git_dirty", 0);
    s.field("redis_build_id", "0");
    s.field("redis_mode", "cluster");
    s.field("os", os_name());
    s.field("arch_bits", usize::BITS);
    s.field("monotonic_clock", "POSIX clock_gettime");
    s.field("multiplexing_api", "epoll");
    s.field("atomicvar_api", "c11-builtin");
    s.field("gcc_version", "0.0.0");
    s.field("process_id", std::process::id());
    s.field("process_supervised", "no");
    s.field("run_id", &node.node_id);
    s.field("tcp_port", node.config.port);
    s.field("server_time_usec", now_us);
    s.field("uptime_in_seconds", uptime);
    s.field("uptime_in_days", uptime / 86400);
    s.field("hz", node.settings.hz());
    s.field("configured_hz", node.settings.hz());
    s.field("lru_clock", (now_us / 1_000_000) & ((1 << 24) - 1));
    s.field(
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    s.field("config_file", "");
    s.field("io_threads_active", 0);
    s.field("redraft_version", env!("CARGO_PKG_VERSION"));
    s.field("storage_engine", node.engine.name());
}

fn clients(node: &Node, s: &mut Section) {
    s.field("connected_clients", node.clients.len());
    s.field("cluster_connections", 0);
    s.field("maxclients", node.settings.maxclients());
    s.field("client_recent_max_input_buffer", 0);
    s.field("client_recent_max_output_buffer", 0);
    s.field("blocked_clients", node.blocking.blocked_clients());
    s.field("tracking_clients", 0);
    s.field("clients_in_timeout_table", 0);
}

fn memory(node: &Node, s: &mut Section) {
    let rss = proc_status_kb("VmRSS").unwrap_or(0) * 1024;
    let peak = (proc_status_kb("VmHWM").unwrap_or(0) * 1024).max(rss);
    let total = meminfo_kb("MemTotal").unwrap_or(0) * 1024;
    let maxmemory = node.settings.maxmemory();
    s.field("used_memory", rss);
    s.field("used_memory_human", bytes_to_human(rss));
    s.field("used_memory_rss", rss);
    s.field("used_memory_rss_human", bytes_to_human(rss));
    s.field("used_memory_peak", peak);
    s.field("used_memory_peak_human", bytes_to_human(peak));
    s.field(
        "used_memory_peak_perc",
        format!("{:.2}%", percent(rss, peak)),
    );
    s.field("used_memory_overhead", 0);
    s.field("used_memory_startup", 0);
    s.field("used_memory_dataset", rss);
    s.field("used_memory_dataset_perc", "100.00%");
    s.field("allocator_allocated", rss);
    s.field("allocator_active", rss);
    s.field("allocator_resident", rss);
    s.field("total_system_memory", total);
    s.field("total_system_memory_human", bytes_to_human(total));
    s.field("used_memory_lua", 0);
    s.field("used_memory_vm_eval", 0);
    s.field("used_memory_lua_human", "0B");
    s.field("used_memory_scripts_eval", 0);
    s.field("number_of_cached_scripts", 0);
    s.field("number_of_functions", 0);
    s.field("number_of_libraries", 0);
    s.field("used_memory_vm_functions", 0);
    s.field("used_memory_vm_total", 0);
    s.field("used_memory_vm_total_human", "0B");
    s.field("used_memory_functions", 0);
    s.field("used_memory_scripts", 0);
    s.field("used_memory_scripts_human", "0B");
    s.field("maxmemory", maxmemory);
    s.field("maxmemory_human", bytes_to_human(maxmemory));
    s.field("maxmemory_policy", node.settings.maxmemory_policy());
    s.field("allocator_frag_ratio", "1.00");
    s.field("allocator_frag_bytes", 0);
    s.field("allocator_rss_ratio", "1.00");
    s.field("allocator_rss_bytes", 0);
    s.field("rss_overhead_ratio", "1.00");
    s.field("rss_overhead_bytes", 0);
    s.field("mem_fragmentation_ratio", "1.00");
    s.field("mem_fragmentation_bytes", 0);
    s.field("mem_not_counted_for_evict", 0);
    s.field("mem_replication_backlog", 0);
    s.field("mem_total_replication_buffers", 0);
    s.field("mem_clients_slaves", 0);
    s.field("mem_clients_normal", 0);
    s.field("mem_cluster_links", 0);
    s.field("mem_aof_buffer", 0);
    s.field("mem_allocator", "libc");
    s.field("active_defrag_running", 0);
    s.field("lazyfree_pending_objects", 0);
    s.field("lazyfreed_objects", 0);
}

fn persistence(node: &Node, s: &mut Section) {
    s.field("loading", 0);
    s.field("async_loading", 0);
    s.field("current_cow_peak", 0);
    s.field("current_cow_size", 0);
    s.field("current_cow_size_age", 0);
    s.field("current_fork_perc", "0.00");
    s.field("current_save_keys_processed", 0);
    s.field("current_save_keys_total", 0);
    // Every write is durable once acknowledged: nothing awaits a save.
    s.field("rdb_changes_since_last_save", 0);
    s.field("rdb_bgsave_in_progress", 0);
    s.field(
        "rdb_last_save_time",
        node.settings.last_save.load(Ordering::Relaxed),
    );
    s.field("rdb_last_bgsave_status", "ok");
    s.field("rdb_last_bgsave_time_sec", -1);
    s.field("rdb_current_bgsave_time_sec", -1);
    s.field("rdb_saves", node.settings.saves.load(Ordering::Relaxed));
    s.field("rdb_last_cow_size", 0);
    s.field("rdb_last_load_keys_expired", 0);
    s.field("rdb_last_load_keys_loaded", 0);
    s.field("aof_enabled", 1);
    s.field("aof_rewrite_in_progress", 0);
    s.field("aof_rewrite_scheduled", 0);
    s.field("aof_last_rewrite_time_sec", -1);
    s.field("aof_current_rewrite_time_sec", -1);
    s.field("aof_last_bgrewrite_status", "ok");
    s.field("aof_rewrites", 0);
    s.field("aof_rewrites_consecutive_failures", 0);
    s.field("aof_last_write_status", "ok");
    s.field("aof_last_cow_size", 0);
    s.field("module_fork_in_progress", 0);
    s.field("module_fork_last_cow_size", 0);
    s.field("aof_current_size", node.engine.disk_size());
    s.field("aof_base_size", 0);
    s.field("aof_pending_rewrite", 0);
    s.field("aof_buffer_length", 0);
    s.field("aof_pending_bio_fsync", 0);
    s.field("aof_delayed_fsync", 0);
}

fn stats(node: &Node, s: &mut Section) {
    let st = &node.stats;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let rates = node.settings.sample_rates(
        get(&st.commands_processed),
        get(&st.net_input_bytes),
        get(&st.net_output_bytes),
    );
    s.field("total_connections_received", get(&st.connections_received));
    s.field("total_commands_processed", get(&st.commands_processed));
    s.field("instantaneous_ops_per_sec", rates.ops_per_sec);
    s.field("total_net_input_bytes", get(&st.net_input_bytes));
    s.field("total_net_output_bytes", get(&st.net_output_bytes));
    s.field("total_net_repl_input_bytes", 0);
    s.field("total_net_repl_output_bytes", 0);
    s.field(
        "instantaneous_input_kbps",
        format!("{:.2}", rates.input_kbps),
    );
    s.field(
        "instantaneous_output_kbps",
        format!("{:.2}", rates.output_kbps),
    );
    s.field("instantaneous_input_repl_kbps", "0.00");
    s.field("instantaneous_output_repl_kbps", "0.00");
    s.field("rejected_connections", get(&st.rejected_connections));
    s.field("sync_full", 0);
    s.field("sync_partial_ok", 0);
    s.field("sync_partial_err", 0);
    s.field("expired_keys", get(&st.expired_keys));
    s.field("expired_stale_perc", "0.00");
    s.field("expired_time_cap_reached_count", 0);
    s.field("expire_cycle_cpu_milliseconds", 0);
    s.field("evicted_keys", 0);
    s.field("evicted_clients", 0);
    s.field("total_eviction_exceeded_time", 0);
    s.field("current_eviction_exceeded_time", 0);
    s.field("keyspace_hits", get(&st.keyspace_hits));
    s.field("keyspace_misses", get(&st.keyspace_misses));
    s.field("pubsub_channels", 0);
    s.field("pubsub_patterns", 0);
    s.field("pubsubshard_channels", 0);
    s.field("latest_fork_usec", 0);
    s.field("total_forks", 0);
    s.field("migrate_cached_sockets", 0);
    s.field("slave_expires_tracked_keys", 0);
    s.field("active_defrag_hits", 0);
    s.field("active_defrag_misses", 0);
    s.field("active_defrag_key_hits", 0);
    s.field("active_defrag_key_misses", 0);
    s.field("total_active_defrag_time", 0);
    s.field("current_active_defrag_time", 0);
    s.field("tracking_total_keys", 0);
    s.field("tracking_total_items", 0);
    s.field("tracking_total_prefixes", 0);
    s.field("unexpected_error_replies", 0);
    s.field("total_error_replies", get(&st.error_replies));
    s.field("dump_payload_sanitizations", 0);
    s.field("total_reads_processed", 0);
    s.field("total_writes_processed", 0);
    s.field("io_threaded_reads_processed", 0);
    s.field("io_threaded_writes_processed", 0);
    s.field("reply_buffer_shrinks", 0);
    s.field("reply_buffer_expands", 0);
}

fn replication(node: &Node, s: &mut Section) {
    let shards = node.raft.shards();
    let offset: u64 = shards.iter().map(|i| i.applied_index).sum();
    s.field("role", "master");
    s.field("connected_slaves", 0);
    s.field("master_failover_state", "no-failover");
    s.field("master_replid", &node.node_id);
    s.field("master_replid2", "0".repeat(40));
    s.field("master_repl_offset", offset);
    s.field("second_repl_offset", -1);
    s.field("repl_backlog_active", 0);
    s.field("repl_backlog_size", 1048576);
    s.field("repl_backlog_first_byte_offset", 0);
    s.field("repl_backlog_histlen", 0);
    let stats = node.raft.stats();
    let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    s.field("snapshots_sent", get(&stats.snapshots_sent));
    s.field("snapshots_received", get(&stats.snapshots_received));
    s.field("snapshots_generated", get(&stats.snapshots_generated));
    // Anti-entropy (docs/architecture/anti-entropy.md): digests computed
    // here; divergent replicas found (any node's, as every replica learns
    // every verdict); of those, this node's; repairs of this node's
    // replicas by snapshot; checks with no majority.
    s.field("anti_entropy_checks", get(&stats.anti_entropy_checks));
    s.field("anti_entropy_divergent", get(&stats.anti_entropy_divergent));
    s.field(
        "anti_entropy_local_divergent",
        get(&stats.anti_entropy_local_divergent),
    );
    s.field("anti_entropy_repairs", get(&stats.anti_entropy_repairs));
    s.field(
        "anti_entropy_unresolved",
        get(&stats.anti_entropy_unresolved),
    );
    for i in shards {
        let voters: Vec<String> = i.voters.iter().map(u64::to_string).collect();
        s.field(
            &format!("shard{}", i.shard),
            format!(
                "role={},term={},leader={},commit={},applied={},first_log={},last_log={},voters={}",
                role_name(i.role),
                i.term,
                i.leader.unwrap_or(0),
                i.commit_index,
                i.applied_index,
                i.first_log_index,
                i.last_log_index,
                voters.join("/"),
            ),
        );
    }
}

/// A Raft role as INFO replication names it.
pub fn role_name(role: ShardRole) -> &'static str {
    match role {
        ShardRole::Leader => "leader",
        ShardRole::Follower => "follower",
        ShardRole::Candidate => "candidate",
    }
}

fn cpu(s: &mut Section) {
    let me = proc_stat_times("/proc/self/stat");
    let main = proc_stat_times(&format!("/proc/self/task/{}/stat", std::process::id()));
    let [user, sys, cuser, csys] = me.unwrap_or_default();
    let [muser, msys, _, _] = main.unwrap_or_default();
    s.field("used_cpu_sys", secs(sys));
    s.field("used_cpu_user", secs(user));
    s.field("used_cpu_sys_children", secs(csys));
    s.field("used_cpu_user_children", secs(cuser));
    s.field("used_cpu_sys_main_thread", secs(msys));
    s.field("used_cpu_user_main_thread", secs(muser));
}

fn keyspace(node: &Node, s: &mut Section) {
    let ks = match keyspace_stats(&*node.engine, crate::clock::now_ms()) {
        Ok(ks) => ks,
        Err(e) => {
            tracing::error!("INFO keyspace: {e}");
            KeyspaceStats::default()
        }
    };
    if ks.keys > 0 {
        s.field(
            "db0",
            format!(
                "keys={},expires={},avg_ttl={}",
                ks.keys, ks.expires, ks.avg_ttl_ms
            ),
        );
    }
}

/// Live keys of the node, those with a TTL, and their average TTL.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyspaceStats {
    pub keys: u64,
    pub expires: u64,
    pub avg_ttl_ms: u64,
}

/// Counts the live (not expired) keys of the node, those with a TTL and
/// their average TTL. O(keys): one walk over the metadata records, which
/// skips collection subkeys by reseeking.
pub fn keyspace_stats(kv: &(impl KvRead + ?Sized), now_ms: u64) -> std::io::Result<KeyspaceStats> {
    let mut ks = KeyspaceStats::default();
    let mut ttl_sum: u128 = 0;
    for rec in MetaRecords::new(kv, Start::Slot(0), SLOT_COUNT - 1) {
        let header = rec?.header()?;
        if header.is_expired(now_ms) {
            continue;
        }
        ks.keys += 1;
        if header.expire_at_ms != 0 {
            ks.expires += 1;
            ttl_sum += u128::from(header.expire_at_ms - now_ms);
        }
    }
    if ks.expires > 0 {
        ks.avg_ttl_ms = (ttl_sum / u128::from(ks.expires)) as u64;
    }
    Ok(ks)
}

/// Redis's `bytesToHuman`: `999B`, `1.50K`, `2.00M`, `1.00G`, …
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    if n >= 1 << 60 {
        return format!("{n}B");
    }
    for &(unit, suffix) in UNITS {
        if n >= unit {
            return format!("{:.2}{suffix}", n as f64 / unit as f64);
        }
    }
    format!("{n}B")
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Seconds from clock ticks (USER_HZ, 100 on Linux), as `%.6f`.
fn secs(ticks: u64) -> String {
    format!("{:.6}", ticks as f64 / 100.0)
}

/// utime, stime, cutime, cstime of a `/proc/.../stat` file, in ticks.
fn proc_stat_times(path: &str) -> Option<[u64; 4]> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces: split after its ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some([field(14)?, field(15)?, field(16)?, field(17)?])
}

fn proc_status_kb(field: &str) -> Option<u64> {
    kb_field(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

fn meminfo_kb(field: &str) -> Option<u64> {
    kb_field(&std::fs::read_to_string("/proc/meminfo").ok()?, field)
}

fn kb_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `uname -s -r -m`, as Redis's `os` field shows it.
fn os_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{} {} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn section_selection() {
        let default = requested_sections(&[]);
        assert_eq!(default.first(), Some(&"server"));
        assert_eq!(default.last(), Some(&"keyspace"));
        assert!(!default.contains(&"commandstats"));
        assert_eq!(requested_sections(&args(&["default"])), default);
        assert_eq!(requested_sections(&args(&["ALL"])).len(), SECTIONS.len());
        assert_eq!(
            requested_sections(&args(&["everything"])).len(),
            SECTIONS.len()
        );
        // Redis's order, not the order asked, each once.
        assert_eq!(
            requested_sections(&args(&["keyspace", "Cluster", "keyspace", "nosuch"])),
            ["cluster", "keyspace"]
        );
        assert!(requested_sections(&args(&["nosuch"])).is_empty());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1690096), "1.61M");
        assert_eq!(bytes_to_human(25276063744), "23.54G");
    }

    #[test]
    fn section_format() {
        let mut s = Section::new("keyspace");
        s.field("db0", "keys=1,expires=0,avg_ttl=0");
        assert_eq!(s.text, "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n");
        assert_eq!(Section::new("cpu").text, "# CPU\r\n");
        assert_eq!(Section::new("errorstats").text, "# Errorstats\r\n");
    }

    #[test]
    fn proc_fields() {
        assert_eq!(
            kb_field("VmRSS:\t  1234 kB\nVmHWM: 5 kB\n", "VmRSS"),
            Some(1234)
        );
        assert_eq!(kb_field("VmRSSX: 1 kB\n", "VmRSS"), None);
        assert!(proc_stat_times("/proc/self/stat").is_some());
    }
}
