//! A crash under load. Several agents submit a mix of calls (reads that are
//! allowed, permission changes that are denied, deletions held for an hour, and
//! calls of unknown effect held for 3 s); every answer that acknowledged a record
//! (200 with an id) is kept. The service is killed with SIGKILL while they run,
//! then restarted on the same store. Every acknowledged decision must be in the
//! ledger at the index its answer named, and every acknowledged record still there
//! for the agent that owns it, with the status it was acknowledged with (a short
//! hold may have expired into a denial, nothing else), the long holds still wait
//! in the approvers' queue, and the short holds whose deadline falls after the
//! crash expire once it passes, by the restarted service. Runs on SQLite and, with
//! `AIRLOCK_TEST_POSTGRES_URL`, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const WORKERS: usize = 4;
/// Acknowledged answers to wait for before the kill.
const ACKS_BEFORE_KILL: usize = 300;
/// The short hold, in seconds (the long one is the default policy's hour).
const SHORT_HOLD_S: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A read: allowed.
    Read,
    /// A permission change: denied.
    Denied,
    /// A deletion: held for an hour.
    LongHold,
    /// A call of unknown effect: held for 3 s.
    ShortHold,
}

impl Kind {
    fn acknowledged_as(self) -> &'static str {
        match self {
            Kind::Read => "allowed",
            Kind::Denied => "denied",
            Kind::LongHold | Kind::ShortHold => "pending",
        }
    }
}

/// The `n`th call of worker `w`.
fn nth_call(w: usize, n: usize) -> (Kind, String) {
    match n % 4 {
        0 => (Kind::Read, bash(&format!("ls -la /srv/w{w}/{n}"))),
        1 => (
            Kind::LongHold,
            bash(&format!("kubectl delete deployment w{w}-{n} -n prod")),
        ),
        2 => (Kind::ShortHold, bash(&format!("./job-{w}-{n}.sh"))),
        _ => (
            Kind::Denied,
            bash(&format!(
                "aws iam attach-role-policy --role-name w{w}-{n} --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"
            )),
        ),
    }
}

