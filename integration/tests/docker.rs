//! The Docker image and the compose cluster: `scripts/docker-build.sh`
//! builds the image from the top-level `Dockerfile` (from scratch: no base
//! image, no registry), `compose.yaml` starts three nodes on a Docker
//! network of its own, and Redis's own tools, run from the host against the
//! nodes' addresses on that network, find a working cluster:
//! `redis-cli --cluster check` reports every slot covered and the nodes
//! agreeing (against each node), CLUSTER NODES announces the nodes'
//! network addresses (`--announce-ip`) with bus port 17001, MOVED points
//! at them, and `redis-cli -c` writes through one node and reads back
//! through another.
//!
//! Everything the test creates is named after a unique compose project and
//! image tag, and a guard removes it (`compose down -v`, then the image,
//! then anything still labelled with the project) also when the test
//! fails; the test then checks that nothing is left.
//!
//! The image holds the binary the other tests run (`REDRAFT_BIN`, or the
//! release build; see the harness docs), so the test builds nothing with
//! cargo. The network's subnet is `REDRAFT_NET.0/24` (see `compose.yaml`),
//! with a random third octet, retried when Docker finds it taken.
//!
//! Needs a reachable Docker daemon, Docker Compose (`docker compose` or
//! `docker-compose`) and `redis-cli`; without one of them the test says so
//! on stderr and passes without checking anything. The nodes' addresses
//! must be reachable from the host, as they are on Linux.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redraft_integration::cluster::{key_in, key_slot};
use redraft_integration::{redraft_bin, workspace_root};

