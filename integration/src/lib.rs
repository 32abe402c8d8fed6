//! Test harness: starts real `redraft` processes and stops them on drop.
//!
//! - [`TestNode::start`] spawns the binary on a free port of 127.0.0.1 with
//!   a fresh data folder, sends its output to a log file beside that folder
//!   and returns once the node answers `PING`.
//! - [`TestNode::kill9`], [`TestNode::stop`] and [`TestNode::restart`]
//!   crash, stop and bring back the same node (same folder, same port).
//! - Dropping a [`TestNode`] (also while a test panics) kills the process
//!   with SIGKILL and removes its folder; on a panic the log's tail is
//!   printed first. On Linux the child is also killed by the kernel if the
//!   thread that started it dies (`PR_SET_PDEATHSIG`), so an aborted or
//!   killed test run leaves no node behind.
//!
//! Which binary: `REDRAFT_BIN` if set, else `<target>/release/redraft` if
//! it exists, else `<target>/debug/redraft` (`<target>` is
//! `CARGO_TARGET_DIR` or the workspace's `target/`). This crate does not
//! build the binary: run `cargo build --bin redraft` (or `--release`) first.
//!
//! Reference mode: with `REDRAFT_TEST_SERVER=redis-server`, tests that do
//! not insist on redraft run against a real `redis-server` (cluster mode,
//! one node owning every slot) instead, to check the tests' expectations.
//!
//! Environment: `REDRAFT_TEST_KEEP=1` keeps the folders (and logs) of
//! nodes after the test.