#[derive(Debug, Clone)]
struct Ack {
    worker: usize,
    kind: Kind,
    id: String,
    status: String,
    expires_ms: Option<i64>,
    /// The ledger index the answer named.
    ledger: Option<u64>,
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn crash_under_load(backend: Backend) {
    let tenant = unique("crash");
    let root = format!("al_root_{tenant}");
    let policy = backend.policy(&|p| {
        let edited = p.replacen(
            "    when: { effect: unknown }\n    then: approve\n",
            &format!("    when: {{ effect: unknown }}\n    then: approve\n    approvals: {{ from: approvers, count: 1, timeout: {SHORT_HOLD_S}s, on_timeout: deny }}\n"),
            1,
        );
        assert_ne!(edited, p, "the unknown-effects rule is where it was");
        edited
    });
    let mut s = backend.start(&tenant, &root, Some(&policy));
    let keys: Vec<String> = (0..WORKERS)
        .map(|w| {
            let r = call(
                &s.addr,
                "POST",
                "/v1/agents",
                Some(&root),
                &json!({"name": format!("worker-{w}")}).to_string(),
            );
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["token"].as_str().unwrap().to_owned()
        })
        .collect();
    // An agent under a halt, which the crash must not lift.
    let stopped = {
        let r = call(
            &s.addr,
            "POST",
            "/v1/agents",
            Some(&root),
            r#"{"name":"stopped"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["token"].as_str().unwrap().to_owned()
    };
    let r = call(
        &s.addr,
        "POST",
        "/v1/halt",
        Some(&root),
        r#"{"scope":"agent","name":"stopped","reason":"before the crash"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // The load: each worker submits until the service is gone.
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let anomalies: Arc<Mutex<Vec<String>>> = Arc::default();
    let workers: Vec<_> = keys
        .iter()
        .cloned()
        .enumerate()
        .map(|(w, key)| {
            let (addr, acks, anomalies) = (s.addr.clone(), acks.clone(), anomalies.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    let (kind, body) = nth_call(w, n);
                    let r = match try_call(&addr, "POST", "/v1/actions", Some(&key), &body) {
                        Ok(r) => r,
                        Err(_) => return n, // the service is gone
                    };
                    match r.json["id"].as_str() {
                        Some(id) if r.status == 200 => acks.lock().unwrap().push(Ack {
                            worker: w,
                            kind,
                            id: id.to_owned(),
                            status: r.json["status"].as_str().unwrap_or("?").to_owned(),
                            expires_ms: r.json["expires_ms"].as_i64(),
                            ledger: r.json["ledger"]["index"].as_u64(),
                        }),
                        _ => anomalies
                            .lock()
                            .unwrap()
                            .push(format!("worker {w} call {n}: {} {}", r.status, r.text)),
                    }
                }
                unreachable!()
            })
        })
        .collect();
    let load = Instant::now();
    poll(
        Duration::from_secs(30),
        "acknowledged answers before the kill",
        || (acks.lock().unwrap().len() >= ACKS_BEFORE_KILL).then_some(()),
    );
    s.child.kill().unwrap(); // SIGKILL, mid-load
    s.child.wait().unwrap();
    let killed_ms = now_ms();
    let load = load.elapsed();
    let calls: Vec<usize> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    let acks = acks.lock().unwrap().clone();
    let anomalies = anomalies.lock().unwrap().clone();
    assert!(
        anomalies.is_empty(),
        "answers without a record while the service ran: {anomalies:#?}"
    );
    // Every worker was still submitting when the service died.
    assert!(calls.iter().all(|&n| n > 0), "{calls:?}");

    // Before the crash, each call was answered as its kind is decided.
    for a in &acks {
        assert_eq!(a.status, a.kind.acknowledged_as(), "{a:?}");
    }
    let count = |k: Kind| acks.iter().filter(|a| a.kind == k).count();
    for k in [Kind::Read, Kind::Denied, Kind::LongHold, Kind::ShortHold] {
        assert!(count(k) >= 10, "only {} {k:?} acknowledged", count(k));
    }
    let ids: BTreeSet<&str> = acks.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), acks.len(), "ids are unique");
    // Short holds whose deadline falls after the crash: the restarted service must
    // expire them.
    let due_after_crash: Vec<&Ack> = acks
        .iter()
        .filter(|a| a.kind == Kind::ShortHold && a.expires_ms.unwrap() > killed_ms + 500)
        .collect();
    eprintln!(
        "[{}] killed after {load:?}: {} calls, {} acknowledged ({} read, {} denied, {} long holds, {} short holds, {} due after the crash)",
        backend.label(),
        calls.iter().sum::<usize>(),
        acks.len(),
        count(Kind::Read),
        count(Kind::Denied),
        count(Kind::LongHold),
        count(Kind::ShortHold),
        due_after_crash.len()
    );
    assert!(
        due_after_crash.len() >= 10,
        "the load ran too long for the test to mean anything: {} short holds left",
        due_after_crash.len()
    );

    // Every acknowledged decision is in the ledger, at the index its answer named:
    // durable before it was answered (write-ahead).
    let entries = ledger_entries(&backend.dir.join("ledger"));
    let mut unledgered = Vec::new();
    for a in &acks {
        let recorded = a
            .ledger
            .and_then(|i| entries.get(i as usize))
            .and_then(|e| match airlock_audit::Entry::parse(e).ok()?.event {
                airlock_audit::Event::Decision(d) => Some(d.id == a.id && d.status == a.status),
                _ => None,
            });
        if recorded != Some(true) {
            unledgered.push(format!("{} (index {:?})", a.id, a.ledger));
        }
    }
    assert!(
        unledgered.is_empty(),
        "[{}] {} of {} acknowledged decisions not in the ledger ({} whole entries): {:?}",
        backend.label(),
        unledgered.len(),
        acks.len(),
        entries.len(),
        &unledgered[..unledgered.len().min(10)]
    );

    // Restart on the same store. The halted agent knocks at once, from several
    // threads: the halt holds from the first request on (checked last, so that a
    // failure here does not hide the others).
    let s = backend.start(&tenant, &root, Some(&policy));
    let knocks: Vec<_> = (0..4)
        .map(|_| {
            let (addr, key) = (s.addr.clone(), stopped.clone());
            std::thread::spawn(move || call(&addr, "POST", "/v1/actions", Some(&key), &bash("ls")))
        })
        .collect();
    let knocks: Vec<Reply> = knocks.into_iter().map(|t| t.join().unwrap()).collect();
    let get = |a: &Ack, wait: &str| {
        call(
            &s.addr,
            "GET",
            &format!("/v1/actions/{}{wait}", a.id),
            Some(&keys[a.worker]),
            "",
        )
    };
    let mut lost = Vec::new();
    for a in &acks {
        let r = get(a, "");
        let status = r.json["status"].as_str().unwrap_or("");
        let kept = match a.kind {
            Kind::Read | Kind::Denied | Kind::LongHold => status == a.status,
            Kind::ShortHold => status == "pending" || status == "expired",
        };
        if r.status != 200 || !kept {
            lost.push(format!(
                "[{}] {:?} {} acknowledged `{}`, after the restart {}: {}",
                backend.label(),
                a.kind,
                a.id,
                a.status,
                r.status,
                r.text
            ));
        }
        if a.kind == Kind::LongHold && r.status == 200 {
            assert_eq!(r.json["expires_ms"], json!(a.expires_ms), "{}", r.text);
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged records lost or changed by the crash:\n{}",
        lost.len(),
        acks.len(),
        lost.join("\n")
    );

    // The long holds still wait for approvers.
    let r = call(
        &s.addr,
        "GET",
        "/v1/approvals?status=pending&limit=100000",
        Some(&root),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let queued: BTreeSet<&str> = r.json["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    for a in acks.iter().filter(|a| a.kind == Kind::LongHold) {
        assert!(queued.contains(a.id.as_str()), "{a:?} not in the queue");
    }

    // The short holds expire into denials once their deadline passes, every one.
    let last = acks
        .iter()
        .filter(|a| a.kind == Kind::ShortHold)
        .map(|a| a.expires_ms.unwrap())
        .max()
        .unwrap();
    let limit = Duration::from_millis(u64::try_from((last - now_ms()).max(0)).unwrap())
        + Duration::from_secs(5);
    let t = Instant::now();
    let mut outcome: BTreeMap<&str, String> = BTreeMap::new();
    for a in acks.iter().filter(|a| a.kind == Kind::ShortHold) {
        let v = poll(
            limit.saturating_sub(t.elapsed()),
            &format!("{} expired", a.id),
            || {
                let r = get(a, "?wait=2s");
                (r.json["status"] != "pending").then_some(r.json)
            },
        );
        assert!(now_ms() >= a.expires_ms.unwrap(), "resolved early: {v}");
        assert_eq!(
            (
                v["status"].as_str(),
                v["allowed"].as_bool(),
                v["approved"].as_bool()
            ),
            (Some("expired"), Some(false), Some(false)),
            "{v}"
        );
        outcome.insert(&a.id, v["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(outcome.len(), count(Kind::ShortHold));

    // And the restarted service goes on deciding, halts included.
    let r = call(&s.addr, "POST", "/v1/actions", Some(&keys[0]), &bash("ls"));
    assert_eq!(r.json["status"], "allowed", "{}", r.text);
    let r = call(&s.addr, "POST", "/v1/actions", Some(&stopped), &bash("ls"));
    assert_eq!(r.json["decision"]["rules"][0], "airlock:halt", "{}", r.text);
    let let_through: Vec<String> = knocks
        .iter()
        .filter(|r| r.json["decision"]["rules"][0] != "airlock:halt")
        .map(|r| short(&r.text))
        .collect();
    assert!(
        let_through.is_empty(),
        "[{}] right after the restart, {} of {} calls of the halted agent were not denied by its halt: {let_through:#?}",
        backend.label(),
        let_through.len(),
        knocks.len()
    );
}

on_both_backends!(acknowledged_records_survive_sigkill, crash_under_load);
