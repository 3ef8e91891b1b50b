//! The service's tamper-evident ledger, driven through the real binary: every
//! decision and every human act becomes an entry before it is answered, the
//! directory verifies offline with only the public key, and a receipt from the API
//! verifies with only that key too. On SQLite and (when `AIRLOCK_TEST_POSTGRES_URL`
//! is set) on PostgreSQL, where each replica keeps its own ledger.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use airlock_audit::{Entry, Event};
use airlock_tlog::{LogTrust, Receipt, VerifierKey, verify_receipt};
use common::*;
use serde_json::{Value, json};

fn post(s: &Server, path: &str, token: &str, body: &str) -> (u16, Value) {
    http(&s.addr, "POST", path, Some(token), body)
}

fn trust(backend: &Backend) -> (LogTrust, String) {
    let vkey = std::fs::read_to_string(backend.dir.join("ledger.vkey")).unwrap();
    let key = VerifierKey::parse(vkey.trim()).unwrap();
    (
        LogTrust::new(key.name(), vec![key.clone()]),
        vkey.trim().to_owned(),
    )
}

fn every_decision_and_human_act_is_in_the_ledger(backend: Backend) {
    let tenant = unique("t");
    let root = unique("al_root_");
    let policy = backend.policy(&|p| p);
    let s = backend.start(&tenant, &root, Some(&policy));
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&s, "alice");

    let mut answered = Vec::new();
    let (_, read) = post(&s, "/v1/actions", &agent, &bash("ls -la"));
    assert_eq!(read["status"], "allowed", "{read}");
    answered.push(read.clone());
    let (_, denied) = post(
        &s,
        "/v1/actions",
        &agent,
        &bash("kubectl delete namespace prod"),
    );
    answered.push(denied.clone());
    let held_call = bash("kubectl delete deployment api -n prod");
    let (_, held) = post(&s, "/v1/actions", &agent, &held_call);
    assert_eq!(held["status"], "pending", "{held}");
    answered.push(held.clone());
    let id = held["id"].as_str().unwrap();
    let (code, v) = post(
        &s,
        &format!("/v1/approvals/{id}/approve"),
        &alice,
        r#"{"comment":"go"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let (code, used) = post(
        &s,
        &format!("/v1/actions?approval={id}"),
        &agent,
        &held_call,
    );
    assert_eq!((code, &used["status"]), (200, &json!("consumed")), "{used}");
    answered.push(used.clone());
    let (code, v) = post(
        &s,
        &format!("/v1/actions/{id}/outcome"),
        &agent,
        r#"{"outcome":"executed","detail":"deployment deleted"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let (code, v) = post(
        &s,
        "/v1/halt",
        &root,
        r#"{"scope":"agent","name":"kiro","reason":"drill"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let (code, v) = post(
        &s,
        "/v1/resume",
        &root,
        r#"{"scope":"agent","name":"kiro"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let (code, v) = http(&s.addr, "DELETE", "/v1/agents/kiro", Some(&root), "");
    assert_eq!(code, 200, "{v}");

    // Every answer names its entry, each a distinct index.
    let mut indexes: Vec<u64> = answered
        .iter()
        .map(|a| {
            a["ledger"]["index"]
                .as_u64()
                .unwrap_or_else(|| panic!("no ledger index: {a}"))
        })
        .collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), answered.len());

    // A receipt from the API verifies offline with only the public key.
    let (trust, _) = trust(&backend);
    let index = held["ledger"]["index"].as_u64().unwrap();
    let (code, r) = http(
        &s.addr,
        "GET",
        &format!("/v1/ledger/receipt?index={index}"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 200, "{r}");
    let receipt = Receipt::from_json(&r["receipt"].to_string()).unwrap();
    let verified = verify_receipt(&receipt, &trust).unwrap();
    assert!(verified.checkpoint.checkpoint.size() > index);
    let entry = Entry::parse(&receipt.entry).unwrap();
    match &entry.event {
        Event::Decision(d) => {
            assert_eq!((d.id.as_str(), d.status.as_str()), (id, "pending"));
            assert_eq!(entry.tenant, tenant);
        }
        other => panic!("entry {index} is not the held decision: {other:?}"),
    }
    // The agent whose call it is may have it too; nobody may have another tenant's.
    let (code, _) = http(
        &s.addr,
        "GET",
        &format!("/v1/ledger/receipt?index={index}"),
        Some(&root),
        "",
    );
    assert_eq!(code, 200);
    let (code, _) = http(
        &s.addr,
        "GET",
        "/v1/ledger/receipt?index=999999",
        Some(&root),
        "",
    );
    assert_eq!(code, 404);
    drop(s);

    // Offline: the whole directory verifies with the public key alone, and holds
    // exactly what happened, in order.
    let dir = backend.dir.join("ledger");
    let report = airlock_ledger::verify(&dir, &trust);
    assert!(report.is_ok(), "{report:?}");
    let entries: Vec<Entry> = ledger_entries(&dir)
        .into_iter()
        .map(|b| Entry::parse(&b).unwrap())
        .filter(|e| e.tenant == tenant)
        .collect();
    let kinds: Vec<&str> = entries.iter().map(Entry::kind).collect();
    assert_eq!(
        kinds,
        [
            "credential", // kiro's key
            "credential", // alice's token
            "decision",   // ls
            "decision",   // namespace deletion
            "decision",   // held deletion
            "vote",
            "decision", // the approved call, used
            "outcome",
            "halt",
            "resume",
            "credential", // kiro revoked
        ],
        "{entries:#?}"
    );
    let Event::Decision(d) = &entries[3].event else {
        unreachable!()
    };
    assert_eq!(d.decision, airlock_model::Tier::Deny);
    assert_eq!(
        d.rules,
        denied["decision"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    let Event::Vote {
        approver,
        comment,
        status,
        ..
    } = &entries[5].event
    else {
        unreachable!()
    };
    assert_eq!(
        (approver.as_str(), comment.as_str(), status.as_str()),
        ("alice", "go", "approved")
    );
    let Event::Decision(d) = &entries[6].event else {
        unreachable!()
    };
    assert_eq!(d.approval.as_deref(), Some(id));
    // The auditor's commands agree, with only the public key.
    let vkey = format!("@{}", backend.dir.join("ledger.vkey").display());
    let audit = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
            .arg("audit")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir_arg = dir.to_str().unwrap();
    let (code, out, err) = audit(&["verify", dir_arg, "--key", &vkey]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = audit(&["log", dir_arg, "--tenant", &tenant, "--decision", "deny"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let denials: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(denials.len(), 1, "{out}");
    assert_eq!(denials[0]["id"], denied["id"], "{out}");
    let (code, out, err) = audit(&[
        "export", dir_arg, "--format", "ocsf", "--tenant", &tenant, "--kind", "vote",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let vote: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (vote["class_uid"].as_u64(), &vote["actor"]["user"]["name"]),
        (Some(6003), &json!("alice")),
        "{vote}"
    );

    // A token never reaches the ledger.
    let raw: Vec<u8> = ledger_entries(&dir).concat();
    let raw = String::from_utf8_lossy(&raw);
    assert!(!raw.contains(&agent) && !raw.contains(&alice) && !raw.contains(&root));
}
on_both_backends!(
    every_decision_and_human_act_is_in_the_ledger,
    every_decision_and_human_act_is_in_the_ledger
);

/// A restart reopens the same ledger and goes on from where it was; the key made
/// on first start is kept.
#[test]
fn a_restart_continues_the_same_ledger() {
    let backend = Backend::sqlite("ledger-restart");
    let root = unique("al_root_");
    let s = backend.start("default", &root, None);
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (_, first) = post(&s, "/v1/actions", &agent, &bash("ls"));
    // Killed before any checkpoint was signed: the entries are durable all the same.
    drop(s);
    let (_, vkey) = trust(&backend);
    let s = backend.start("default", &root, None);
    let (_, second) = post(&s, "/v1/actions", &agent, &bash("ls"));
    let second = second["ledger"]["index"].as_u64().unwrap();
    assert!(second > first["ledger"]["index"].as_u64().unwrap());
    // A checkpoint covering both is signed within the second.
    let t = std::time::Instant::now();
    loop {
        let (_, c) = http(&s.addr, "GET", "/v1/ledger/checkpoint", Some(&root), "");
        if c["size"].as_u64().is_some_and(|n| n > second) {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "no checkpoint: {c}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(s);
    assert_eq!(trust(&backend).1, vkey);
    let report = airlock_ledger::verify(backend.dir.join("ledger"), &trust(&backend).0);
    assert!(report.is_ok(), "{report:?}");
}

/// With a witness configured, the service's checkpoints carry the witness's
/// cosignature (checked with only the witness's public key), and `/metrics` says
/// the quorum is met; with the witness gone, the next checkpoint is still signed
/// by the log and reported short of its quorum.
#[test]
fn the_services_checkpoints_are_cosigned_by_a_real_witness() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let backend = Backend::sqlite("ledger-witness");
    std::fs::create_dir_all(&backend.dir).unwrap();
    let log_key = airlock_tlog::SignerKey::from_seed("airlock/witnessed", &[5; 32]).unwrap();
    let log_key_file = backend.dir.join("log.key");
    std::fs::write(&log_key_file, log_key.to_secret_string()).unwrap();
    let witness_key_file = backend.dir.join("witness.key");
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["witness", "keygen", "witness.test/w1", "--key-file"])
        .arg(&witness_key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let witness_vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut witness = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["witness", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(backend.dir.join("witness-state"))
        .arg("--key-file")
        .arg(&witness_key_file)
        .args(["--log", &log_key.verifier().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(witness.stderr.take().unwrap()).lines();
    let witness_addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split(" on http://")
                .nth(1)
                .map(|r| r.split('/').next().unwrap().to_owned())
        })
        .expect("the witness printed its address");
    std::thread::spawn(move || for _ in lines {});

    let root = unique("al_root_");
    let mut cmd = serve_cmd(&backend.dir);
    cmd.arg("--ledger-key")
        .arg(&log_key_file)
        .args([
            "--witness",
            &format!("http://{witness_addr}={witness_vkey}"),
        ])
        .args(["--witness-quorum", "1"])
        .env("AIRLOCK_ADMIN_TOKEN", &root);
    let mut s = launch(cmd);
    s.admin = Some(root.clone());
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let metric = |s: &Server, name: &str| -> Option<u64> {
        let mut stream = std::net::TcpStream::connect(&s.addr).unwrap();
        use std::io::{Read, Write};
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {root}\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("{name} "))
                .and_then(|v| v.parse().ok())
        })
    };
    let wait_signed = |s: &Server, above: u64| -> Value {
        let t = std::time::Instant::now();
        loop {
            let (_, c) = http(&s.addr, "GET", "/v1/ledger/checkpoint", Some(&root), "");
            if c["size"].as_u64().is_some_and(|n| n > above) {
                return c;
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(10),
                "no checkpoint: {c}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };

    let (_, a) = post(&s, "/v1/actions", &agent, &bash("ls"));
    let c = wait_signed(&s, a["ledger"]["index"].as_u64().unwrap());
    let note = airlock_tlog::Note::parse(c["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    let cosigned = airlock_tlog::verify_cosignatures(
        &note,
        &[airlock_tlog::WitnessKey::parse(&witness_vkey).unwrap()],
    )
    .unwrap();
    assert_eq!(cosigned.len(), 1, "{c}");
    assert_eq!(metric(&s, "airlock_ledger_witness_quorum_met"), Some(1));

    // The witness goes away: checkpoints go on, reported short of the quorum.
    let _ = witness.kill();
    let _ = witness.wait();
    let (_, b) = post(&s, "/v1/actions", &agent, &bash("ls"));
    wait_signed(&s, b["ledger"]["index"].as_u64().unwrap());
    assert_eq!(metric(&s, "airlock_ledger_witness_quorum_met"), Some(0));
    assert_eq!(metric(&s, "airlock_ledger_stopped"), Some(0));
    let (_, still) = post(&s, "/v1/actions", &agent, &bash("ls"));
    assert_eq!(
        still["status"], "allowed",
        "a missing cosignature never stops decisions: {still}"
    );
}

/// Stopped with SIGTERM, the service signs a last checkpoint: the ledger it leaves
/// vouches for every entry.
#[test]
fn a_clean_stop_signs_every_entry() {
    let backend = Backend::sqlite("ledger-sigterm");
    let root = unique("al_root_");
    let mut s = backend.start("default", &root, None);
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let mut last = 0;
    for cmd in ["ls", "cat README.md", "kubectl delete namespace prod"] {
        let (_, v) = post(&s, "/v1/actions", &agent, &bash(cmd));
        last = v["ledger"]["index"].as_u64().unwrap();
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = s.child.wait().unwrap();
    assert!(exit.success(), "a clean stop: {exit:?}");
    let dir = backend.dir.join("ledger");
    let signed = airlock_ledger::read_checkpoint(&dir)
        .unwrap()
        .expect("a checkpoint");
    assert_eq!(signed.checkpoint.size(), last + 1);
    assert_eq!(ledger_entries(&dir).len() as u64, last + 1);
    let report = airlock_ledger::verify(&dir, &trust(&backend).0);
    assert!(report.is_ok(), "{report:?}");
}

/// Retention through the service: a cutoff inside the window (184 days by
/// default) is refused with 409 and changes nothing; one before every entry
/// prunes nothing and is recorded; bad input is a 400. (Pruning old entries is
/// covered by airlock-ledger's and airlock-audit's tests: a fresh service has
/// none older than six months.)
#[test]
fn a_prune_inside_the_retention_window_is_refused_and_changes_nothing() {
    let backend = Backend::sqlite("ledger-prune");
    let root = unique("al_root_");
    let s = backend.start("default", &root, None);
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    post(&s, "/v1/actions", &agent, &bash("ls"));
    let dir = backend.dir.join("ledger");
    let before = ledger_entries(&dir);

    let inside = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 100);
    for cutoff in [inside.to_string(), "2999-01-01T00:00:00Z".to_owned()] {
        let (status, body) = post(
            &s,
            "/v1/ledger/prune",
            &root,
            &json!({ "before": cutoff }).to_string(),
        );
        assert_eq!(status, 409, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("retention window of 184 days"), "{error}");
        assert!(error.contains("nothing was pruned"), "{error}");
    }
    assert_eq!(
        ledger_entries(&dir),
        before,
        "a refused prune changed the ledger"
    );
    assert!(!dir.join("pruned").exists());

    let (status, body) = post(&s, "/v1/ledger/prune", &root, r#"{"before":"yesterday"}"#);
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(
        &s,
        "/v1/ledger/prune",
        &agent,
        r#"{"before":"2000-01-01T00:00:00Z"}"#,
    );
    assert_eq!(status, 403, "{body}");

    // Before every entry: nothing to prune, and the request is in the ledger.
    let (status, body) = post(
        &s,
        "/v1/ledger/prune",
        &root,
        r#"{"before":"2000-01-01T00:00:00Z"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pruned_below"], 0);
    let entries = ledger_entries(&dir);
    assert_eq!(entries.len(), before.len() + 1);
    let last = Entry::parse(entries.last().unwrap()).unwrap();
    assert!(
        matches!(
            &last.event,
            Event::Prune {
                below: 0,
                before_ms: 946_684_800_000,
                ..
            }
        ),
        "{last:?}"
    );
    drop(s);
    let report = airlock_ledger::verify(&dir, &trust(&backend).0);
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_retention_window_shorter_than_six_months_is_refused_at_start() {
    let dir = data_dir("ledger-retention-30");
    let out = serve_cmd(&dir)
        .args(["--ledger-retention", "30"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ledger-retention"), "{stderr}");
    assert!(stderr.contains("six months"), "{stderr}");
}

/// On PostgreSQL each replica keeps its own ledger, and the shared database keeps
/// each ledger's last signed checkpoint (compare-and-swap by origin): replicas
/// left to their defaults get ids of their own, and a second replica made to
/// write the same ledger (the same `--gateway-id` and key, on another directory)
/// is refused at start instead of forking it.
#[test]
fn on_postgres_two_replicas_cannot_write_one_ledger() {
    let Some(url) = std::env::var("AIRLOCK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    let root = unique("al_root_");
    let tenant = unique("t");
    // Defaults: two ids, two ledgers, both signing.
    let a = data_dir(&unique("replica-a"));
    let b = data_dir(&unique("replica-b"));
    let s1 = start_replica_in(&a, &url, &tenant, &root, None);
    let s2 = start_replica_in(&b, &url, &tenant, &root, None);
    let id_a = std::fs::read_to_string(a.join("gateway-id")).unwrap();
    let id_b = std::fs::read_to_string(b.join("gateway-id")).unwrap();
    assert!(id_a.starts_with("gw-") && id_a != id_b, "{id_a} {id_b}");
    let agent = new_key(&s1, "/v1/agents", json!({"name": "kiro"}));
    for s in [&s1, &s2] {
        let (code, v) = post(s, "/v1/actions", &agent, &bash("ls"));
        assert_eq!(code, 200, "{v}");
    }
    drop(s2);
    // A stop signs a last checkpoint, recorded in the shared database.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &s1.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut s1 = s1;
    assert!(s1.child.wait().unwrap().success());

    // Replica c, made to write a's ledger: a's id and key, a fresh directory.
    let c = data_dir(&unique("replica-c"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["serve", "--listen", "127.0.0.1:0", "--postgres", &url])
        .args(["--admin-tenant", &tenant, "--gateway-id", id_a.trim()])
        .arg("--ledger-key")
        .arg(a.join("ledger.key"))
        .arg("--data-dir")
        .arg(&c)
        .env("AIRLOCK_ADMIN_TOKEN", &root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("airlock_ledger_checkpoints")
            && err.contains("another writer of the same log"),
        "{err}"
    );
    // Replica a itself goes on from its own ledger.
    let s1 = start_replica_in(&a, &url, &tenant, &root, None);
    let (code, v) = post(&s1, "/v1/actions", &agent, &bash("ls"));
    assert_eq!(code, 200, "{v}");
}
