//! Runtime parameters: what CONFIG GET reports and CONFIG SET changes.
//!
//! Each parameter is a row of [`PARAMS`] with its kind (how a value is
//! validated and normalized, with Redis's error texts) and whether CONFIG
//! SET may change it. Values start from the command-line [`Config`].
//!
//! Parameters that describe durability report what redraft does, not
//! Redis's defaults: every write is in the fsynced Raft log before it is
//! acknowledged, so `appendonly` is `yes` and `appendfsync` is `always`
//! and neither can be lowered; `save` is `""` (no RDB snapshots; a value
//! set is kept and reported but changes nothing). Parameters that tune
//! Redis internals redraft does not have (`hz`, `lfu-*`, `slowlog-*`,
//! `maxmemory*`, `timeout`, `tcp-keepalive`, `cluster-node-timeout`) are
//! kept and reported for the tools that read them (`redis-cli --hotkeys`
//! reads `maxmemory-policy`).

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::keyspace::glob::glob_match_with as glob_match;

/// How a value is checked and normalized.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// Bytes, with Redis's units (`1k` = 1000, `1kb` = 1024, … `gb`).
    Memory {
        min: u64,
        max: u64,
    },
    Enum(&'static [&'static str]),
    /// `save`: pairs of seconds and changes, or empty.
    Save,
    Str,
    /// `hz`: an integer clamped to 1..=500 as Redis does.
    Hz,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Mutable,
    /// Fixed for the life of the process (set on the command line).
    Immutable,
    /// Only this value is accepted: it is what redraft does.
    Fixed(&'static str),
}

struct Param {
    name: &'static str,
    kind: Kind,
    change: Change,
}

const fn p(name: &'static str, kind: Kind, change: Change) -> Param {
    Param { name, kind, change }
}

const INT_MAX: i64 = i32::MAX as i64;
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every parameter, in the order CONFIG GET lists matches.
static PARAMS: &[Param] = &[
    p("port", Kind::Int { min: 0, max: 65535 }, Change::Immutable),
    p("bind", Kind::Str, Change::Immutable),
    p("dir", Kind::Str, Change::Immutable),
    p(
        "databases",
        Kind::Int {
            min: 1,
            max: INT_MAX,
        },
        Change::Immutable,
    ),
    p("cluster-enabled", Kind::Bool, Change::Immutable),
    p(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        Change::Immutable,
    ),
    p("save", Kind::Save, Change::Mutable),
    p("appendonly", Kind::Bool, Change::Fixed("yes")),
    p(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        Change::Fixed("always"),
    ),
    p("requirepass", Kind::Str, Change::Mutable),
    p(
        "maxclients",
        Kind::Int {
            min: 1,
            max: u32::MAX as i64,
        },
        Change::Mutable,
    ),
    p(
        "maxmemory",
        Kind::Memory {
            min: 0,
            max: u64::MAX,
        },
        Change::Mutable,
    ),
    p("maxmemory-policy", Kind::Enum(POLICIES), Change::Mutable),
    p(
        "proto-max-bulk-len",
        Kind::Memory {
            min: 1024 * 1024,
            max: i64::MAX as u64,
        },
        Change::Mutable,
    ),
    p(
        "timeout",
        Kind::Int {
            min: 0,
            max: INT_MAX,
        },
        Change::Mutable,
    ),
    p(
        "tcp-keepalive",
        Kind::Int {
            min: 0,
            max: INT_MAX,
        },
        Change::Mutable,
    ),
    p(
        "cluster-node-timeout",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        Change::Mutable,
    ),
    p(
        "lfu-log-factor",
        Kind::Int {
            min: 0,
            max: INT_MAX,
        },
        Change::Mutable,
    ),
    p(
        "lfu-decay-time",
        Kind::Int {
            min: 0,
            max: INT_MAX,
        },
        Change::Mutable,
    ),
    p("hz", Kind::Hz, Change::Mutable),
    p(
        "slowlog-log-slower-than",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        Change::Mutable,
    ),
    p(
        "slowlog-max-len",
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        Change::Mutable,
    ),
];

