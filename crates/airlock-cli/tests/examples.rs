//! Every policy and policy test under examples/ passes, run through the real binary
//! exactly as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Files under examples/ (one level of directories) whose name ends with `suffix`.
fn files(suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(examples()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.to_string_lossy().ends_with(suffix) {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_example_policy_checks_clean() {
    let policies = files("policy.yaml");
    assert!(!policies.is_empty(), "no example policies found");
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("policy")
        .arg("check")
        .args(&policies)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_example_policy_test_passes() {
    let tests = files(".test.yaml");
    assert!(
        tests.len() >= 4,
        "expected the kiro, tiers, agent-constraints and seeds tests, found {tests:?}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("test")
        .args(&tests)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let passed: usize = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 50, "suspiciously few example cases: {last}");
    assert!(last.ends_with("0 failed"), "{last}");
}

#[test]
fn the_kiro_replay_through_the_default_policy_lets_no_destructive_step_through() {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["decide"])
        .arg(examples().join("kiro/actions.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(decisions.len() >= 8);
    for d in &decisions {
        let effect = d["effect"].as_str().unwrap();
        let tier = d["decision"].as_str().unwrap();
        if matches!(effect, "delete" | "permissions" | "unknown") {
            assert!(matches!(tier, "approve" | "deny"), "{d}");
        }
    }
    assert!(
        decisions.iter().any(|d| d["decision"] == "deny"),
        "the stack deletion must be denied"
    );
}
