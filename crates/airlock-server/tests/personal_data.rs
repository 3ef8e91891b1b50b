//! The recorder in the separate personal-data mode: the side store holds an
//! entry's values once `record` answers; an erasure is recorded without the
//! subject and leaves the tree valid; retention pruning takes the pruned
//! entries' values with it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::path::PathBuf;

use airlock_audit::{Entry, Event};
use airlock_ledger::LedgerOptions;
use airlock_server::Recorder;
use airlock_server::personal::{Erase, PersonalStore};
use airlock_tlog::{LogTrust, SignerKey};

const DAY: i64 = 86_400_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("airlock-personal-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn key() -> SignerKey {
    SignerKey::from_seed("pd.example/ledger", &[7; 32]).unwrap()
}

fn recorder(dir: &std::path::Path) -> Recorder {
    let mut r = Recorder::with_options(dir, LedgerOptions::new("pd.example/ledger", key()), "gw-1")
        .unwrap();
    r.keep_personal_data_apart().unwrap();
    r
}

fn vote(approver: &str, comment: &str) -> Event {
    Event::Vote {
        id: "act_1".into(),
        approver: approver.into(),
        groups: vec!["oncall".into()],
        approve: true,
        comment: comment.into(),
        status: "approved".into(),
    }
}

fn entry(r: &Recorder, index: u64) -> Entry {
    Entry::parse(&r.ledger().entry(index).unwrap()).unwrap()
}

fn kept(dir: &std::path::Path, e: &Entry) -> usize {
    let store = PersonalStore::open_existing(dir).unwrap().unwrap();
    store.lookup(&e.commitments()).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_durable_on_record_erasure_is_recorded_and_prune_takes_them() {
    let dir = scratch("recorder");
    let r = recorder(&dir);
    let now = 1_800_000_000_000;
    let old = now - 400 * DAY;
    let i0 = r.record(old, "t", vote("alice", "fine")).await.unwrap();
    let i1 = r
        .record(old, "t", vote("bob", "ask alice first"))
        .await
        .unwrap();
    let i_dave = r.record(old, "t", vote("dave", "ok")).await.unwrap();
    let i2 = r.record(now, "t", vote("carol", "ok")).await.unwrap();
    for i in [i0, i1, i_dave, i2] {
        let e = entry(&r, i);
        assert!(e.is_separate());
        assert_eq!(
            kept(&dir, &e),
            2,
            "entry {i}: its values are kept once recorded"
        );
    }

    // Erase alice: her vote and bob's comment naming her (all of that entry).
    let (erased, at) = r
        .erase(Erase::Subject("alice".into()), now, "admin")
        .await
        .unwrap();
    assert_eq!((erased.indices.clone(), erased.fields), (vec![i0, i1], 4));
    let at = at.expect("recorded");
    let Event::Erasure {
        how,
        indices,
        entries,
        fields,
        ..
    } = &entry(&r, at).event
    else {
        panic!("not an erasure entry")
    };
    assert_eq!(
        (how.as_str(), indices.len(), *entries, *fields),
        ("subject", 0, 2, 4)
    );
    let raw = String::from_utf8(r.ledger().entry(at).unwrap()).unwrap();
    assert!(!raw.contains("alice"), "{raw}");
    assert_eq!(kept(&dir, &entry(&r, i0)), 0);
    assert_eq!(kept(&dir, &entry(&r, i2)), 2);
    // Again: nothing left, nothing recorded.
    let size = r.ledger().size();
    let (again, at) = r
        .erase(Erase::Subject("alice".into()), now, "admin")
        .await
        .unwrap();
    assert_eq!((again.fields, at), (0, None));
    assert_eq!(r.ledger().size(), size);

    // The tree verifies with only the public key.
    r.ledger().sign_checkpoint().await.unwrap();
    let trust = LogTrust::new("pd.example/ledger", vec![key().verifier()]);
    let report = airlock_ledger::verify(&dir, &trust);
    assert!(report.is_ok(), "{report:?}");

    // Retention: the old entries' bytes go, and their values with them.
    let carol = entry(&r, i2);
    assert_eq!(
        PersonalStore::open_existing(&dir)
            .unwrap()
            .unwrap()
            .entries_naming("dave")
            .unwrap()
            .len(),
        1
    );
    let below = r.prune(now - 200 * DAY, now, "admin").await.unwrap();
    assert_eq!(below, 3);
    let store = PersonalStore::open_existing(&dir).unwrap().unwrap();
    assert!(
        store.entries_naming("dave").unwrap().is_empty(),
        "pruned with its entry"
    );
    assert_eq!(store.entries_naming("carol").unwrap().len(), 1);
    assert_eq!(kept(&dir, &carol), 2);
    let report = airlock_ledger::verify(&dir, &trust);
    assert!(report.is_ok(), "{report:?}");
}

/// A crash after the side store's commit and before the ledger's append leaves
/// rows no entry refers to: nothing shows them, and erasing their subject
/// removes them too (counted apart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_crash_kept_out_of_the_ledger_are_erased_with_their_subject() {
    let dir = scratch("orphans");
    let r = recorder(&dir);
    let i = r.record(1, "t", vote("erin", "ok")).await.unwrap();
    // What `record` would have kept for an entry it never appended.
    let never = Entry::new(2, "gw-1", "t", vote("erin", "second thoughts"));
    let (separated, sealed) = never.separate(&[[9; 32], [8; 32]]).unwrap();
    let digest = airlock_audit::sha256_hex(&separated.to_bytes().unwrap());
    PersonalStore::open(&dir)
        .unwrap()
        .put(&digest, &sealed)
        .unwrap();

    let (erased, _) = r
        .erase(Erase::Subject("erin".into()), 3, "admin")
        .await
        .unwrap();
    assert_eq!(erased.indices, vec![i]);
    assert_eq!((erased.fields, erased.orphans), (4, 2));
    let store = PersonalStore::open_existing(&dir).unwrap().unwrap();
    assert!(store.entries_naming("erin").unwrap().is_empty());
}

/// Concurrent records share the side store's commits (group commit) and each
/// still finds its own values kept once `record` answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_records_each_keep_their_values() {
    let dir = scratch("concurrent");
    let r = std::sync::Arc::new(recorder(&dir));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                let comment = format!("comment number {i}");
                r.record(1_000 + i, "t", vote(&format!("approver-{i}"), &comment))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut indices = Vec::new();
    for t in tasks {
        indices.push(t.await.unwrap());
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..64).collect::<Vec<u64>>());
    for i in indices {
        let e = entry(&r, i);
        assert_eq!(kept(&dir, &e), e.commitments().len(), "entry {i}");
        assert_eq!(e.commitments().len(), 2, "approver and comment: {e:?}");
    }
}