fn index_of(name: &[u8]) -> Option<usize> {
    PARAMS
        .iter()
        .position(|p| p.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The node's runtime parameters, and the server state CONFIG RESETSTAT,
/// SAVE and INFO persistence share.
pub struct Settings {
    values: RwLock<Vec<String>>,
    /// Unix seconds of the last SAVE/BGSAVE (or of the start).
    pub last_save: AtomicU64,
    /// SAVE/BGSAVE runs since the start.
    pub saves: AtomicU64,
    /// The counters at the previous INFO stats, for the instantaneous
    /// rates, and the rates computed then.
    rate_sample: Mutex<Option<(Instant, [u64; 3], Rates)>>,
}

/// Instantaneous rates INFO stats reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    pub ops_per_sec: u64,
    pub input_kbps: f64,
    pub output_kbps: f64,
}

impl Settings {
    pub fn new(config: &Config) -> Settings {
        let dir = std::path::absolute(&config.dir).unwrap_or_else(|_| config.dir.clone());
        let values = PARAMS
            .iter()
            .map(|p| match p.name {
                "port" => config.port.to_string(),
                "bind" => config.bind.to_string(),
                "dir" => dir.display().to_string(),
                "databases" => "1".into(),
                "cluster-enabled" => "yes".into(),
                "enable-debug-command" => config.enable_debug_command.as_str().into(),
                "save" => String::new(),
                "appendonly" => "yes".into(),
                "appendfsync" => "always".into(),
                "requirepass" => config.requirepass.clone().unwrap_or_default(),
                "maxclients" => config.maxclients.to_string(),
                "maxmemory" => "0".into(),
                "maxmemory-policy" => "noeviction".into(),
                "proto-max-bulk-len" => config.proto_max_bulk_len.to_string(),
                "timeout" => "0".into(),
                "tcp-keepalive" => "300".into(),
                "cluster-node-timeout" => "15000".into(),
                "lfu-log-factor" => "10".into(),
                "lfu-decay-time" => "1".into(),
                "hz" => "10".into(),
                "slowlog-log-slower-than" => "10000".into(),
                "slowlog-max-len" => "128".into(),
                other => unreachable!("no default for parameter {other}"),
            })
            .collect();
        Settings {
            values: RwLock::new(values),
            last_save: AtomicU64::new(crate::clock::now_ms() / 1000),
            saves: AtomicU64::new(0),
            rate_sample: Mutex::new(None),
        }
    }

    /// Rates since the previous call, from the running totals of commands
    /// and of bytes in and out. Tools poll INFO once a second
    /// (`redis-cli --stat`), so the rate between two polls is what they
    /// want; calls less than 100 ms apart get the previous rates.
    pub fn sample_rates(&self, commands: u64, bytes_in: u64, bytes_out: u64) -> Rates {
        let now = Instant::now();
        let totals = [commands, bytes_in, bytes_out];
        let mut sample = self.rate_sample.lock();
        let rates = match *sample {
            None => Rates::default(),
            Some((at, prev, rates)) => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs < 0.1 {
                    return rates;
                }
                let per_sec = |i: usize| totals[i].saturating_sub(prev[i]) as f64 / secs;
                Rates {
                    ops_per_sec: per_sec(0).round() as u64,
                    input_kbps: per_sec(1) / 1024.0,
                    output_kbps: per_sec(2) / 1024.0,
                }
            }
        };
        *sample = Some((now, totals, rates));
        rates
    }

    /// The value of `name` (case-insensitive), if it is a parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        index_of(name.as_bytes()).map(|i| self.values.read()[i].clone())
    }

    fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The password clients must AUTH with, if any.
    pub fn requirepass(&self) -> Option<String> {
        self.get("requirepass").filter(|p| !p.is_empty())
    }

    pub fn maxclients(&self) -> usize {
        self.int("maxclients") as usize
    }

    pub fn maxmemory(&self) -> u64 {
        self.get("maxmemory")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn maxmemory_policy(&self) -> String {
        self.get("maxmemory-policy").unwrap_or_default()
    }

    pub fn proto_max_bulk_len(&self) -> u64 {
        self.int("proto-max-bulk-len") as u64
    }

    pub fn hz(&self) -> i64 {
        self.int("hz")
    }

    /// CONFIG GET: the parameters matching any of `patterns` (globs,
    /// case-insensitive), each once, as `(name, value)`. A pattern without
    /// glob characters is looked up by name and answered with the name as
    /// given, as Redis does.
    pub fn matching(&self, patterns: &[Bytes]) -> Vec<(String, String)> {
        let values = self.values.read();
        let mut seen = vec![false; PARAMS.len()];
        let mut out = Vec::new();
        for pat in patterns {
            if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                if let Some(i) = index_of(pat) {
                    if !seen[i] {
                        seen[i] = true;
                        out.push((String::from_utf8_lossy(pat).into_owned(), values[i].clone()));
                    }
                }
                continue;
            }
            for (i, param) in PARAMS.iter().enumerate() {
                if !seen[i] && glob_match(pat, param.name.as_bytes(), true) {
                    seen[i] = true;
                    out.push((param.name.to_string(), values[i].clone()));
                }
            }
        }
        out
    }

    /// CONFIG SET: sets every pair or none. The error is the whole reply
    /// text.
    pub fn set(&self, pairs: &[(Bytes, Bytes)]) -> Result<(), String> {
        let lossy = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
        let failed = |arg: &Bytes, why: &str| {
            format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
                lossy(arg)
            )
        };
        // First every name, as Redis checks them before any value.
        let mut indexes: Vec<usize> = Vec::with_capacity(pairs.len());
        let mut error = None;
        for (name, _) in pairs {
            let Some(i) = index_of(name) else {
                // An unknown name wins unless an earlier pair already failed.
                return Err(error.unwrap_or_else(|| {
                    format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                        lossy(name)
                    )
                }));
            };
            if error.is_none() {
                if PARAMS[i].change == Change::Immutable {
                    error = Some(failed(name, "can't set immutable config"));
                } else if indexes.contains(&i) {
                    error = Some(failed(name, "duplicate parameter"));
                }
            }
            indexes.push(i);
        }
        if let Some(e) = error {
            return Err(e);
        }
        let mut new_values = Vec::with_capacity(pairs.len());
        for (&i, (name, value)) in indexes.iter().zip(pairs) {
            let param = &PARAMS[i];
            let v = normalize(param.kind, value).map_err(|why| failed(name, &why))?;
            if let Change::Fixed(only) = param.change {
                if v != only {
                    return Err(failed(
                        name,
                        &format!(
                            "redraft makes every write durable in its Raft log before \
                             acknowledging it, so {} is always '{only}'",
                            param.name
                        ),
                    ));
                }
            }
            new_values.push((i, v));
        }
        let mut values = self.values.write();
        for (i, v) in new_values {
            values[i] = v;
        }
        Ok(())
    }
}

