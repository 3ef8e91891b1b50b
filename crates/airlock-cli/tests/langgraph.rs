//! The LangGraph example (`examples/langgraph`) against a real `airlock serve`:
//! LangGraph and langchain-core from PyPI, pinned in its requirements.txt, in a
//! virtual environment this test makes once under the target directory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/langgraph")
}

/// A Python with the example's requirements: made (python3 -m venv, pip install)
/// the first time, reused after.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("langgraph-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import langgraph, langchain_core"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the LangGraph example");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let out = Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(example_dir().join("requirements.txt"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    python
}

#[test]
fn the_langgraph_example_pauses_on_holds_and_airlock_decides() {
    let python = python();
    let backend = Backend::sqlite("langgraph");
    let root = unique("al_root_");
    let s = backend.start("default", &root, None);
    let key = new_key(&s, "/v1/agents", json!({"name": "langgraph-agent"}));
    let approver = new_approver(&s, "alice");
    std::fs::create_dir_all(&backend.dir).unwrap();
    let out = Command::new(&python)
        .arg("test_example.py")
        .current_dir(example_dir())
        .env("AIRLOCK_SERVER", format!("http://{}", s.addr))
        .env("AIRLOCK_AGENT_KEY", &key)
        .env("AIRLOCK_APPROVER_TOKEN", &approver)
        .env("CLUSTER_LOG", backend.dir.join("cluster.log"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
}