/// What a command printed and how it ended.
struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(&self) -> bool {
        self.status.success()
    }

    fn text(&self) -> String {
        format!(
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd args…` with `env` added, killing it if it runs past `limit`.
/// Err when it cannot be started or runs too long.
fn run(cmd: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Result<Out, String> {
    let mut child = Command::new(cmd)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    // Read both pipes on threads so that a full pipe cannot stall it.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out_t = drain(Box::new(child.stdout.take().expect("stdout")));
    let err_t = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => break None,
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{cmd} {args:?} did not finish within {limit:?}"));
    };
    Ok(Out {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// `run`, panicking unless the command succeeds.
fn run_ok(cmd: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Out {
    let out = run(cmd, args, env, limit).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.ok(), "{cmd} {args:?} failed: {}", out.text());
    out
}

/// The Docker Compose command here: `docker compose` (v2) or
/// `docker-compose` (v1); Err with the reason to skip when Docker, Compose
/// or redis-cli is missing.
fn tools() -> Result<Vec<&'static str>, String> {
    let works = |cmd: &str, args: &[&str]| {
        run(cmd, args, &[], Duration::from_secs(30)).is_ok_and(|o| o.ok())
    };
    if !works("redis-cli", &["--version"]) {
        return Err("redis-cli is not installed (apt-get install redis-tools)".into());
    }
    if !works("docker", &["info"]) {
        return Err("no Docker daemon is reachable (`docker info` fails)".into());
    }
    if works("docker", &["compose", "version"]) {
        Ok(vec!["docker", "compose"])
    } else if works("docker-compose", &["version"]) {
        Ok(vec!["docker-compose"])
    } else {
        Err("Docker Compose is not installed (`docker compose` or `docker-compose`)".into())
    }
}

/// A compose project and image of this test, removed on drop.
struct Project {
    compose: Vec<&'static str>,
    name: String,
    image: String,
    /// The first three octets of the network's /24.
    net: String,
}

impl Project {
    /// Runs `compose -p NAME -f compose.yaml args…` with the image and
    /// network in its environment.
    fn compose(&self, args: &[&str], limit: Duration) -> Result<Out, String> {
        let mut all = self.compose[1..].to_vec();
        all.extend(["-p", &self.name, "-f", "compose.yaml"]);
        all.extend(args);
        let env = [
            ("REDRAFT_IMAGE", self.image.as_str()),
            ("REDRAFT_NET", self.net.as_str()),
        ];
        run(self.compose[0], &all, &env, limit)
    }

    fn ip(&self, node: usize) -> String {
        format!("{}.{}", self.net, 10 + node)
    }

    fn addr(&self, node: usize) -> String {
        format!("{}:7001", self.ip(node))
    }

    /// IDs of what Docker still holds of this project: `kind` is
    /// `container`, `network` or `volume`.
    fn leftovers(&self, kind: &str) -> Vec<String> {
        let label = format!("label=com.docker.compose.project={}", self.name);
        let args: Vec<&str> = match kind {
            "container" => vec!["ps", "-aq", "--filter", &label],
            _ => vec![kind, "ls", "-q", "--filter", &label],
        };
        match run("docker", &args, &[], Duration::from_secs(30)) {
            Ok(o) if o.ok() => o.stdout.split_whitespace().map(str::to_string).collect(),
            _ => vec![format!("(docker {kind} ls failed)")],
        }
    }

    fn image_exists(&self) -> bool {
        run(
            "docker",
            &["image", "inspect", &self.image],
            &[],
            Duration::from_secs(30),
        )
        .is_ok_and(|o| o.ok())
    }

    /// Removes the project (containers, network, volumes) and the image;
    /// whatever `compose down` leaves is removed by label.
    fn remove(&self) {
        let _ = self.compose(
            &["down", "-v", "--remove-orphans", "--timeout", "5"],
            Duration::from_secs(90),
        );
        let limit = Duration::from_secs(60);
        for (kind, rm) in [
            ("container", ["rm", "-f"]),
            ("network", ["network", "rm"]),
            ("volume", ["volume", "rm"]),
        ] {
            let ids = self.leftovers(kind);
            if !ids.is_empty() && !ids[0].starts_with('(') {
                let mut args: Vec<&str> = rm.to_vec();
                args.extend(ids.iter().map(String::as_str));
                let _ = run("docker", &args, &[], limit);
            }
        }
        let _ = run("docker", &["rmi", "-f", &self.image], &[], limit);
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(o) = self.compose(
                &["logs", "--no-color", "--tail", "40"],
                Duration::from_secs(30),
            ) {
                eprintln!(
                    "--- compose logs of {} ---\n{}{}",
                    self.name, o.stdout, o.stderr
                );
            }
        }
        self.remove();
    }
}

/// Polls `redis-cli --cluster check addr` until it reports every slot
/// covered and the nodes agreeing, or the deadline passes; returns the
/// last output.
fn wait_cluster_ok(addr: &str, deadline: Instant) -> (bool, String) {
    let mut last = String::new();
    for _ in 0..1000 {
        match run(
            "redis-cli",
            &["--cluster", "check", addr],
            &[],
            Duration::from_secs(15),
        ) {
            Ok(o) => {
                let ok = o.stdout.contains("[OK] All 16384 slots covered")
                    && o.stdout
                        .contains("[OK] All nodes agree about slots configuration");
                last = o.text();
                if ok {
                    return (true, last);
                }
            }
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    (false, last)
}

/// `redis-cli args…` (one command), its output trimmed.
fn cli(args: &[&str]) -> String {
    let out = run_ok("redis-cli", args, &[], Duration::from_secs(15));
    out.stdout.trim().to_string()
}

/// [`cli`], asked again for up to 10 s while the answer is CLUSTERDOWN or
/// TRYAGAIN (a shard between leaders: an election, or a leader handing
/// over to its preferred node, which redis-cli does not retry).
fn cli_settled(args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = cli(args);
        let transient = out.starts_with("CLUSTERDOWN") || out.starts_with("TRYAGAIN");
        if !transient || Instant::now() >= deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn image_builds_and_compose_cluster_serves_every_slot() {
    let compose = match tools() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED image_builds_and_compose_cluster_serves_every_slot: {why}");
            return;
        }
    };
    let started = Instant::now();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let unique = format!("{}-{nanos}", std::process::id());
    let mut project = Project {
        compose,
        name: format!("redraft-test-{unique}"),
        image: format!("redraft-test:{unique}"),
        net: String::new(),
    };

    // The image, from the binary the other tests run.
    let bin = std::fs::canonicalize(redraft_bin()).expect("the redraft binary");
    let bin = bin.to_str().expect("binary path is UTF-8");
    let script = workspace_root().join("scripts/docker-build.sh");
    run_ok(
        script.to_str().expect("script path is UTF-8"),
        &[&project.image],
        &[("REDRAFT_BIN", bin)],
        Duration::from_secs(120),
    );
    assert!(
        project.image_exists(),
        "image {} was not built",
        project.image
    );

    // The cluster, on a /24 that no other Docker network holds.
    let mut up = None;
    for _ in 0..5 {
        project.net = format!("172.29.{}", rand::random_range(100..=250u16));
        let o = project
            .compose(&["up", "-d", "--no-build"], Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e}"));
        if o.ok() {
            up = Some(o);
            break;
        }
        let taken = o.stderr.contains("overlap");
        assert!(taken, "compose up failed: {}", o.text());
        project.remove();
    }
    assert!(up.is_some(), "no free subnet 172.29.X.0/24 in 5 tries");

    // Every node finds every slot served and the nodes agreeing.
    let deadline = Instant::now() + Duration::from_secs(60);
    for node in 1..=3 {
        let (ok, out) = wait_cluster_ok(&project.addr(node), deadline);
        assert!(
            ok,
            "redis-cli --cluster check {} never passed: {out}",
            project.addr(node)
        );
    }

    // The nodes announce their network addresses, with bus port 17001.
    let nodes = cli(&["-h", &project.ip(1), "-p", "7001", "CLUSTER", "NODES"]);
    for node in 1..=3 {
        let want = format!(" {}@17001 ", project.addr(node));
        assert!(
            nodes.contains(&want),
            "CLUSTER NODES lacks {want:?}:\n{nodes}"
        );
    }
    assert!(
        !nodes.contains("127.0.0.1"),
        "CLUSTER NODES announces loopback:\n{nodes}"
    );

    // A key in each third of the slots: written through node 1 and read
    // back through node 3, following MOVED; a plain GET at node 1 is
    // answered there or MOVED to one of the nodes' addresses.
    let addrs: Vec<String> = (1..=3).map(|n| project.addr(n)).collect();
    for third in 0..3u16 {
        let key = key_in("docker:", |s| s / 5462 == third).expect("a key in each third");
        let value = format!("value-{unique}-{third}");
        let (ip1, ip3) = (project.ip(1), project.ip(3));
        let set = cli_settled(&["-c", "-h", &ip1, "-p", "7001", "SET", &key, &value]);
        assert_eq!(set, "OK", "SET {key} through node 1");
        let got = cli_settled(&["-c", "-h", &ip3, "-p", "7001", "GET", &key]);
        assert_eq!(got, value, "GET {key} through node 3");
        let plain = cli_settled(&["-h", &ip1, "-p", "7001", "GET", &key]);
        if plain != value {
            let want = format!("MOVED {} ", key_slot(key.as_bytes()));
            let to = plain.strip_prefix(&want).unwrap_or_default();
            assert!(
                addrs.iter().any(|a| a == to),
                "GET {key} at node 1: {plain:?}"
            );
        }
    }

    // Everything created is removed.
    project.remove();
    for kind in ["container", "network", "volume"] {
        let left = project.leftovers(kind);
        assert!(
            left.is_empty(),
            "{kind}s of {} left: {left:?}",
            project.name
        );
    }
    assert!(!project.image_exists(), "image {} left", project.image);
    eprintln!("docker test took {:?}", started.elapsed());
}