/// Checks `value` against `kind` and returns it as CONFIG GET will show
/// it, or the reason it was refused (Redis's texts).
fn normalize(kind: Kind, value: &[u8]) -> Result<String, String> {
    let text =
        std::str::from_utf8(value).map_err(|_| "argument must be a valid string".to_string())?;
    match kind {
        Kind::Str => Ok(text.to_string()),
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_string()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let n: i64 = crate::cmd::args::parse_i64(value)
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Hz => {
            let n: i64 = crate::cmd::args::parse_i64(value)
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if !(0..=INT_MAX).contains(&n) {
                return Err(format!(
                    "argument must be between 0 and {INT_MAX} inclusive"
                ));
            }
            Ok(n.clamp(1, 500).to_string())
        }
        Kind::Memory { min, max } => {
            let n =
                parse_memory(text).ok_or_else(|| "argument must be a memory value".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Enum(choices) => {
            let lower = text.to_ascii_lowercase();
            if choices.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    choices.join(", ")
                ))
            }
        }
        Kind::Save => {
            let parts: Vec<&str> = text.split_ascii_whitespace().collect();
            let valid = parts.len().is_multiple_of(2)
                && parts
                    .iter()
                    .all(|p| crate::cmd::args::parse_i64(p.as_bytes()).is_some_and(|n| n >= 0));
            if valid {
                Ok(parts.join(" "))
            } else {
                Err("Invalid save parameters".into())
            }
        }
    }
}

