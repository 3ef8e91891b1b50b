//! `airlock audit`, driven the way an auditor drives it, against real ledger
//! directories built with `airlock_ledger::Ledger`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use airlock_audit::{DecisionEntry, Entry, Event, Recorded, sha256_hex};
use airlock_ledger::{Ledger, LedgerOptions};
use airlock_model::{Action, Tier};
use airlock_tlog::{Receipt, SignerKey};
use serde_json::Value;

const ORIGIN: &str = "audit.example.com/ledger";

/// 2021-01-01T08:00:00Z: safely in the past, whatever the machine's clock says.
const T0: i64 = 1_609_488_000_000;
const HOUR: i64 = 3_600_000;

fn airlock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .output()
        .expect("run airlock")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

/// An empty scratch directory unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("airlock-audit-test-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn signer(seed: u8) -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

fn vkey(seed: u8) -> String {
    signer(seed).verifier().to_string()
}

fn options() -> LedgerOptions {
    let mut o = LedgerOptions::new(ORIGIN, signer(1));
    // Sign only when the test says so.
    o.sign_interval = None;
    o.sign_after = None;
    o
}

fn decision(
    time_ms: i64,
    agent: &str,
    tier: Tier,
    rule: &str,
    status: &str,
    approval: Option<&str>,
) -> Entry {
    let action: Action = serde_json::from_value(serde_json::json!({
        "who": {"agent": agent},
        "what": {"tool": "aws", "operation": "cloudformation:DeleteStack", "effect": "delete"},
        "targets": [{"kind": "aws:cloudformation:stack", "name": "prod"}],
    }))
    .unwrap();
    Entry::new(
        time_ms,
        "gw-1",
        "default",
        Event::Decision(Box::new(DecisionEntry {
            id: format!("act_{time_ms}"),
            agent: agent.into(),
            operator: None,
            call_digest: sha256_hex(b"{}"),
            action: Recorded::Action(Box::new(action)),
            policy: "sha256:ab".into(),
            decision: tier,
            rules: vec![rule.into()],
            reason: format!("{rule} decided"),
            status: status.into(),
            approval: approval.map(str::to_owned),
        })),
    )
}

/// The entries every ledger here starts with, index by index.
fn history() -> Vec<Entry> {
    vec![
        /* 0 */ decision(T0, "kiro", Tier::Allow, "reads-are-fine", "allowed", None),
        /* 1 */ decision(T0 + HOUR, "kiro", Tier::Deny, "no-teardown", "denied", None),
        /* 2 */
        decision(
            T0 + 2 * HOUR,
            "bob",
            Tier::Approve,
            "prod-needs-approval",
            "pending",
            None,
        ),
        /* 3 */
        Entry::new(
            T0 + 3 * HOUR,
            "gw-1",
            "default",
            Event::Vote {
                id: "act_2".into(),
                approver: "alice".into(),
                groups: vec!["oncall".into()],
                approve: true,
                comment: "ok".into(),
                status: "approved".into(),
            },
        ),
        /* 4 */
        decision(
            T0 + 3 * HOUR + 60_000,
            "bob",
            Tier::Approve,
            "prod-needs-approval",
            "allowed",
            Some("act_2"),
        ),
        /* 5 */
        Entry::new(
            T0 + 4 * HOUR,
            "gw-1",
            "default",
            Event::Halt {
                scope: "agent".into(),
                name: "kiro".into(),
                reason: "runaway".into(),
                by: "alice".into(),
                rejected: 0,
            },
        ),
        /* 6 */
        decision(
            T0 + 5 * HOUR,
            "bob",
            Tier::Deny,
            "no-secrets",
            "denied",
            None,
        ),
    ]
}

/// A recent entry (an hour ago), for the relative time filters.
fn recent() -> Entry {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Entry::new(
        now - HOUR,
        "gw-1",
        "default",
        Event::Expiry { id: "act_9".into() },
    )
}

