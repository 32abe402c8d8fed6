//! The runner of the golden scripts in `cluster/tests/golden/`.
//!
//! A script is a list of blocks separated by blank lines. Each block is
//! one command, a `----` line, and the output the command must print.
//! Lines starting with `#` are comments. Commands run in order (a script
//! may carry state from one block to the next). Run with `UPDATE_GOLDEN=1`
//! to rewrite the expected outputs from the code (then read the diff).

use std::path::PathBuf;

/// Runs `cluster/tests/golden/<name>` through `run` (one command in, its
/// output out) and fails on the first differences, or rewrites the script
/// under `UPDATE_GOLDEN`.
pub fn run_golden(name: &str, mut run: impl FnMut(&str) -> String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read the script");
    let mut rewritten = String::new();
    let mut failures = Vec::new();
    for block in text.split("\n\n") {
        let block = block.trim_matches('\n');
        if block.is_empty() {
            continue;
        }
        let (head, expected) = match block.split_once("\n----\n") {
            Some((h, e)) => (h, format!("{}\n", e.trim_end())),
            None => (
                block.trim_end_matches("\n----").trim_end_matches("----"),
                String::new(),
            ),
        };
        let mut command = None;
        for line in head.lines() {
            rewritten.push_str(line);
            rewritten.push('\n');
            if !line.starts_with('#') && !line.trim().is_empty() {
                command = Some(line.trim().to_string());
            }
        }
        let Some(command) = command else {
            rewritten.push('\n');
            continue;
        };
        let got = run(&command);
        rewritten.push_str("----\n");
        rewritten.push_str(&got);
        rewritten.push('\n');
        if got != expected {
            failures.push(format!("{command}\n--- expected\n{expected}--- got\n{got}"));
        }
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, rewritten.trim_end().to_string() + "\n").expect("write the script");
        return;
    }
    assert!(
        failures.is_empty(),
        "{} block(s) differ (UPDATE_GOLDEN=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