/// A byte count with Redis's units (`memtoull`): `b`, `k` (1000), `kb`
/// (1024), `m`, `mb`, `g`, `gb`, case-insensitive.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if num.is_empty() {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings() -> Settings {
        Settings::new(&Config::parse_from(["redraft", "--port", "7000"]))
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn get(s: &Settings, pats: &[&str]) -> Vec<(String, String)> {
        s.matching(&pats.iter().map(|p| b(p)).collect::<Vec<_>>())
    }

    fn set(s: &Settings, pairs: &[(&str, &str)]) -> Result<(), String> {
        s.set(&pairs.iter().map(|(k, v)| (b(k), b(v))).collect::<Vec<_>>())
    }

    #[test]
    fn get_by_name_and_glob() {
        let s = settings();
        assert_eq!(
            get(&s, &["save", "appendonly"]),
            vec![
                ("save".into(), "".into()),
                ("appendonly".into(), "yes".into())
            ]
        );
        assert_eq!(get(&s, &["PORT"]), vec![("PORT".into(), "7000".into())]);
        assert_eq!(get(&s, &["port", "Port", "[p]ort"]).len(), 1);
        let names: Vec<String> = get(&s, &["maxmemory*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["maxmemory", "maxmemory-policy"]);
        assert!(get(&s, &["nosuch"]).is_empty());
        assert_eq!(get(&s, &["SLOWLOG-*"]).len(), 2);
    }

    #[test]
    fn set_validates_like_redis() {
        let s = settings();
        assert_eq!(
            set(&s, &[("nosuch", "1")]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        assert_eq!(
            set(&s, &[("maxmemory", "abc")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            set(&s, &[("hz", "5"), ("HZ", "6")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        assert_eq!(
            set(&s, &[("port", "1")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        assert_eq!(
            set(&s, &[("timeout", "-1")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"
        );
        assert!(set(&s, &[("appendonly", "no")]).is_err());
        assert!(set(&s, &[("appendonly", "YES")]).is_ok());
        // All or nothing.
        assert!(set(&s, &[("maxmemory", "1gb"), ("maxmemory-policy", "bad")]).is_err());
        assert_eq!(s.maxmemory(), 0);
        set(
            &s,
            &[("maxmemory", "1gb"), ("maxmemory-policy", "ALLKEYS-LFU")],
        )
        .unwrap();
        assert_eq!(s.maxmemory(), 1 << 30);
        assert_eq!(s.maxmemory_policy(), "allkeys-lfu");
        set(&s, &[("hz", "1000")]).unwrap();
        assert_eq!(s.hz(), 500);
        set(&s, &[("save", " 100  1 200 2 ")]).unwrap();
        assert_eq!(s.get("save").unwrap(), "100 1 200 2");
        assert!(set(&s, &[("save", "100")]).is_err());
        set(&s, &[("requirepass", "pw")]).unwrap();
        assert_eq!(s.requirepass().as_deref(), Some("pw"));
        set(&s, &[("requirepass", "")]).unwrap();
        assert_eq!(s.requirepass(), None);
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("10mb"), Some(10 << 20));
        assert_eq!(parse_memory("2g"), Some(2_000_000_000));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("1tb"), None);
    }
}
