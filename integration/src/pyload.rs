//! The redis-py cluster load (`integration/python/cluster_load.py`):
//! redis-py's `RedisCluster` writing and reading back keys in its own
//! process, for tests that change the cluster under load.

use std::time::{Duration, Instant};

use crate::wait_until;

/// The redis-py load (`integration/python/cluster_load.py`) in its own
/// process; killed if the test ends early.
pub struct PyLoad {
    child: std::process::Child,
    stop_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl PyLoad {
    pub fn start(seed: &str) -> PyLoad {
        let dir = tempfile::tempdir().expect("temp dir");
        let stop_file = dir.path().join("stop");
        let script = crate::workspace_root().join("integration/python/cluster_load.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .args(["--seed", seed, "--seconds", "300", "--stop-file"])
            .arg(&stop_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start python3 cluster_load.py (scripts/test.sh installs redis-py)");
        PyLoad {
            child,
            stop_file,
            _dir: dir,
        }
    }

    /// Stops the load and returns its report (one JSON line).
    pub fn stop(mut self) -> String {
        std::fs::write(&self.stop_file, b"stop").expect("write the stop file");
        let deadline = Instant::now() + Duration::from_secs(120);
        let done = wait_until(deadline, || matches!(self.child.try_wait(), Ok(Some(_))));
        assert!(done, "the redis-py load did not finish within 120 s");
        let mut out = String::new();
        let mut err = String::new();
        use std::io::Read;
        if let Some(mut o) = self.child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let report = out.lines().last().unwrap_or_default().to_string();
        assert!(
            report.starts_with('{'),
            "no report from the redis-py load: {out}{err}"
        );
        report
    }
}

impl Drop for PyLoad {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