fn bytes(e: &Entry) -> Vec<u8> {
    e.to_bytes().unwrap()
}

/// A ledger in `dir` holding `entries`, signed.
fn build(dir: &Path, entries: &[Entry]) -> Ledger {
    let ledger = Ledger::open(dir, options()).unwrap();
    for e in entries {
        ledger.append(bytes(e)).wait().unwrap();
    }
    ledger.sign_checkpoint().wait().unwrap();
    ledger
}

/// The standard ledger: the history and one recent entry, signed, closed.
fn standard(name: &str) -> PathBuf {
    let dir = scratch(name).join("ledger");
    let mut entries = history();
    entries.push(recent());
    drop(build(&dir, &entries));
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The JSON lines of a run's stdout.
fn lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn indices(o: &Output) -> Vec<u64> {
    lines(o)
        .iter()
        .map(|v| v["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn verify_passes_with_the_public_key_and_reports_the_count() {
    let dir = standard("verify-ok");
    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("checkpoint: 8 entries, root "), "{text}");
    assert!(text.contains("entries:    8 checked in "), "{text}");
    assert!(text.contains("entries/s"), "{text}");
    assert!(
        text.contains("kinds:      decision 5, expiry 1, halt 1, vote 1"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("OK"), "{text}");

    // The same key from a file, with the origin pinned.
    let key_file = dir.parent().unwrap().join("log.vkey");
    std::fs::write(&key_file, format!("# the log's key\n{}\n", vkey(1))).unwrap();
    let at = format!("@{}", s(&key_file));
    let out = airlock(&["audit", "verify", s(&dir), "--key", &at, "--origin", ORIGIN]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_flipped_bit_in_entries_fails_naming_the_first_bad_index() {
    let dir = standard("verify-flip");
    let entries: Vec<Vec<u8>> = history().iter().map(bytes).collect();
    // Records are `len (4) ‖ entry ‖ check (8)`: the 11th byte of entry 4.
    let offset: usize = entries[..4].iter().map(|e| e.len() + 12).sum::<usize>() + 4 + 10;
    let path = dir.join("entries");
    let mut data = std::fs::read(&path).unwrap();
    data[offset] ^= 0x01;
    std::fs::write(&path, data).unwrap();

    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("first bad index: 4\n"), "{text}");
    assert!(text.contains("BAD entry 4: "), "{text}");
    assert!(!text.contains("\nOK"), "{text}");
}

#[test]
fn a_wrong_key_fails_verification() {
    let dir = standard("verify-wrong-key");
    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(2)]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("checkpoint: none verified"), "{text}");
    assert!(text.contains("does not verify"), "{text}");
    assert!(!text.contains("not yet signed"), "{text}");
}

#[test]
fn an_entry_that_is_not_an_airlock_entry_is_a_problem_unless_raw() {
    let dir = scratch("verify-raw").join("ledger");
    let ledger = Ledger::open(&dir, options()).unwrap();
    ledger.append(bytes(&history()[0])).wait().unwrap();
    ledger.append(b"not json".to_vec()).wait().unwrap();
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);

    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("BAD entry 1: not an airlock ledger entry"),
        "{text}"
    );
    assert!(text.contains("first bad index: 1\n"), "{text}");

    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1), "--raw"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    // `log` shows the good entry and says which one is not an entry.
    let out = airlock(&["audit", "log", s(&dir)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(indices(&out), [0]);
    assert!(
        stderr(&out).contains("entry 1 is not an airlock ledger entry"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn log_decision_deny_prints_exactly_the_denied_entries() {
    let dir = standard("log-deny");
    let out = airlock(&["audit", "log", s(&dir), "--decision", "deny"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(indices(&out), [1, 6]);
    for v in &got {
        assert_eq!(v["kind"], "decision");
        assert_eq!(v["decision"], "deny");
        assert!(v.get("signed").is_none(), "{v}");
    }
    assert_eq!(got[1]["rules"][0], "no-secrets");
    // Each line is `{"index":N,` and the entry exactly as stored.
    let stored = String::from_utf8(bytes(&history()[1])).unwrap();
    let first = stdout(&out).lines().next().unwrap().to_owned();
    assert_eq!(first, format!("{{\"index\":1,{}", &stored[1..]));
}

#[test]
fn log_filters_by_agent_kind_rule_by_and_limit() {
    let dir = standard("log-filters");
    let run = |extra: &[&str]| {
        let mut args = vec!["audit", "log", s(&dir)];
        args.extend_from_slice(extra);
        let out = airlock(&args);
        assert_eq!(code(&out), 0, "{extra:?}: {}", stderr(&out));
        indices(&out)
    };
    assert_eq!(run(&["--agent", "bob"]), [2, 4, 6]);
    // kiro's decisions and the halt of kiro.
    assert_eq!(run(&["--agent", "kiro"]), [0, 1, 5]);
    assert_eq!(run(&["--kind", "vote"]), [3]);
    assert_eq!(run(&["--kind", "halt", "--by", "alice"]), [5]);
    assert_eq!(run(&["--by", "alice"]), [3, 5]);
    assert_eq!(run(&["--rule", "prod-needs-approval"]), [2, 4]);
    assert_eq!(run(&["--decision", "approve", "--agent", "bob"]), [2, 4]);
    assert_eq!(run(&["--tenant", "other"]), Vec::<u64>::new());
    assert_eq!(run(&["--kind", "decision", "--limit", "2"]), [0, 1]);
}

#[test]
fn log_since_and_until_take_rfc3339_and_relative_times() {
    let dir = standard("log-time");
    let run = |extra: &[&str]| {
        let mut args = vec!["audit", "log", s(&dir)];
        args.extend_from_slice(extra);
        let out = airlock(&args);
        assert_eq!(code(&out), 0, "{extra:?}: {}", stderr(&out));
        indices(&out)
    };
    // From 10:00 (inclusive) to 12:00 (exclusive) on the first day.
    assert_eq!(
        run(&[
            "--since",
            "2021-01-01T10:00:00Z",
            "--until",
            "2021-01-01T12:00:00Z"
        ]),
        [2, 3, 4]
    );
    assert_eq!(run(&["--since", "2021-01-01T12:00:00Z"]), [5, 6, 7]);
    // Relative: the recent entry (an hour ago) is the only one of the last day.
    assert_eq!(run(&["--since", "24h"]), [7]);
    assert_eq!(run(&["--since", "1d"]), [7]);
    assert_eq!(run(&["--until", "7d"]), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(run(&["--since", "30m"]), Vec::<u64>::new());
}

#[test]
fn export_ocsf_prints_api_activity_events_with_the_right_disposition() {
    let dir = standard("export-ocsf");
    let out = airlock(&["audit", "export", s(&dir), "--format", "ocsf"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let events = lines(&out);
    assert_eq!(events.len(), 8);
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev["class_uid"], 6003, "{ev}");
        assert_eq!(ev["category_uid"], 6, "{ev}");
        assert_eq!(ev["metadata"]["uid"], format!("{ORIGIN}/{i}"), "{ev}");
    }
    let disposition = |i: usize| events[i]["disposition"].as_str().map(str::to_owned);
    assert_eq!(disposition(0).as_deref(), Some("Allowed"));
    assert_eq!(disposition(1).as_deref(), Some("Blocked"));
    assert_eq!(disposition(2).as_deref(), Some("Delayed"));
    assert_eq!(disposition(4).as_deref(), Some("Approved"));
    assert_eq!(disposition(6).as_deref(), Some("Blocked"));
    assert_eq!(disposition(3), None, "a vote has no disposition");
    assert_eq!(events[3]["activity_id"], 99);
    assert_eq!(events[1]["action_id"], 2);

    // With a filter: only the denials.
    let out = airlock(&[
        "audit",
        "export",
        s(&dir),
        "--format",
        "ocsf",
        "--decision",
        "deny",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let uids: Vec<Value> = lines(&out)
        .iter()
        .map(|e| e["metadata"]["uid"].clone())
        .collect();
    assert_eq!(uids, [format!("{ORIGIN}/1"), format!("{ORIGIN}/6")]);
}

#[test]
fn export_jsonl_prints_every_entry_as_stored_with_its_index() {
    let dir = standard("export-jsonl");
    let out = airlock(&["audit", "export", s(&dir), "--format", "jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let got: Vec<&str> = text.lines().collect();
    let mut expected: Vec<Vec<u8>> = history().iter().map(bytes).collect();
    expected.push(Vec::new()); // the recent entry: its time is not known here
    assert_eq!(got.len(), 8);
    for (i, line) in got.iter().enumerate().take(7) {
        let stored = String::from_utf8(expected[i].clone()).unwrap();
        assert_eq!(*line, format!("{{\"index\":{i},{}", &stored[1..]));
    }
}

#[test]
fn verify_receipt_passes_for_a_real_receipt_and_fails_for_an_altered_entry() {
    let dir = scratch("receipt").join("ledger");
    let ledger = build(&dir, &history());
    let receipt = ledger.receipt(1).unwrap();
    drop(ledger);
    let files = dir.parent().unwrap();

    let good = files.join("receipt.json");
    std::fs::write(&good, receipt.to_json()).unwrap();
    let out = airlock(&["audit", "verify-receipt", s(&good), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("index:      1 "), "{text}");
    assert!(text.contains("checkpoint: 7 entries, root "), "{text}");
    assert!(text.contains("\"decision\": \"deny\""), "{text}");
    assert!(text.contains("\"agent\": \"kiro\""), "{text}");
    assert!(text.trim_end().ends_with("OK"), "{text}");

    // The C2SP tlog-proof form, with the entry beside it.
    let proof = files.join("receipt.proof");
    let entry = files.join("entry.json");
    std::fs::write(&proof, receipt.to_tlog_proof()).unwrap();
    std::fs::write(&entry, &receipt.entry).unwrap();
    let out = airlock(&[
        "audit",
        "verify-receipt",
        s(&proof),
        "--entry",
        s(&entry),
        "--key",
        &vkey(1),
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    // The denial rewritten as an allowance: the proof no longer holds.
    let mut altered: Receipt = receipt.clone();
    let text = String::from_utf8(altered.entry).unwrap();
    assert!(text.contains("\"decision\":\"deny\""));
    altered.entry = text
        .replace("\"decision\":\"deny\"", "\"decision\":\"allow\"")
        .into_bytes();
    let bad = files.join("altered.json");
    std::fs::write(&bad, altered.to_json()).unwrap();
    let out = airlock(&["audit", "verify-receipt", s(&bad), "--key", &vkey(1)]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("the receipt does not verify"),
        "{}",
        stdout(&out)
    );

    // And the right receipt with the wrong key.
    let out = airlock(&["audit", "verify-receipt", s(&good), "--key", &vkey(2)]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_fork_is_reported_with_both_signed_checkpoints() {
    let dir = scratch("fork").join("ledger");
    let entries = history();
    drop(build(&dir, &entries[..5]));
    let old_note = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    let kept = dir.parent().unwrap().join("kept.checkpoint");
    std::fs::write(&kept, &old_note).unwrap();

    // Truncate the ledger to its first 3 entries, drop everything derived and
    // signed, and write another history on top.
    let keep: u64 = entries[..3]
        .iter()
        .map(|e| bytes(e).len() as u64 + 12)
        .sum();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("entries"))
        .unwrap();
    file.set_len(keep).unwrap();
    drop(file);
    for f in ["checkpoint", "state", "entries.idx"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    std::fs::remove_dir_all(dir.join("tile")).unwrap();
    Ledger::rebuild(&dir, Arc::new(airlock_ledger::fs::OsFs), true).unwrap();
    let other = vec![
        decision(T0 + 9 * HOUR, "eve", Tier::Allow, "x", "allowed", None),
        decision(T0 + 10 * HOUR, "eve", Tier::Allow, "x", "allowed", None),
        decision(T0 + 11 * HOUR, "eve", Tier::Allow, "x", "allowed", None),
    ];
    drop(build(&dir, &other));
    let new_note = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    assert_ne!(old_note, new_note);

    // The directory alone is consistent with itself.
    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    // Against the checkpoint kept from before, it is a fork.
    let out = airlock(&[
        "audit",
        "verify",
        s(&dir),
        "--key",
        &vkey(1),
        "--checkpoint",
        s(&kept),
    ]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FORK OR ROLLBACK"), "{text}");
    assert!(
        text.contains("airlock-ledger inconsistency evidence v1"),
        "{text}"
    );
    assert!(text.contains("reason: fork"), "{text}");
    assert!(text.contains(&old_note), "the earlier checkpoint: {text}");
    assert!(text.contains(&new_note), "the current checkpoint: {text}");
    assert!(text.contains("consistency proof ("), "{text}");
}

#[test]
fn an_earlier_checkpoint_the_ledger_extends_is_reported_consistent() {
    let dir = scratch("extends").join("ledger");
    let entries = history();
    let ledger = build(&dir, &entries[..3]);
    let kept = dir.parent().unwrap().join("kept.checkpoint");
    std::fs::write(&kept, ledger.signed().unwrap().note).unwrap();
    for e in &entries[3..] {
        ledger.append(bytes(e)).wait().unwrap();
    }
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let out = airlock(&[
        "audit",
        "verify",
        s(&dir),
        "--key",
        &vkey(1),
        "--checkpoint",
        s(&kept),
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("extends:    {} (3 entries", s(&kept))),
        "{}",
        stdout(&out)
    );
}

#[test]
fn log_reads_beside_a_running_writer_and_hides_unsigned_entries_unless_asked() {
    let dir = scratch("live").join("ledger");
    let entries = history();
    // The writer stays open (it holds the lock) for the whole test.
    let ledger = build(&dir, &entries[..5]);
    ledger.append(bytes(&entries[5])).wait().unwrap();
    ledger.append(bytes(&entries[6])).wait().unwrap();

    let out = airlock(&["audit", "log", s(&dir)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(indices(&out), [0, 1, 2, 3, 4]);
    assert!(
        stderr(&out).contains("2 entries after the signed checkpoint (5 entries) are not shown"),
        "{}",
        stderr(&out)
    );

    let out = airlock(&["audit", "log", s(&dir), "--unsigned"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(indices(&out), [0, 1, 2, 3, 4, 5, 6]);
    assert!(got[4].get("signed").is_none());
    assert_eq!(got[5]["signed"], false);
    assert_eq!(got[6]["signed"], false);

    // Verification works beside the writer too.
    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("7 checked in")
            && stdout(&out).contains("the last 2 are not yet signed"),
        "{}",
        stdout(&out)
    );
    // And the writer is still fine.
    assert_eq!(
        ledger.sign_checkpoint().wait().unwrap().checkpoint.size(),
        7
    );
}

#[test]
fn bad_usage_and_unreadable_input_exit_2_saying_what_was_wrong() {
    let dir = standard("usage");
    let missing = dir.parent().unwrap().join("no-such-ledger");
    let key = vkey(1);
    let not_a_receipt = dir.join("checkpoint");
    let binary = dir.join("entries");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["audit", "log"], "<DIR>"),
        (vec!["audit", "verify", s(&dir)], "--key"),
        (
            vec!["audit", "log", s(&dir), "--decision", "block"],
            "decision `block` is not one of allow, log, approve, deny",
        ),
        (
            vec!["audit", "log", s(&dir), "--kind", "votes"],
            "kind `votes` is not one of",
        ),
        (
            vec!["audit", "log", s(&dir), "--since", "yesterday"],
            "`yesterday` is not a time",
        ),
        (
            vec!["audit", "log", s(&dir), "--until", "2021-13-01T00:00:00Z"],
            "is not a time",
        ),
        (
            vec!["audit", "log", s(&dir), "--since", "3 months"],
            "not a fixed length of time",
        ),
        (
            vec!["audit", "export", s(&dir), "--format", "csv"],
            "invalid value 'csv'",
        ),
        (
            vec!["audit", "log", s(&missing)],
            "cannot read the directory",
        ),
        (
            vec!["audit", "verify", s(&missing), "--key", &key],
            "cannot read the directory",
        ),
        (
            vec!["audit", "verify", s(&dir), "--key", "not-a-key"],
            "is not a log verifier key",
        ),
        (
            vec!["audit", "verify", s(&dir), "--key", "@/no/such/key/file"],
            "cannot read the key file",
        ),
        (
            vec!["audit", "verify-receipt", s(&not_a_receipt), "--key", &key],
            "expected a receipt's JSON or a C2SP tlog-proof",
        ),
        (
            vec!["audit", "verify-receipt", s(&binary), "--key", &key],
            "not text; expected a receipt's JSON",
        ),
        (
            vec![
                "audit",
                "verify-receipt",
                s(&not_a_receipt),
                "--key",
                &key,
                "--quorum",
                "1",
            ],
            "--witness",
        ),
    ];
    for (args, message) in cases {
        let out = airlock(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(
            stderr(&out).contains(message),
            "{args:?}: expected {message:?} in: {}",
            stderr(&out)
        );
    }
    // A private key given by mistake is refused without being echoed.
    let secret = signer(1).to_secret_string();
    let out = airlock(&["audit", "verify", s(&dir), "--key", &secret]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("private signing key"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(&secret));
}

#[test]
fn verify_receipt_checks_the_witness_quorum() {
    use airlock_tlog::{Checkpoint, Note, WitnessSigner, cosign};

    let dir = scratch("receipt-witness").join("ledger");
    let ledger = build(&dir, &history());
    let mut receipt = ledger.receipt(6).unwrap();
    drop(ledger);
    let witness = WitnessSigner::from_seed("witness.example.com", &[9; 32]).unwrap();
    let stranger = WitnessSigner::from_seed("stranger.example.com", &[8; 32]).unwrap();
    let mut note = Note::parse(receipt.checkpoint.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    note.add_signature(cosign(&witness, &checkpoint, 1_700_000_000));
    receipt.checkpoint = note.to_string();
    let file = dir.parent().unwrap().join("cosigned.json");
    std::fs::write(&file, receipt.to_json()).unwrap();
    let (ours, theirs) = (witness.key().to_string(), stranger.key().to_string());

    let out = airlock(&[
        "audit",
        "verify-receipt",
        s(&file),
        "--key",
        &vkey(1),
        "--witness",
        &ours,
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("cosigned:   witness.example.com at 2023-11-14T22:13:20Z"),
        "{}",
        stdout(&out)
    );

    // A quorum of two, when only one of the two witnesses cosigned.
    let out = airlock(&[
        "audit",
        "verify-receipt",
        s(&file),
        "--key",
        &vkey(1),
        "--witness",
        &ours,
        "--witness",
        &theirs,
    ]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("witnesses: "), "{}", stdout(&out));

    // One of the two suffices when the quorum says so.
    let out = airlock(&[
        "audit",
        "verify-receipt",
        s(&file),
        "--key",
        &vkey(1),
        "--witness",
        &ours,
        "--witness",
        &theirs,
        "--quorum",
        "1",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_torn_record_after_the_checkpoint_is_not_damage_but_one_under_it_is() {
    let dir = standard("torn");
    let path = dir.join("entries");
    let mut written = history();
    written.push(recent());
    let entries: Vec<Vec<u8>> = written.iter().map(bytes).collect();
    // The records, without the zeros the writer filled ahead of them.
    let whole: usize = entries.iter().map(|e| e.len() + 12).sum();
    let mut clean = std::fs::read(&path).unwrap();
    assert!(clean[whole..].iter().all(|b| *b == 0));
    clean.truncate(whole);
    // Half a record at the end: what a reader sees while a write is in progress.
    let mut torn = clean.clone();
    torn.extend_from_slice(&[0, 0, 0, 40, b'{', b'"']);
    std::fs::write(&path, &torn).unwrap();

    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("an incomplete record of 6 bytes"),
        "{}",
        stdout(&out)
    );
    let out = airlock(&["audit", "log", s(&dir), "--unsigned"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(indices(&out).len(), 8);
    assert!(
        stderr(&out).contains("stopped at entry 8: its record is incomplete or damaged"),
        "{}",
        stderr(&out)
    );

    // The same damage to entry 2, which the checkpoint covers.
    let offset: usize = entries[..2].iter().map(|e| e.len() + 12).sum::<usize>() + 20;
    let mut damaged = clean;
    damaged[offset] ^= 0x20;
    std::fs::write(&path, &damaged).unwrap();
    let out = airlock(&["audit", "log", s(&dir)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(indices(&out), [0, 1]);
    assert!(
        stderr(&out).contains("entry 2 is covered by the signed checkpoint"),
        "{}",
        stderr(&out)
    );

    // Signed entries cut off the end: the first three are left.
    let three: usize = entries[..3].iter().map(|e| e.len() + 12).sum();
    let mut cut = std::fs::read(&path).unwrap();
    cut[offset] ^= 0x20; // repaired
    cut.truncate(three);
    std::fs::write(&path, &cut).unwrap();
    let out = airlock(&["audit", "log", s(&dir)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(indices(&out), [0, 1, 2]);
    assert!(
        stderr(&out)
            .contains("the entries file holds 3 entries, but the signed checkpoint covers 8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_audit_command_has_help() {
    for (command, says) in [
        ("verify", "--checkpoint <FILE>"),
        ("verify-receipt", "--witness <WKEY>"),
        ("log", "--unsigned"),
        ("export", "--format <FORMAT>"),
    ] {
        let out = airlock(&["audit", command, "--help"]);
        assert_eq!(code(&out), 0, "{command}");
        let text = stdout(&out);
        assert!(text.contains("Usage: airlock audit"), "{command}: {text}");
        assert!(text.contains(says), "{command}: {text}");
        assert!(text.contains("Exits"), "{command}: {text}");
    }
}

#[test]
fn a_pruned_ledger_verifies_reporting_the_pruned_count_and_log_and_export_start_after_it() {
    let dir = scratch("pruned").join("ledger");
    let mut entries = history();
    entries.push(recent());
    let ledger = build(&dir, &entries);
    ledger.prune(3).wait().unwrap();
    drop(ledger);

    let out = airlock(&["audit", "verify", s(&dir), "--key", &vkey(1)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("entries:    8 checked in "), "{text}");
    assert!(
        text.contains("pruned:     entries 0..3 (retention)"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("OK"), "{text}");

    let out = airlock(&["audit", "log", s(&dir)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(indices(&out), vec![3, 4, 5, 6, 7]);
    assert!(
        stderr(&out).contains("entries 0..3 were pruned"),
        "{}",
        stderr(&out)
    );

    let out = airlock(&["audit", "export", s(&dir), "--format", "jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(indices(&out), vec![3, 4, 5, 6, 7]);
    let out = airlock(&["audit", "export", s(&dir), "--format", "ocsf"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&out).len(), 5);
}
