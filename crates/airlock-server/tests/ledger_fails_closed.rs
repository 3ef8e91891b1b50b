//! When the ledger cannot write (an fsync fails), airlock fails closed: the
//! ledger stops for good, every decision from then on is denied, reads included,
//! human acts are refused, and `/healthz` says why. Driven over real HTTP against
//! the service's router, with the ledger on an in-memory file system that injects
//! the fault.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::sync::Arc;

use airlock_ledger::LedgerOptions;
use airlock_ledger::fs::{Fault, MemFs};
use airlock_policy::Policy;
use airlock_server::{AppState, Recorder, hash_token};
use airlock_store::{Credential, Principal, Store};
use airlock_tlog::SignerKey;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code: u16 = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        code,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    )
}

fn bash(cmd: &str) -> String {
    serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": cmd}})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_stops_the_ledger_and_everything_is_denied() {
    let dir = std::env::temp_dir().join(format!("airlock-ledger-fault-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open_sqlite(&dir).await.unwrap();
    for (name, principal, roles) in [
        ("kiro", Principal::Agent, vec![]),
        ("root", Principal::Human, vec!["admin".to_owned()]),
    ] {
        store
            .put_credential(&Credential {
                tenant: "default".into(),
                name: name.into(),
                principal,
                roles,
                token_hash: hash_token(&format!("al_{name}")),
                created_ms: 0,
                revoked: false,
            })
            .await
            .unwrap();
    }
    let fs = MemFs::new();
    let mut options = LedgerOptions::new(
        "airlock/test",
        SignerKey::from_seed("airlock/test", &[9; 32]).unwrap(),
    );
    options.fs = Arc::new(fs.clone());
    let ledger = Recorder::with_options(std::path::Path::new("/ledger"), options, "gw").unwrap();
    let policy = Policy::builtin_default().unwrap();
    let state = Arc::new(AppState::new(store, ledger, policy, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(axum::serve(listener, airlock_server::app(state)).into_future());

    let (code, ok) = http(&addr, "POST", "/v1/actions", "al_kiro", &bash("ls")).await;
    assert_eq!(
        (code, &ok["status"]),
        (200, &Value::from("allowed")),
        "{ok}"
    );
    assert!(ok["ledger"]["index"].is_u64(), "{ok}");
    let (code, _) = http(&addr, "GET", "/healthz", "", "").await;
    assert_eq!(code, 200);

    // The next fsync fails: the ledger stops, and the read waiting on it is denied.
    fs.set_fault(Fault::FailSyncOnce);
    let (code, v) = http(&addr, "POST", "/v1/actions", "al_kiro", &bash("ls")).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["allowed"], false, "{v}");
    assert_eq!(v["decision"]["decision"], "deny", "{v}");
    assert_eq!(
        v["decision"]["rules"][0], "airlock:ledger-unavailable",
        "{v}"
    );

    // For good: the fault is gone, yet nothing goes through, reads included.
    for cmd in [
        "ls",
        "cat README.md",
        "kubectl delete deployment api -n prod",
    ] {
        let (_, v) = http(&addr, "POST", "/v1/actions", "al_kiro", &bash(cmd)).await;
        assert_eq!(v["allowed"], false, "{cmd}: {v}");
        assert_eq!(
            v["decision"]["rules"][0], "airlock:ledger-unavailable",
            "{v}"
        );
        assert!(
            v["decision"]["reason"].as_str().unwrap().contains("ledger"),
            "{v}"
        );
    }
    let (code, v) = http(
        &addr,
        "POST",
        "/v1/halt",
        "al_root",
        r#"{"scope":"tenant","reason":"r"}"#,
    )
    .await;
    assert_eq!(
        code, 503,
        "a human act that cannot be recorded is refused: {v}"
    );
    let (code, v) = http(&addr, "GET", "/healthz", "", "").await;
    assert_eq!(code, 503, "{v}");
    assert!(v["error"].as_str().unwrap().contains("ledger"), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
