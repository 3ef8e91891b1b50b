//! Personal data kept apart from the ledger (`serve --ledger-personal-data
//! separate`), driven through the real binary: the entries hold salted
//! commitments, `audit log` shows the values, `audit erase` erases a subject's,
//! and the tree, its checkpoints and receipts verify before and after; a value
//! altered in the side store is reported as tampered and never shown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::process::{Command, Output};

use airlock_audit::{Entry, Event};
use common::*;
use serde_json::{Value, json};

fn airlock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .output()
        .expect("run airlock")
}

fn out(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn post(s: &Server, path: &str, token: &str, body: &str) -> (u16, Value) {
    http(&s.addr, "POST", path, Some(token), body)
}

/// The index of the first entry of `kind` in the ledger.
fn index_of(ledger: &Path, kind: &str) -> u64 {
    ledger_entries(ledger)
        .iter()
        .position(|b| Entry::parse(b).unwrap().kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} entry")) as u64
}

fn verify(ledger: &Path, vkey: &str) -> Output {
    airlock(&["audit", "verify", ledger.to_str().unwrap(), "--key", vkey])
}

#[test]
fn personal_data_kept_apart_is_shown_erased_and_checked_while_the_tree_stays_valid() {
    let dir = data_dir("personal-separate");
    let root = unique("pd_root_");
    let mut cmd = serve_cmd(&dir);
    cmd.args([
        "--admin-tenant",
        "default",
        "--ledger-personal-data",
        "separate",
    ])
    .env("AIRLOCK_ADMIN_TOKEN", &root);
    let mut s = launch(cmd);
    s.admin = Some(root.clone());
    let ledger = dir.join("ledger");
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&s, "alice");
    let carol = new_approver(&s, "carol");

    // A held call, approved by alice with a comment naming bob.
    let call = bash("kubectl delete deployment api -n prod");
    let (_, held) = post(&s, "/v1/actions", &agent, &call);
    assert_eq!(held["status"], "pending", "{held}");
    let id = held["id"].as_str().unwrap();
    let comment = "Bob from payments asked for it";
    let (code, v) = post(
        &s,
        &format!("/v1/approvals/{id}/approve"),
        &alice,
        &json!({ "comment": comment }).to_string(),
    );
    assert_eq!(code, 200, "{v}");
    // carol halts and resumes the agent: her entries must survive alice's erasure.
    let (code, v) = post(
        &s,
        "/v1/halt",
        &root,
        r#"{"scope":"agent","name":"kiro","reason":"drill run by carol"}"#,
    );
    assert_eq!(code, 200, "{v}");
    let _ = carol;

    // A receipt for the vote, taken before the erasure.
    let vote = index_of(&ledger, "vote");
    let (code, r) = http(
        &s.addr,
        "GET",
        &format!("/v1/ledger/receipt?index={vote}"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 200, "{r}");
    let receipt_file = dir.join("vote-receipt.json");
    std::fs::write(&receipt_file, r["receipt"].to_string()).unwrap();

    // Through the service, an erasure is recorded (without the subject), and
    // asking again changes nothing and records nothing.
    let decided = index_of(&ledger, "decision");
    let body = json!({ "indices": [decided] }).to_string();
    let (code, first) = post(&s, "/v1/ledger/erase", &root, &body);
    assert_eq!(code, 200, "{first}");
    assert!(first["erased_fields"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(first["entries"], json!([decided]));
    let erasure = first["ledger"]["index"].as_u64().expect("recorded");
    let (code, again) = post(&s, "/v1/ledger/erase", &root, &body);
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["erased_fields"], 0, "{again}");
    assert!(again.get("ledger").is_none(), "{again}");
    for bad in [
        r#"{}"#,
        r#"{"subject":" "}"#,
        r#"{"indices":[]}"#,
        r#"{"subject":"a","indices":[1]}"#,
    ] {
        let (code, v) = post(&s, "/v1/ledger/erase", &root, bad);
        assert_eq!(code, 400, "{bad}: {v}");
    }
    let (code, v) = post(&s, "/v1/ledger/erase", &alice, &body);
    assert_eq!(code, 403, "{v}");

    // Stop cleanly: a last checkpoint covers every entry.
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(s.child.wait().unwrap().success());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ledger.join("personal-data.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the side store is its owner's only: {mode:o}"
        );
    }

    // The tree's bytes hold no personal value: only commitments.
    let raw = std::fs::read(ledger.join("entries")).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for secret in ["alice", "Bob from payments", "drill run by carol"] {
        assert!(!raw.contains(secret), "`{secret}` is in the tree's bytes");
    }
    let vote_entry = Entry::parse(&ledger_entries(&ledger)[vote as usize]).unwrap();
    assert_eq!(vote_entry.v, 2);
    let Event::Vote { approver, .. } = &vote_entry.event else {
        panic!("not a vote")
    };
    assert!(approver.starts_with("pd:sha256:"), "{approver}");

    let vkey = std::fs::read_to_string(dir.join("ledger.vkey"))
        .unwrap()
        .trim()
        .to_owned();
    let l = ledger.to_str().unwrap();
    let v = verify(&ledger, &vkey);
    assert_eq!(v.status.code(), Some(0), "{}", out(&v));

    // audit log shows the values, checked against their commitments.
    let o = airlock(&["audit", "log", l, "--kind", "vote"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let shown = lines(&o);
    assert_eq!(shown.len(), 1, "{}", out(&o));
    assert_eq!(shown[0]["approver"], "alice");
    assert_eq!(shown[0]["comment"], comment);
    assert_eq!(
        shown[0]["personal"],
        json!({"approver": "shown", "comment": "shown"})
    );
    let o = airlock(&["audit", "log", l, "--by", "alice"]);
    assert_eq!(lines(&o).len(), 1, "{}", out(&o));
    // The decision erased through the service, and the erasure's own entry.
    let o = airlock(&["audit", "log", l, "--kind", "decision", "--limit", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(lines(&o)[0]["index"], decided);
    assert_eq!(lines(&o)[0]["personal"]["reason"], "erased");
    let o = airlock(&["audit", "log", l, "--kind", "erasure"]);
    let e = &lines(&o)[0];
    assert_eq!(e["index"], erasure);
    assert_eq!(
        (&e["how"], &e["indices"], &e["fields"]),
        (&json!("index"), &json!([decided]), &first["erased_fields"])
    );
    assert_eq!(e["personal"], json!({"by": "shown"}));

    // Erase alice: her vote (with its comment naming bob) and her credential.
    let o = airlock(&["audit", "erase", l, "--subject", "alice"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("erased:"), "{text}");
    assert!(text.contains(&vote.to_string()), "{text}");
    assert!(
        !text.contains("alice"),
        "the report repeats the name: {text}"
    );

    // The tree and the receipt are untouched.
    let v = verify(&ledger, &vkey);
    assert_eq!(v.status.code(), Some(0), "{}", out(&v));
    let text = out(&v);
    assert!(text.contains("personal:   "), "{text}");
    assert!(text.contains(" erased"), "{text}");
    let o = airlock(&[
        "audit",
        "verify-receipt",
        receipt_file.to_str().unwrap(),
        "--key",
        &vkey,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // audit log shows the erased fields as erased, and alice nowhere.
    let o = airlock(&["audit", "log", l]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let all = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!all.contains("alice"), "{all}");
    assert!(!all.contains("Bob from payments"), "{all}");
    assert!(all.contains("drill run by carol"), "{all}");
    let vote_line = lines(&o).into_iter().find(|e| e["kind"] == "vote").unwrap();
    assert_eq!(
        vote_line["personal"],
        json!({"approver": "erased", "comment": "erased"})
    );
    assert!(
        vote_line["approver"]
            .as_str()
            .unwrap()
            .starts_with("pd:sha256:")
    );
    let o = airlock(&["audit", "log", l, "--by", "alice"]);
    assert!(lines(&o).is_empty(), "{}", out(&o));
    // OCSF says so too.
    let o = airlock(&["audit", "export", l, "--format", "ocsf", "--kind", "vote"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        lines(&o)[0]["metadata"]["labels"],
        json!(["airlock:personal-data-erased"])
    );

    // Erasing again changes nothing, by subject or by index.
    let o = airlock(&["audit", "erase", l, "--subject", "alice"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("erased:     nothing"), "{}", out(&o));
    let o = airlock(&["audit", "erase", l, "--index", &vote.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("nothing left"), "{}", out(&o));
    let v = verify(&ledger, &vkey);
    assert_eq!(v.status.code(), Some(0), "{}", out(&v));

    // A value altered in the side store is reported as tampered, never shown.
    let db = rusqlite::Connection::open(ledger.join("personal-data.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE personal SET value = 'forged by mallory' WHERE value = 'drill run by carol'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let o = airlock(&["audit", "log", l, "--kind", "halt"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    assert!(!text.contains("forged by mallory"), "{text}");
    assert!(text.contains("does not match"), "{text}");
    let halt = &lines(&o)[0];
    assert_eq!(halt["personal"]["reason"], "tampered");
    assert!(halt["reason"].as_str().unwrap().starts_with("pd:sha256:"));
    // verify checks the side store too: the tree is intact (no bad index), the
    // altered value is a problem.
    let v = verify(&ledger, &vkey);
    assert_eq!(v.status.code(), Some(1), "{}", out(&v));
    let text = out(&v);
    assert!(
        text.contains("personal-data store's value of reason does not match"),
        "{text}"
    );
    assert!(!text.contains("first bad index"), "{text}");
    assert!(text.contains("1 tampered"), "{text}");

    // A copy handed out without the side store: values withheld, tree valid.
    std::fs::remove_file(ledger.join("personal-data.db")).unwrap();
    let _ = std::fs::remove_file(ledger.join("personal-data.db-wal"));
    let _ = std::fs::remove_file(ledger.join("personal-data.db-shm"));
    let o = airlock(&["audit", "log", l, "--kind", "halt"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(lines(&o)[0]["personal"]["reason"], "withheld");
    let v = verify(&ledger, &vkey);
    assert_eq!(v.status.code(), Some(0), "{}", out(&v));
}

/// The default mode keeps today's format (entry version 1), and `audit erase`
/// refuses nothing it could do, but says what it cannot: inline personal data is
/// part of the tree.
#[test]
fn inline_personal_data_is_listed_as_not_erasable_and_the_tree_is_untouched() {
    let dir = data_dir("personal-inline");
    let root = unique("pd_root_");
    let mut cmd = serve_cmd(&dir);
    cmd.args(["--admin-tenant", "default"])
        .env("AIRLOCK_ADMIN_TOKEN", &root);
    let mut s = launch(cmd);
    s.admin = Some(root.clone());
    let ledger = dir.join("ledger");
    let (code, v) = post(
        &s,
        "/v1/halt",
        &root,
        r#"{"scope":"agent","name":"kiro","reason":"dave asked"}"#,
    );
    assert_eq!(code, 200, "{v}");
    // The service refuses an erasure it cannot do without breaking the tree.
    let (code, v) = post(&s, "/v1/ledger/erase", &root, r#"{"subject":"dave"}"#);
    assert_eq!(code, 409, "{v}");
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(s.child.wait().unwrap().success());
    let entries = ledger_entries(&ledger);
    assert!(
        entries.iter().all(|b| b.starts_with(br#"{"v":1,"#)),
        "the default mode writes format 1"
    );
    assert!(!ledger.join("personal-data.db").exists());
    let before = std::fs::read(ledger.join("entries")).unwrap();
    let l = ledger.to_str().unwrap();
    let o = airlock(&["audit", "erase", l, "--subject", "dave"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let halt = index_of(&ledger, "halt");
    assert!(
        out(&o).contains(&format!("NOT ERASED: entries {halt} ")),
        "{}",
        out(&o)
    );
    assert_eq!(std::fs::read(ledger.join("entries")).unwrap(), before);
    let o = airlock(&["audit", "erase", l]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let o = airlock(&["audit", "erase", l, "--subject", " "]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}