pub mod checker;
pub mod client;
pub mod cluster;
pub mod history;
pub mod linearizability;
pub mod nemesis;
pub mod netns;
pub mod pyload;
pub mod raw;
pub mod tools;
pub mod workload_checks;

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` (relative to the workspace
/// root) or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => workspace_root().join(d),
        None => workspace_root().join("target"),
    }
}

/// The redraft binary the tests run; see the crate docs for the order.
/// Panics with the build command to run when there is none.
pub fn redraft_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("REDRAFT_BIN") {
        return PathBuf::from(p);
    }
    let target = target_dir();
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("redraft");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "no redraft binary under {}: run `cargo build --release --bin redraft` \
         (or `cargo build --bin redraft`) first, or set REDRAFT_BIN",
        target.display()
    );
}

/// Whether the binary the tests would use is a release build.
pub fn bin_is_release() -> bool {
    redraft_bin()
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "release")
}

/// Picks a port on 127.0.0.1 that is free now and that no other node of
/// this test process was given.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        drop(listener);
        if given.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// Picks a port `p` on 127.0.0.1 such that both `p` and `p + offset` are
/// free now and no other node of this test process was given either
/// (a redraft node also listens on its cluster bus port, 10000 above its
/// client port). Ports come from below the kernel's ephemeral range, so
/// outgoing connections do not take them meanwhile.
pub fn free_port_pair(offset: u16) -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    let hi = 32_000u16.min(u16::MAX - offset).saturating_sub(offset);
    let lo = 10_000u16.min(hi / 2);
    let mut rng = rand::rng();
    for _ in 0..1000 {
        let port = rand::Rng::random_range(&mut rng, lo..hi.max(lo + 1));
        let bus = port + offset;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !free(port) || !free(bus) {
            continue;
        }
        let mut g = given.lock().unwrap_or_else(|e| e.into_inner());
        if !g.contains(&port) && !g.contains(&bus) {
            g.insert(port);
            g.insert(bus);
            return port;
        }
    }
    panic!("no free pair of ports (offset {offset}) on 127.0.0.1");
}

/// A multi-threaded tokio runtime (4 workers) for tests that drive async
/// clients from a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Polls `cond` until it holds or `deadline` passes; returns whether it
/// held. Checks at least once, and once more at the deadline.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

/// [`wait_until`] for async conditions, without blocking the runtime.
pub async fn wait_until_async<F, Fut>(deadline: Instant, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if cond().await {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(10))).await;
    }
}

/// Which server a [`TestNode`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Redraft,
    /// A real `redis-server` in cluster mode owning every slot: the
    /// reference the tests' expectations are checked against.
    RedisReference,
}

impl Server {
    /// `REDRAFT_TEST_SERVER=redis-server` selects the reference.
    pub fn from_env() -> Server {
        match std::env::var("REDRAFT_TEST_SERVER").as_deref() {
            Ok("redis-server") | Ok("redis") => Server::RedisReference,
            _ => Server::Redraft,
        }
    }
}

/// How to start a node.
#[derive(Clone, Debug)]
pub struct NodeOpts {
    /// Extra arguments after `--port` and `--dir` (redraft only).
    pub args: Vec<String>,
    /// The binary; [`redraft_bin`] when `None`.
    pub bin: Option<PathBuf>,
    /// How long a start may take before it counts as failed.
    pub ready_timeout: Duration,
    pub server: Server,
    /// `--requirepass` (both servers).
    pub requirepass: Option<String>,
    /// A fixed client port; [`free_port`] picks one when `None`. A node
    /// with a fixed port is never moved to another port on a failed start.
    pub port: Option<u16>,
    /// The address the harness reaches the node on (PING, clients);
    /// 127.0.0.1 when `None`. Does not add `--bind`.
    pub host: Option<IpAddr>,
    /// A command the binary runs under, e.g. `ip netns exec NS`.
    pub wrapper: Vec<String>,
}

impl Default for NodeOpts {
    fn default() -> Self {
        NodeOpts {
            args: Vec::new(),
            bin: None,
            ready_timeout: Duration::from_secs(60),
            server: Server::from_env(),
            requirepass: None,
            port: None,
            host: None,
            wrapper: Vec::new(),
        }
    }
}

impl NodeOpts {
    pub fn new() -> NodeOpts {
        NodeOpts::default()
    }

    /// Appends one command-line argument.
    pub fn arg(mut self, a: impl Into<String>) -> NodeOpts {
        self.args.push(a.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> NodeOpts {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn bin(mut self, bin: impl Into<PathBuf>) -> NodeOpts {
        self.bin = Some(bin.into());
        self
    }

    pub fn ready_timeout(mut self, t: Duration) -> NodeOpts {
        self.ready_timeout = t;
        self
    }

    /// Makes clients authenticate with `pw` (`--requirepass`).
    pub fn requirepass(mut self, pw: impl Into<String>) -> NodeOpts {
        self.requirepass = Some(pw.into());
        self
    }

    /// Starts the node on this client port (see [`NodeOpts::port`]).
    pub fn port(mut self, port: u16) -> NodeOpts {
        self.port = Some(port);
        self
    }

    /// Reaches the node on this address instead of 127.0.0.1.
    pub fn host(mut self, host: IpAddr) -> NodeOpts {
        self.host = Some(host);
        self
    }

    /// Runs the binary as `wrapper… binary args…`.
    pub fn wrapper<I: IntoIterator<Item = S>, S: Into<String>>(mut self, w: I) -> NodeOpts {
        self.wrapper = w.into_iter().map(Into::into).collect();
        self
    }

    /// Runs redraft even in reference mode (for redraft-only behaviour:
    /// crashes, hidden flags).
    pub fn redraft_only(mut self) -> NodeOpts {
        self.server = Server::Redraft;
        self
    }
}

/// A running (or crashed) node process with its own folder and port.
pub struct TestNode {
    child: Option<Child>,
    port: u16,
    root: Option<tempfile::TempDir>,
    root_path: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    bin: PathBuf,
    opts: NodeOpts,
    starts: u32,
}

impl TestNode {
    /// Starts a node and waits until it answers PING; panics (with the
    /// log's tail) if it does not within `opts.ready_timeout`.
    pub fn start(opts: NodeOpts) -> TestNode {
        match TestNode::try_start(opts) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`TestNode::start`], returning the failure instead. A node that
    /// exits before it is ready (say, its port was taken meanwhile) is
    /// tried again on another port, three times at most.
    pub fn try_start(opts: NodeOpts) -> Result<TestNode, String> {
        let bin = match (&opts.bin, opts.server) {
            (Some(b), _) => b.clone(),
            (None, Server::Redraft) => redraft_bin(),
            (None, Server::RedisReference) => PathBuf::from("redis-server"),
        };
        let root = tempfile::Builder::new()
            .prefix("redraft-test-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let root_path = root.path().to_path_buf();
        let data_dir = root_path.join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("mkdir: {e}"))?;
        let fixed_port = opts.port;
        let mut node = TestNode {
            child: None,
            port: fixed_port.unwrap_or_else(free_port),
            log_path: root_path.join("node.log"),
            root: Some(root),
            root_path,
            data_dir,
            bin,
            opts,
            starts: 0,
        };
        let mut last_err = String::new();
        for attempt in 0..3 {
            if attempt > 0 && fixed_port.is_none() {
                node.port = free_port();
            }
            match node.spawn_and_wait() {
                Ok(()) => return Ok(node),
                Err(e) if node.child.is_none() => last_err = e, // exited early: retry
                Err(e) => return Err(e),
            }
        }
        Err(last_err)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address the node is reached on: 127.0.0.1 unless
    /// [`NodeOpts::host`] says otherwise.
    pub fn host(&self) -> IpAddr {
        self.opts.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// `127.0.0.1:<port>` (or the node's host).
    pub fn addr(&self) -> String {
        self.socket_addr().to_string()
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host(), self.port)
    }

    /// `redis://127.0.0.1:<port>/` (or the node's host).
    pub fn url(&self) -> String {
        format!("redis://{}/", self.socket_addr())
    }

    /// The node's `--dir`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the node printed, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn server(&self) -> Server {
        self.opts.server
    }

    /// The password clients must AUTH with, if any.
    pub fn requirepass(&self) -> Option<&str> {
        self.opts.requirepass.as_deref()
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Resident memory of the process in KiB (Linux), if it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS")
    }

    /// The peak resident memory of the process in KiB (Linux `VmHWM`), if
    /// it runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM")
    }

    /// A `kB` line of `/proc/<pid>/status`.
    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGKILLs the process and reaps it. No-op when it is not running.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM, waiting up to 10 s for it to exit
    /// before SIGKILLing it. Returns its exit status (`None` if it was not
    /// running or had to be killed).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        // SAFETY: plain kill(2) on the pid of our own, not yet reaped child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut status = None;
        wait_until(deadline, || match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                true
            }
            Ok(None) => false,
            Err(_) => true,
        });
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        status
    }

    /// Starts the node again on the same folder and port and waits until
    /// it answers PING. A node still running is SIGKILLed first. Panics
    /// with the log's tail if it does not come back in time.
    pub fn restart(&mut self) {
        if let Err(e) = self.try_restart() {
            panic!("{e}");
        }
    }

    /// [`TestNode::restart`], returning the failure. If the process exits
    /// before it is ready (the port not yet reusable, say) it is started
    /// again until the ready timeout.
    pub fn try_restart(&mut self) -> Result<(), String> {
        self.kill9();
        let deadline = Instant::now() + self.opts.ready_timeout;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(e) if self.child.is_none() && Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A `redis` client for this node.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("redis client")
    }

    /// A multiplexed async connection (5 s connect/response timeouts).
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        self.client()
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr()))
    }

    /// An async Redis Cluster connection seeded with this node.
    pub async fn cluster_conn(
        &self,
    ) -> redis::RedisResult<redis::cluster_async::ClusterConnection> {
        redis::cluster::ClusterClient::builder(vec![self.url()])
            .connection_timeout(Duration::from_secs(5))
            .response_timeout(Duration::from_secs(5))
            .retries(2)
            .build()?
            .get_async_connection()
            .await
    }

    /// A raw TCP connection for byte-level tests.
    pub fn raw(&self) -> raw::RawConn {
        raw::RawConn::connect(self.socket_addr())
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr()))
    }

    fn command_line(&self) -> Vec<OsString> {
        let port = self.port.to_string();
        let mut v = self.server_args(&port);
        if let Some(pw) = &self.opts.requirepass {
            v.push("--requirepass".into());
            v.push(pw.into());
        }
        v
    }

    fn server_args(&self, port: &str) -> Vec<OsString> {
        match self.opts.server {
            Server::Redraft => {
                let mut v: Vec<OsString> = vec![
                    "--port".into(),
                    port.into(),
                    "--dir".into(),
                    self.data_dir.clone().into(),
                ];
                v.extend(self.opts.args.iter().map(OsString::from));
                v
            }
            Server::RedisReference => [
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ]
            .iter()
            .map(OsString::from)
            .chain(["--dir".into(), self.data_dir.clone().into()])
            .collect(),
        }
    }

    /// Spawns the process and waits until it answers. On failure, `child`
    /// is `None` if the process exited by itself (worth retrying), else
    /// it is still running (and Drop will kill it).
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let args = self.command_line();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("open {}: {e}", self.log_path.display()))?;
        self.starts += 1;
        let _ = writeln!(
            log,
            "=== harness: start #{} of {} {:?} ===",
            self.starts,
            self.bin.display(),
            args
        );
        let err_log = log.try_clone().map_err(|e| format!("log: {e}"))?;
        let mut cmd = match self.opts.wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        cmd.args(&args)
            .current_dir(&self.root_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err_log));
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; nothing else runs here.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    Ok(())
                });
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + self.opts.ready_timeout;
        let addr = self.socket_addr();
        let mut exited = None;
        let ready = wait_until(deadline, || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                exited = Some(status);
                return true;
            }
            ping_addr(addr)
        });
        if let Some(status) = exited {
            self.child = None;
            return Err(format!(
                "{} exited before answering PING ({status}); log tail:\n{}",
                self.bin.display(),
                self.log_tail(30)
            ));
        }
        if !ready {
            return Err(format!(
                "{} did not answer PING on {} within {:?}; log tail:\n{}",
                self.bin.display(),
                self.addr(),
                self.opts.ready_timeout,
                self.log_tail(30)
            ));
        }
        if self.opts.server == Server::RedisReference {
            self.reference_cluster_setup(deadline)?;
        }
        Ok(())
    }

    /// Gives a fresh redis-server every slot and waits for `cluster_state:ok`.
    fn reference_cluster_setup(&mut self, deadline: Instant) -> Result<(), String> {
        let mut c = raw::RawConn::connect(self.socket_addr()).map_err(|e| e.to_string())?;
        if let Some(pw) = &self.opts.requirepass {
            c.cmd(&["AUTH", pw]).map_err(|e| e.to_string())?;
        }
        let info = c.cmd(&["CLUSTER", "INFO"]).map_err(|e| e.to_string())?;
        if raw::frame_text(&info).contains("cluster_slots_assigned:0") {
            c.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
                .map_err(|e| e.to_string())?;
        }
        let ok = wait_until(deadline, || {
            c.cmd(&["CLUSTER", "INFO"])
                .map(|f| raw::frame_text(&f).contains("cluster_state:ok"))
                .unwrap_or(false)
        });
        if ok {
            Ok(())
        } else {
            Err("redis-server cluster did not reach cluster_state:ok".into())
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
        let keep = std::env::var_os("REDRAFT_TEST_KEEP").is_some_and(|v| v != "0");
        if std::thread::panicking() {
            eprintln!(
                "--- node on port {} ({} starts), log tail ---\n{}\n--- end of node log ---",
                self.port,
                self.starts,
                self.log_tail(40)
            );
        }
        if let Some(root) = self.root.take() {
            if keep {
                let path = root.keep();
                eprintln!("kept node folder {}", path.display());
            }
        }
    }
}

/// Whether something on `port` answers PING (`+PONG`, or `-NOAUTH` when
/// the node wants a password).
pub fn ping(port: u16) -> bool {
    ping_addr(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// [`ping`] on any address.
pub fn ping_addr(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") && got.len() < 256 {
        match s.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => return false,
        }
    }
    got.starts_with(b"+PONG") || got.starts_with(b"-NOAUTH")
}

/// A numeric test setting from the environment, `default` when unset;
/// panics on a value that is not a number.
pub fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}
