//! The one test suite every backend of [`Store`] must pass.
//!
//! Each scenario is an `async fn` taking a `&Store` and fresh tenant names (with a
//! random suffix, so that runs sharing one PostgreSQL database never collide). The
//! `#[tokio::test]` wrappers at the end run them on a fresh SQLite store; the
//! PostgreSQL wrappers run the same scenarios when `AIRLOCK_TEST_POSTGRES_URL` is set.
//!
//! Scenarios that act on every tenant at once (`expire_due`, a halt of scope `All`)
//! hold [`ALL_TENANTS`] exclusively; every other scenario holds it shared. On a shared
//! database they then never disturb each other within one test binary. Everything
//! else a scenario creates lives in its own tenants, and its times are far from the
//! small times the `expire_due` scenarios use.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use airlock_store::{
    Brief, Credential, Halt, Kind, ListFilter, Millis, NewRecord, Principal, Record, Requirement,
    Review, ReviewOutcome, ReviewState, Scope, Status, Store, StoreError, Summary, Vote,
    VoteOutcome,
};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

// ---------------------------------------------------------------------------------
// Helpers.

/// Held shared by ordinary scenarios, exclusively by those touching all tenants.
static ALL_TENANTS: RwLock<()> = RwLock::const_new(());

async fn shared() -> RwLockReadGuard<'static, ()> {
    ALL_TENANTS.read().await
}

async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ALL_TENANTS.write().await
}

/// A name no other test run uses: process id, time, and a counter.
fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Times of ordinary scenarios: far above the small times of the expiry scenarios.
const T0: Millis = 1_800_000_000_000;
const HOUR: Millis = 3_600_000;

fn req(group: &str, approvals: u32) -> Requirement {
    Requirement {
        group: group.into(),
        approvals,
    }
}

fn record(tenant: &str, id: &str, agent: &str, received_ms: Millis, status: Status) -> NewRecord {
    let pending = status == Status::Pending;
    NewRecord {
        id: id.into(),
        tenant: tenant.into(),
        agent: agent.into(),
        zone: None,
        received_ms,
        call_json: format!(r#"{{"tool":"shell","args":{{"command":"echo {id}"}}}}"#),
        action_json: format!(r#"{{"kind":"exec","id":"{id}"}}"#),
        decision_json: r#"{"tier":"approve","rule":"r1"}"#.into(),
        tier: if pending { "approve" } else { "allow" }.into(),
        digest: format!("digest-{id}"),
        status,
        expires_ms: pending.then_some(received_ms + HOUR),
        requirements: if pending {
            vec![req("leads", 1)]
        } else {
            vec![]
        },
        kind: Kind::Action,
        use_within_ms: None,
        review_due: false,
        summary: Summary {
            tool: "shell".into(),
            operation: format!("echo {id}"),
            effect: "write".into(),
            reason: format!("because of {id}: \"quoted\", ünïcode"),
            rules: vec!["r1".into(), format!("rule-{id}")],
        },
    }
}

fn pending(tenant: &str, id: &str, requirements: Vec<Requirement>) -> NewRecord {
    NewRecord {
        requirements,
        ..record(tenant, id, "agent-1", T0, Status::Pending)
    }
}

fn vote(approver: &str, groups: &[&str], approve: bool, comment: &str) -> Vote {
    Vote {
        approver: approver.into(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        approve,
        comment: comment.into(),
        at_ms: T0 + 1,
    }
}

fn yes(approver: &str, groups: &[&str]) -> Vote {
    vote(approver, groups, true, "")
}

/// What `get` must return for a freshly inserted record.
fn stored(r: &NewRecord) -> Record {
    Record {
        id: r.id.clone(),
        tenant: r.tenant.clone(),
        agent: r.agent.clone(),
        zone: r.zone.clone(),
        received_ms: r.received_ms,
        call_json: r.call_json.clone(),
        action_json: r.action_json.clone(),
        decision_json: r.decision_json.clone(),
        tier: r.tier.clone(),
        digest: r.digest.clone(),
        status: r.status,
        expires_ms: r.expires_ms,
        requirements: r.requirements.clone(),
        resolved_ms: None,
        resolution: None,
        votes: vec![],
        kind: r.kind,
        steps_used: 0,
        review_state: r.review_due.then_some(ReviewState::Due),
        review: None,
        summary: r.summary.clone(),
    }
}

async fn status_of(store: &Store, tenant: &str, id: &str) -> Status {
    match store.get(tenant, id).await {
        Ok(Some(r)) => r.status,
        other => panic!("{tenant}/{id}: {other:?}"),
    }
}

async fn must_get(store: &Store, tenant: &str, id: &str) -> Record {
    match store.get(tenant, id).await {
        Ok(Some(r)) => r,
        other => panic!("{tenant}/{id}: {other:?}"),
    }
}

/// Polls all the futures concurrently (on this task) and returns their outputs in
/// order. The store operations they start run concurrently in the backend.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn ids(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

// ---------------------------------------------------------------------------------
// Scenarios.

/// Insert, get and list return every field; list is newest first, filtered, limited.
async fn round_trip(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let mut a = record(t, &format!("{t}-a"), "agent-1", T0, Status::Allowed);
    a.zone = Some("prod".into());
    let b = record(t, &format!("{t}-b"), "agent-2", T0 + 10, Status::Denied);
    let mut c = pending(
        t,
        &format!("{t}-c"),
        vec![req("leads", 3), req("security", 1)],
    );
    c.received_ms = T0 + 20;
    c.agent = "agent-3".into();
    c.expires_ms = Some(T0 + HOUR);
    // Same time as c: the id breaks the tie (descending).
    let d = record(t, &format!("{t}-d"), "agent-1", T0 + 20, Status::Pending);
    for r in [&a, &b, &c, &d] {
        store.insert(r.clone()).await.unwrap();
    }
    for r in [&a, &b, &c, &d] {
        assert_eq!(store.get(t, &r.id).await.unwrap(), Some(stored(r)));
    }
    // Votes come back in cast order, not in name order.
    let cast = [
        yes("carol", &["leads"]),
        vote("alice", &["leads", "security"], true, "ok"),
        yes("bob", &["leads"]),
    ];
    for v in &cast {
        assert_eq!(
            store.vote(t, &c.id, v.clone(), T0 + 30).await.unwrap(),
            VoteOutcome::Recorded(Status::Pending)
        );
    }
    let got = must_get(store, t, &c.id).await;
    assert_eq!(got.votes, cast.to_vec());
    assert_eq!(got.status, Status::Pending);

    // Another tenant sees nothing.
    assert_eq!(store.get(other, &a.id).await.unwrap(), None);
    assert!(
        store
            .list(other, &ListFilter::default())
            .await
            .unwrap()
            .is_empty()
    );

    let all = store.list(t, &ListFilter::default()).await.unwrap();
    assert_eq!(ids(&all), [&d.id, &c.id, &b.id, &a.id]);
    assert_eq!(
        all[1], got,
        "list returns the same record as get, votes included"
    );
    assert_eq!(all[3], stored(&a));

    let filter = |status: Option<Status>, agent: Option<&str>, limit: u32| ListFilter {
        status,
        agent: agent.map(str::to_owned),
        review: None,
        limit,
    };
    let l = store
        .list(t, &filter(Some(Status::Pending), None, 0))
        .await
        .unwrap();
    assert_eq!(ids(&l), [&d.id, &c.id]);
    let l = store
        .list(t, &filter(None, Some("agent-1"), 0))
        .await
        .unwrap();
    assert_eq!(ids(&l), [&d.id, &a.id]);
    let l = store
        .list(t, &filter(Some(Status::Pending), Some("agent-1"), 0))
        .await
        .unwrap();
    assert_eq!(ids(&l), [&d.id]);
    let l = store.list(t, &filter(None, None, 2)).await.unwrap();
    assert_eq!(ids(&l), [&d.id, &c.id]);
    let l = store
        .list(t, &filter(Some(Status::Expired), None, 0))
        .await
        .unwrap();
    assert!(l.is_empty());

    assert_eq!(store.count_pending(Some(t)).await.unwrap(), 2);
    assert_eq!(store.count_pending(Some(other)).await.unwrap(), 0);
    assert!(store.count_pending(None).await.unwrap() >= 2);
}

/// The brief listing shows the same records as the full one, in the same order,
/// with the summary as recorded and the votes counted; an agent's history holds
/// only that agent's records, in that tenant, newest first, filtered by status.
async fn brief_listing_and_agent_history(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let mut recorded = Vec::new();
    for i in 0..30 {
        let agent = ["agent-1", "agent-2", "agent-3"][i % 3];
        let status = [Status::Allowed, Status::Denied, Status::Pending][i / 3 % 3];
        let r = record(t, &format!("{t}-{i:02}"), agent, T0 + i as Millis, status);
        store.insert(r.clone()).await.unwrap();
        recorded.push(r);
    }
    // The same agent name in another tenant is another agent.
    store
        .insert(record(
            other,
            &format!("{other}-x"),
            "agent-1",
            T0 + 100,
            Status::Allowed,
        ))
        .await
        .unwrap();
    let held = recorded
        .iter()
        .find(|r| r.status == Status::Pending)
        .unwrap();
    store
        .vote(
            t,
            &held.id,
            vote("carol", &["elsewhere"], true, ""),
            T0 + 40,
        )
        .await
        .unwrap();

    let filters = [
        ListFilter::default(),
        ListFilter {
            status: Some(Status::Pending),
            ..ListFilter::default()
        },
        ListFilter {
            agent: Some("agent-2".into()),
            ..ListFilter::default()
        },
        ListFilter {
            agent: Some("agent-1".into()),
            limit: 4,
            ..ListFilter::default()
        },
        ListFilter {
            agent: Some("agent-3".into()),
            status: Some(Status::Denied),
            ..ListFilter::default()
        },
        ListFilter {
            agent: Some("agent-1".into()),
            status: Some(Status::Pending),
            ..ListFilter::default()
        },
        ListFilter {
            agent: Some("nobody".into()),
            ..ListFilter::default()
        },
    ];
    for f in &filters {
        let full = store.list(t, f).await.unwrap();
        let brief = store.list_brief(t, f).await.unwrap();
        let expected: Vec<Brief> = full
            .iter()
            .map(|r| Brief {
                id: r.id.clone(),
                kind: r.kind,
                agent: r.agent.clone(),
                status: r.status,
                received_ms: r.received_ms,
                expires_ms: r.expires_ms,
                requirements: r.requirements.clone(),
                summary: r.summary.clone(),
                votes: r.votes.len() as u32,
            })
            .collect();
        assert_eq!(brief, expected, "{f:?}");
        // What the filter selects, newest first, from what was recorded.
        let mut want: Vec<&NewRecord> = recorded
            .iter()
            .filter(|r| f.agent.as_deref().is_none_or(|a| r.agent == a))
            .filter(|r| f.status.is_none_or(|s| r.status == s))
            .collect();
        want.reverse();
        want.truncate(if f.limit == 0 { 100 } else { f.limit as usize });
        assert_eq!(
            ids(&full),
            want.iter().map(|r| &r.id).collect::<Vec<_>>(),
            "{f:?}"
        );
        for (b, r) in brief.iter().zip(&want) {
            assert_eq!(b.summary, r.summary);
        }
    }
    let voted = store
        .list_brief(
            t,
            &ListFilter {
                status: Some(Status::Pending),
                limit: 1000,
                ..ListFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(voted.iter().find(|b| b.id == held.id).unwrap().votes, 1);
    let theirs = ListFilter {
        agent: Some("agent-1".into()),
        ..ListFilter::default()
    };
    assert_eq!(
        ids(&store.list(other, &theirs).await.unwrap()),
        [&format!("{other}-x")]
    );
}

/// A limit of 0 means 100; the limit is applied after the filter.
async fn list_limits(store: &Store, t: &str) {
    let _g = shared().await;
    let inserts = (0..105)
        .map(|i| {
            let status = if i % 2 == 0 {
                Status::Allowed
            } else {
                Status::Denied
            };
            store.insert(record(t, &format!("{t}-{i:03}"), "agent-1", T0 + i, status))
        })
        .collect();
    for r in join_all(inserts).await {
        r.unwrap();
    }
    let l = store.list(t, &ListFilter::default()).await.unwrap();
    assert_eq!(l.len(), 100);
    assert_eq!(l[0].id, format!("{t}-104"));
    assert_eq!(l[99].id, format!("{t}-005"));
    let denied = ListFilter {
        status: Some(Status::Denied),
        limit: 1000,
        ..ListFilter::default()
    };
    let l = store.list(t, &denied).await.unwrap();
    assert_eq!(l.len(), 52);
    assert!(l.iter().all(|r| r.status == Status::Denied));
    assert!(l.windows(2).all(|w| w[0].received_ms > w[1].received_ms));
}

/// A duplicate id is a conflict and changes nothing.
async fn duplicate_id(store: &Store, t: &str) {
    let _g = shared().await;
    let a = record(t, &format!("{t}-dup"), "agent-1", T0, Status::Allowed);
    store.insert(a.clone()).await.unwrap();
    let mut again = record(t, &a.id, "agent-2", T0 + 5, Status::Denied);
    again.call_json = "{}".into();
    match store.insert(again).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a duplicate id must be a conflict: {other:?}"),
    }
    assert_eq!(store.get(t, &a.id).await.unwrap(), Some(stored(&a)));

    // A conflict among concurrent inserts (group-committed together) fails alone.
    let batch: Vec<NewRecord> = (0..20)
        .map(|i| {
            let id = if i == 7 {
                a.id.clone()
            } else {
                format!("{t}-n{i}")
            };
            record(t, &id, "agent-3", T0 + i, Status::Allowed)
        })
        .collect();
    let results = join_all(batch.iter().map(|r| store.insert(r.clone())).collect()).await;
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        } else {
            assert_eq!(r, &Ok(()));
        }
    }
    let all = ListFilter {
        agent: Some("agent-3".into()),
        ..ListFilter::default()
    };
    assert_eq!(store.list(t, &all).await.unwrap().len(), 19);
    assert_eq!(store.get(t, &a.id).await.unwrap(), Some(stored(&a)));
}

/// NotFound across tenants, AlreadyVoted, NotPending, expiry at exactly expires_ms,
/// N-of-M with distinct approvers, and a rejection is final.
async fn vote_rules(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let r = pending(
        t,
        &format!("{t}-v"),
        vec![req("leads", 2), req("security", 1)],
    );
    store.insert(r.clone()).await.unwrap();
    let now = T0 + 100;

    // Tenant isolation: the id exists, but not in this tenant.
    assert_eq!(
        store
            .vote(other, &r.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotFound
    );
    assert_eq!(
        store
            .vote(t, &format!("{t}-nope"), yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotFound
    );
    assert!(must_get(store, t, &r.id).await.votes.is_empty());

    // alice is in both groups but counts once.
    let alice = yes("alice", &["leads", "security"]);
    assert_eq!(
        store.vote(t, &r.id, alice.clone(), now).await.unwrap(),
        VoteOutcome::Recorded(Status::Pending)
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::AlreadyVoted
    );
    // Outside the required groups: recorded, counts for nothing.
    assert_eq!(
        store
            .vote(t, &r.id, yes("eve", &["devs"]), now)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Pending)
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("bob", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Pending)
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("carol", &["leads"]), now + 1)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Approved)
    );
    let got = must_get(store, t, &r.id).await;
    assert_eq!(got.status, Status::Approved);
    assert_eq!(got.resolved_ms, Some(now + 1));
    assert_eq!(
        got.resolution.as_deref(),
        Some("approved by alice, bob, carol")
    );
    assert_eq!(got.votes.len(), 4);
    assert_eq!(got.votes[0], alice);
    assert_eq!(
        store
            .vote(t, &r.id, yes("dave", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Approved)
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Approved),
        "the status is checked before the approver"
    );

    // One rejection is final.
    let r2 = pending(t, &format!("{t}-v2"), vec![req("leads", 2)]);
    store.insert(r2.clone()).await.unwrap();
    assert_eq!(
        store
            .vote(t, &r2.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Pending)
    );
    assert_eq!(
        store
            .vote(
                t,
                &r2.id,
                vote("bob", &["leads"], false, "too risky"),
                now + 2
            )
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Rejected)
    );
    let got = must_get(store, t, &r2.id).await;
    assert_eq!(got.status, Status::Rejected);
    assert_eq!(got.resolved_ms, Some(now + 2));
    assert_eq!(
        got.resolution.as_deref(),
        Some("rejected by bob: too risky")
    );
    assert_eq!(
        store
            .vote(t, &r2.id, yes("carol", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Rejected)
    );

    // Expiry: still open 1 ms before expires_ms, expired at exactly expires_ms.
    let r3 = pending(t, &format!("{t}-v3"), vec![req("leads", 2)]);
    store.insert(r3.clone()).await.unwrap();
    let expires = r3.expires_ms.unwrap();
    assert_eq!(
        store
            .vote(t, &r3.id, yes("alice", &["leads"]), expires - 1)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Pending)
    );
    assert_eq!(
        store
            .vote(t, &r3.id, yes("bob", &["leads"]), expires)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Expired)
    );
    let got = must_get(store, t, &r3.id).await;
    assert_eq!(got.status, Status::Expired);
    assert_eq!(got.resolved_ms, Some(expires));
    assert!(
        got.resolution
            .as_deref()
            .unwrap_or("")
            .starts_with("expired")
    );
    assert_eq!(got.votes.len(), 1, "the late vote is not recorded");

    // Votes on a record that was never pending.
    let r4 = record(t, &format!("{t}-v4"), "agent-1", T0, Status::Allowed);
    store.insert(r4.clone()).await.unwrap();
    assert_eq!(
        store
            .vote(t, &r4.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Allowed)
    );
}

/// 20 distinct approvers vote at once on a 3-approval request: exactly one vote
/// approves it, no vote is lost, the rest are refused. The same approver voting 10
/// times at once is recorded once.
async fn concurrent_votes(store: &Store, t: &str) {
    let _g = shared().await;
    let r = pending(t, &format!("{t}-cv"), vec![req("leads", 3)]);
    store.insert(r.clone()).await.unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("approver-{i:02}")).collect();
    let votes = names
        .iter()
        .map(|n| store.vote(t, &r.id, yes(n, &["leads"]), T0 + 100))
        .collect();
    let outcomes: Vec<VoteOutcome> = join_all(votes)
        .await
        .into_iter()
        .map(|o| o.unwrap())
        .collect();
    let count = |o: &VoteOutcome| outcomes.iter().filter(|x| *x == o).count();
    assert_eq!(
        count(&VoteOutcome::Recorded(Status::Approved)),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        count(&VoteOutcome::Recorded(Status::Pending)),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        count(&VoteOutcome::NotPending(Status::Approved)),
        17,
        "{outcomes:?}"
    );
    let got = must_get(store, t, &r.id).await;
    assert_eq!(got.status, Status::Approved);
    let recorded: Vec<&str> = names
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, VoteOutcome::Recorded(_)))
        .map(|(n, _)| n.as_str())
        .collect();
    let mut stored_voters: Vec<&str> = got.votes.iter().map(|v| v.approver.as_str()).collect();
    stored_voters.sort_unstable();
    assert_eq!(
        stored_voters, recorded,
        "every recorded vote is stored, no other"
    );

    let r2 = pending(t, &format!("{t}-cv2"), vec![req("leads", 2)]);
    store.insert(r2.clone()).await.unwrap();
    let votes = (0..10)
        .map(|_| store.vote(t, &r2.id, yes("alice", &["leads"]), T0 + 100))
        .collect();
    let outcomes: Vec<VoteOutcome> = join_all(votes)
        .await
        .into_iter()
        .map(|o| o.unwrap())
        .collect();
    let recorded = outcomes
        .iter()
        .filter(|o| **o == VoteOutcome::Recorded(Status::Pending))
        .count();
    let already = outcomes
        .iter()
        .filter(|o| **o == VoteOutcome::AlreadyVoted)
        .count();
    assert_eq!((recorded, already), (1, 9), "{outcomes:?}");
    assert_eq!(must_get(store, t, &r2.id).await.votes.len(), 1);
}

/// Consuming: only Approved, only with the right digest and tenant, exactly once
/// even when attempted concurrently.
async fn consume_once(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let r = pending(t, &format!("{t}-c"), vec![req("leads", 1)]);
    store.insert(r.clone()).await.unwrap();
    let now = T0 + 50;
    assert!(
        store
            .consume(t, &r.id, &r.digest, now)
            .await
            .unwrap()
            .is_none(),
        "not approved yet"
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("alice", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Approved)
    );
    assert!(
        store
            .consume(t, &r.id, "another-digest", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consume(other, &r.id, &r.digest, now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consume(t, &format!("{t}-none"), &r.digest, now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(status_of(store, t, &r.id).await, Status::Approved);

    let attempts = (0..10)
        .map(|_| store.consume(t, &r.id, &r.digest, now))
        .collect();
    let won = join_all(attempts)
        .await
        .into_iter()
        .map(|o| o.unwrap())
        .filter(|w| *w == Some(0))
        .count();
    assert_eq!(won, 1, "exactly one concurrent consume succeeds");
    let got = must_get(store, t, &r.id).await;
    assert_eq!(got.status, Status::Consumed);
    assert_eq!(got.resolution.as_deref(), Some("approved by alice"));
    assert!(
        store
            .consume(t, &r.id, &r.digest, now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .vote(t, &r.id, yes("bob", &["leads"]), now)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Consumed)
    );
    // An Allowed record is never consumable.
    let a = record(t, &format!("{t}-allowed"), "agent-1", T0, Status::Allowed);
    store.insert(a.clone()).await.unwrap();
    assert!(
        store
            .consume(t, &a.id, &a.digest, now)
            .await
            .unwrap()
            .is_none()
    );
}

/// A plan approved as a whole: its steps are used exactly in order, each once, and
/// the last one consumes the grant; a grant's clock starts at approval.
async fn plan_steps_in_order(store: &Store, t: &str) {
    let _g = shared().await;
    let plan = NewRecord {
        kind: Kind::Plan,
        digest: "s1 s2 s1".into(),
        use_within_ms: Some(HOUR),
        ..pending(t, &format!("{t}-plan"), vec![req("leads", 1)])
    };
    store.insert(plan.clone()).await.unwrap();
    let got = must_get(store, t, &plan.id).await;
    assert_eq!((got.kind, got.steps_used), (Kind::Plan, 0));
    assert_eq!(got.step_digests(), ["s1", "s2", "s1"]);
    assert_eq!(
        store.consume(t, &plan.id, "s1", T0).await.unwrap(),
        None,
        "pending"
    );

    // Approved late: the grant runs from the approval, not from the request.
    let approved_at = plan.expires_ms.unwrap() - 1;
    assert_eq!(
        store
            .vote(t, &plan.id, yes("alice", &["leads"]), approved_at)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Approved)
    );
    assert_eq!(
        must_get(store, t, &plan.id).await.expires_ms,
        Some(approved_at + HOUR)
    );
    let now = approved_at + 10;
    assert_eq!(
        store.consume(t, &plan.id, "s2", now).await.unwrap(),
        None,
        "out of order"
    );
    assert_eq!(
        store.consume(t, &plan.id, "s1", now).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        store.consume(t, &plan.id, "s1", now).await.unwrap(),
        None,
        "s2 is next"
    );
    // Two callers race for step 2: one wins.
    let attempts = (0..8)
        .map(|_| store.consume(t, &plan.id, "s2", now))
        .collect();
    let won: Vec<Option<u32>> = join_all(attempts)
        .await
        .into_iter()
        .map(|o| o.unwrap())
        .filter(Option::is_some)
        .collect();
    assert_eq!(won, [Some(1)]);
    assert_eq!(must_get(store, t, &plan.id).await.status, Status::Approved);
    assert_eq!(
        store.consume(t, &plan.id, "s1", now).await.unwrap(),
        Some(2)
    );
    let done = must_get(store, t, &plan.id).await;
    assert_eq!((done.status, done.steps_used), (Status::Consumed, 3));
    assert_eq!(
        store.consume(t, &plan.id, "s1", now).await.unwrap(),
        None,
        "used up"
    );
}

/// An approved grant not used before it runs out expires: it cannot be used, and
/// the resolution keeps who approved it.
async fn grants_expire(store: &Store, t: &str) {
    let _g = exclusive().await;
    // Small times, as in `expire_due`.
    let r = NewRecord {
        received_ms: 1_000,
        expires_ms: Some(2_000),
        use_within_ms: Some(500),
        ..pending(t, &format!("{t}-grant"), vec![req("leads", 1)])
    };
    store.insert(r.clone()).await.unwrap();
    assert_eq!(
        store
            .vote(t, &r.id, yes("alice", &["leads"]), 1_900)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Approved)
    );
    assert_eq!(
        store.consume(t, &r.id, &r.digest, 2_400).await.unwrap(),
        None,
        "ran out at 2,400"
    );
    assert_eq!(status_of(store, t, &r.id).await, Status::Approved);
    let due = store.expire_due(2_400).await.unwrap();
    assert!(due.contains(&(t.to_owned(), r.id.clone())), "{due:?}");
    let got = must_get(store, t, &r.id).await;
    assert_eq!(got.status, Status::Expired);
    assert_eq!(got.resolved_ms, Some(1_900), "approval time kept");
    assert_eq!(
        got.resolution.as_deref(),
        Some("approved by alice; expired: not used before the approval ran out")
    );
    assert_eq!(
        store.consume(t, &r.id, &r.digest, 2_000).await.unwrap(),
        None
    );
}

/// Spot checks: sampled records wait in the review queue; one verdict each; a
/// record that was not sampled cannot be reviewed; another tenant sees nothing.
async fn spot_checks(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let sampled = NewRecord {
        review_due: true,
        ..record(t, &format!("{t}-s1"), "agent-1", T0, Status::Allowed)
    };
    let sampled2 = NewRecord {
        review_due: true,
        ..record(t, &format!("{t}-s2"), "agent-1", T0 + 1, Status::Allowed)
    };
    let plain = record(t, &format!("{t}-p"), "agent-1", T0 + 2, Status::Allowed);
    for r in [&sampled, &sampled2, &plain] {
        store.insert(r.clone()).await.unwrap();
    }
    assert_eq!(
        store.get(t, &sampled.id).await.unwrap(),
        Some(stored(&sampled))
    );
    assert_eq!(store.count_reviews_due(Some(t)).await.unwrap(), 2);
    assert_eq!(store.count_reviews_due(Some(other)).await.unwrap(), 0);
    let due = ListFilter {
        review: Some(ReviewState::Due),
        ..ListFilter::default()
    };
    assert_eq!(
        ids(&store.list(t, &due).await.unwrap()),
        [&sampled2.id, &sampled.id]
    );
    assert!(store.list(other, &due).await.unwrap().is_empty());

    let verdict = |who: &str, wrong: bool| Review {
        reviewer: who.into(),
        wrong,
        comment: format!("{who} says {wrong}"),
        at_ms: T0 + 10,
    };
    assert_eq!(
        store
            .review(other, &sampled.id, verdict("eve", false))
            .await
            .unwrap(),
        ReviewOutcome::NotFound
    );
    assert_eq!(
        store
            .review(t, &plain.id, verdict("carol", true))
            .await
            .unwrap(),
        ReviewOutcome::NotSampled
    );
    assert_eq!(
        store
            .review(t, &sampled.id, verdict("carol", true))
            .await
            .unwrap(),
        ReviewOutcome::Recorded(ReviewState::Wrong)
    );
    assert_eq!(
        store
            .review(t, &sampled.id, verdict("dave", false))
            .await
            .unwrap(),
        ReviewOutcome::AlreadyReviewed(verdict("carol", true))
    );
    let got = must_get(store, t, &sampled.id).await;
    assert_eq!(got.review_state, Some(ReviewState::Wrong));
    assert_eq!(got.review, Some(verdict("carol", true)));
    assert_eq!(store.count_reviews_due(Some(t)).await.unwrap(), 1);
    let wrong = ListFilter {
        review: Some(ReviewState::Wrong),
        ..ListFilter::default()
    };
    assert_eq!(ids(&store.list(t, &wrong).await.unwrap()), [&sampled.id]);
    // Concurrent reviewers: exactly one verdict lands.
    let attempts = ["x", "y", "z"]
        .into_iter()
        .map(|w| store.review(t, &sampled2.id, verdict(w, false)))
        .collect();
    let recorded = join_all(attempts)
        .await
        .into_iter()
        .filter(|o| matches!(o, Ok(ReviewOutcome::Recorded(ReviewState::Ok))))
        .count();
    assert_eq!(recorded, 1);
    assert_eq!(store.count_reviews_due(Some(t)).await.unwrap(), 0);
}

/// expire_due expires exactly the Pending records with expires_ms <= now.
async fn expire_due(store: &Store, t: &str) {
    let _g = exclusive().await;
    // Small times: no other scenario has records due this early.
    let mk = |i: i64, status: Status| {
        let mut r = record(t, &format!("{t}-e{i}"), "agent-1", 10 * i, status);
        r.expires_ms = Some(100 * i);
        r
    };
    let (e1, e2, e3) = (
        mk(1, Status::Pending),
        mk(2, Status::Pending),
        mk(3, Status::Pending),
    );
    let allowed = mk(4, Status::Allowed);
    for r in [&e1, &e2, &e3, &allowed] {
        store.insert(r.clone()).await.unwrap();
    }
    let mine = |v: Vec<(String, String)>| -> Vec<String> {
        v.into_iter()
            .filter(|(tn, _)| tn == t)
            .map(|(_, id)| id)
            .collect()
    };
    assert!(mine(store.expire_due(99).await.unwrap()).is_empty());
    let mut due = mine(store.expire_due(200).await.unwrap());
    due.sort();
    assert_eq!(due, [e1.id.clone(), e2.id.clone()]);
    for r in [&e1, &e2] {
        let got = must_get(store, t, &r.id).await;
        assert_eq!(got.status, Status::Expired);
        assert_eq!(got.resolved_ms, Some(200));
        assert_eq!(
            got.resolution.as_deref(),
            Some("expired: nobody approved in time")
        );
    }
    assert_eq!(status_of(store, t, &e3.id).await, Status::Pending);
    assert!(
        mine(store.expire_due(200).await.unwrap()).is_empty(),
        "only once"
    );
    assert_eq!(
        store
            .vote(t, &e1.id, yes("alice", &["leads"]), 150)
            .await
            .unwrap(),
        VoteOutcome::NotPending(Status::Expired)
    );
    assert_eq!(
        mine(store.expire_due(10_000).await.unwrap()),
        std::slice::from_ref(&e3.id)
    );
    assert_eq!(status_of(store, t, &allowed.id).await, Status::Allowed);
    assert_eq!(store.count_pending(Some(t)).await.unwrap(), 0);
}

fn halt(tenant: &str, scope: Scope, reason: &str) -> Halt {
    Halt {
        tenant: tenant.into(),
        scope,
        reason: reason.into(),
        by: "admin".into(),
        at_ms: T0 + 500,
    }
}

fn halts_of(halts: Vec<Halt>, tenant: &str) -> Vec<Halt> {
    halts.into_iter().filter(|h| h.tenant == tenant).collect()
}

/// Halts of scope Agent, Zone and Tenant reject the tenant's Pending records in
/// scope, nothing else; resume removes them.
async fn halt_scopes(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let mk = |tenant: &str, n: &str, agent: &str, zone: &str, status: Status| {
        let mut r = record(tenant, &format!("{tenant}-{n}"), agent, T0, status);
        r.zone = Some(zone.into());
        r
    };
    let a1 = mk(t, "a1", "agent-1", "z1", Status::Pending);
    let a1b = mk(t, "a1b", "agent-1", "z2", Status::Pending);
    let a2 = mk(t, "a2", "agent-2", "z2", Status::Pending);
    let a3 = mk(t, "a3", "agent-3", "z1", Status::Pending);
    let mut nozone = mk(t, "nz", "agent-4", "", Status::Pending);
    nozone.zone = None;
    let allowed = mk(t, "ok", "agent-1", "z1", Status::Allowed);
    let approved = mk(t, "ap", "agent-1", "z1", Status::Pending);
    let foreign = mk(other, "f", "agent-1", "z1", Status::Pending);
    for r in [&a1, &a1b, &a2, &a3, &nozone, &allowed, &approved, &foreign] {
        store.insert(r.clone()).await.unwrap();
    }
    assert_eq!(
        store
            .vote(t, &approved.id, yes("alice", &["leads"]), T0 + 1)
            .await
            .unwrap(),
        VoteOutcome::Recorded(Status::Approved)
    );

    // Pending requests and unused grants in scope are rejected.
    let h = halt(t, Scope::Agent("agent-1".into()), "runaway");
    assert_eq!(store.halt(&h).await.unwrap(), 3);
    for r in [&a1, &a1b, &approved] {
        let got = must_get(store, t, &r.id).await;
        assert_eq!(got.status, Status::Rejected);
        assert_eq!(got.resolution.as_deref(), Some("halted: runaway"));
        assert_eq!(got.resolved_ms, Some(h.at_ms));
    }
    assert_eq!(status_of(store, t, &allowed.id).await, Status::Allowed);
    assert!(
        store
            .consume(t, &approved.id, &approved.digest, T0 + 2)
            .await
            .unwrap()
            .is_none(),
        "a halted grant lets nothing through"
    );
    assert_eq!(
        halts_of(store.halts().await.unwrap(), t),
        std::slice::from_ref(&h)
    );

    // The same scope again replaces the halt.
    let h2 = halt(t, Scope::Agent("agent-1".into()), "still runaway");
    assert_eq!(store.halt(&h2).await.unwrap(), 0);
    assert_eq!(
        halts_of(store.halts().await.unwrap(), t),
        std::slice::from_ref(&h2)
    );

    let hz = halt(t, Scope::Zone("z1".into()), "zone down");
    assert_eq!(store.halt(&hz).await.unwrap(), 1);
    assert_eq!(status_of(store, t, &a3.id).await, Status::Rejected);
    assert_eq!(status_of(store, t, &a2.id).await, Status::Pending);
    assert_eq!(status_of(store, other, &foreign.id).await, Status::Pending);

    let ht = halt(t, Scope::Tenant, "stop all");
    assert_eq!(store.halt(&ht).await.unwrap(), 2);
    assert_eq!(status_of(store, t, &a2.id).await, Status::Rejected);
    assert_eq!(status_of(store, t, &nozone.id).await, Status::Rejected);
    assert_eq!(status_of(store, other, &foreign.id).await, Status::Pending);
    assert_eq!(store.count_pending(Some(t)).await.unwrap(), 0);
    assert_eq!(store.count_pending(Some(other)).await.unwrap(), 1);
    assert_eq!(halts_of(store.halts().await.unwrap(), t).len(), 3);
    assert!(halts_of(store.halts().await.unwrap(), other).is_empty());

    // Resume: only the exact (tenant, scope).
    assert!(
        !store
            .resume(other, &Scope::Tenant, "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(
        !store
            .resume(t, &Scope::Agent("agent-2".into()), "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(
        store
            .resume(t, &Scope::Agent("agent-1".into()), "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(
        !store
            .resume(t, &Scope::Agent("agent-1".into()), "admin", T0 + 600)
            .await
            .unwrap()
    );
    let left = halts_of(store.halts().await.unwrap(), t);
    assert_eq!(left.len(), 2);
    assert!(left.contains(&hz) && left.contains(&ht));
    assert!(
        store
            .resume(t, &Scope::Zone("z1".into()), "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(
        store
            .resume(t, &Scope::Tenant, "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(halts_of(store.halts().await.unwrap(), t).is_empty());
    // Resuming does not bring rejected records back.
    assert_eq!(status_of(store, t, &a2.id).await, Status::Rejected);
}

/// A halt of scope All rejects the Pending records of every tenant.
async fn halt_all_tenants(store: &Store, t: &str, other: &str) {
    let _g = exclusive().await;
    let p1 = record(t, &format!("{t}-p"), "agent-1", T0, Status::Pending);
    let p2 = record(other, &format!("{other}-p"), "agent-9", T0, Status::Pending);
    let ok = record(
        other,
        &format!("{other}-ok"),
        "agent-9",
        T0,
        Status::Allowed,
    );
    for r in [&p1, &p2, &ok] {
        store.insert(r.clone()).await.unwrap();
    }
    let h = halt(t, Scope::All, "incident");
    assert!(store.halt(&h).await.unwrap() >= 2);
    assert_eq!(status_of(store, t, &p1.id).await, Status::Rejected);
    let got = must_get(store, other, &p2.id).await;
    assert_eq!(got.status, Status::Rejected);
    assert_eq!(got.resolution.as_deref(), Some("halted: incident"));
    assert_eq!(status_of(store, other, &ok.id).await, Status::Allowed);
    assert_eq!(store.count_pending(Some(t)).await.unwrap(), 0);
    assert_eq!(store.count_pending(Some(other)).await.unwrap(), 0);
    assert_eq!(halts_of(store.halts().await.unwrap(), t), [h]);
    assert!(
        store
            .resume(t, &Scope::All, "admin", T0 + 600)
            .await
            .unwrap()
    );
    assert!(halts_of(store.halts().await.unwrap(), t).is_empty());
}

/// Fixed-window counters: exact, per key and window, never over-admitting.
async fn take_limits(store: &Store, t: &str) {
    let _g = shared().await;
    let key = format!("{t}/calls");
    let w = T0;
    assert!(store.take(&key, w, 4, 10).await.unwrap());
    assert!(store.take(&key, w, 4, 10).await.unwrap());
    assert!(!store.take(&key, w, 4, 10).await.unwrap(), "8 + 4 > 10");
    assert!(store.take(&key, w, 2, 10).await.unwrap(), "8 + 2 = 10");
    assert!(!store.take(&key, w, 1, 10).await.unwrap());
    assert!(
        store.take(&key, w + 60_000, 10, 10).await.unwrap(),
        "a new window"
    );
    assert!(
        store.take(&format!("{t}/other"), w, 10, 10).await.unwrap(),
        "another key"
    );
    assert!(!store.take(&format!("{t}/big"), w, 11, 10).await.unwrap());
    assert!(
        store.take(&format!("{t}/big"), w, 10, 10).await.unwrap(),
        "the refusal took nothing"
    );

    // 50 concurrent callers wanting 2 each from 50: exactly 25 succeed.
    let key = format!("{t}/burst");
    let calls = (0..50).map(|_| store.take(&key, w, 2, 50)).collect();
    let ok = join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|b| *b)
        .count();
    assert_eq!(ok * 2, 50);
    assert!(!store.take(&key, w, 1, 50).await.unwrap());

    // Mixed amounts: never more than the limit.
    let key = format!("{t}/mixed");
    let amounts: Vec<u64> = (0..50).map(|i| 1 + i % 5).collect();
    let calls = amounts
        .iter()
        .map(|a| store.take(&key, w, *a, 37))
        .collect();
    let taken: u64 = join_all(calls)
        .await
        .into_iter()
        .zip(&amounts)
        .map(|(r, a)| if r.unwrap() { *a } else { 0 })
        .sum();
    // Whatever the order: below 33 every request (at most 5) would still fit.
    assert!((33..=37).contains(&taken), "took {taken}");
}

/// Credentials: put, look up by hash, rotate, revoke, list.
async fn credentials(store: &Store, t: &str, other: &str) {
    let _g = shared().await;
    let cred = |name: &str, principal: Principal, hash: &str, roles: &[&str]| Credential {
        tenant: t.into(),
        name: name.into(),
        principal,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        token_hash: format!("{t}-{hash}"),
        created_ms: T0,
        revoked: false,
    };
    let agent = cred("deploy-bot", Principal::Agent, "h1", &[]);
    let agent2 = cred("a-bot", Principal::Agent, "h2", &[]);
    let alice = cred(
        "alice",
        Principal::Human,
        "h3",
        &["approver", "group:leads"],
    );
    for c in [&agent, &agent2, &alice] {
        store.put_credential(c).await.unwrap();
    }
    assert_eq!(
        store.credential(&agent.token_hash).await.unwrap(),
        Some(agent.clone())
    );
    assert_eq!(
        store.credential(&alice.token_hash).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.credential(&format!("{t}-nope")).await.unwrap(), None);
    assert_eq!(
        store.credentials(t).await.unwrap(),
        [agent2.clone(), agent.clone(), alice.clone()],
        "by principal, then name"
    );
    assert!(store.credentials(other).await.unwrap().is_empty());

    // Rotation: the old hash stops resolving at once.
    let mut rotated = agent.clone();
    rotated.token_hash = format!("{t}-h1-new");
    rotated.created_ms = T0 + 10;
    store.put_credential(&rotated).await.unwrap();
    assert_eq!(store.credential(&agent.token_hash).await.unwrap(), None);
    assert_eq!(
        store.credential(&rotated.token_hash).await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(store.credentials(t).await.unwrap().len(), 3);

    // The same name as an agent and as a human are two credentials.
    let alice_agent = cred("alice", Principal::Agent, "h4", &[]);
    store.put_credential(&alice_agent).await.unwrap();
    assert_eq!(store.credentials(t).await.unwrap().len(), 4);
    assert_eq!(
        store.credential(&alice.token_hash).await.unwrap(),
        Some(alice.clone())
    );

    // A token hash belongs to one credential.
    let thief = cred("mallory", Principal::Human, "h3", &["admin"]);
    assert!(matches!(
        store.put_credential(&thief).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.credential(&alice.token_hash).await.unwrap(),
        Some(alice.clone())
    );

    // Revocation: still found, marked revoked; only once; only the exact credential.
    assert!(
        !store
            .revoke(other, "alice", Principal::Human)
            .await
            .unwrap()
    );
    assert!(!store.revoke(t, "nobody", Principal::Human).await.unwrap());
    assert!(store.revoke(t, "alice", Principal::Human).await.unwrap());
    assert!(!store.revoke(t, "alice", Principal::Human).await.unwrap());
    let revoked = store.credential(&alice.token_hash).await.unwrap().unwrap();
    assert!(revoked.revoked);
    assert!(
        !store
            .credential(&alice_agent.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
}

/// Everything acknowledged is there after the store is closed and opened again, and
/// a Pending record still expires. `open` opens the same store each time.
async fn durable_across_reopen<F, Fut>(open: F, t: &str)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Store>,
{
    let _g = exclusive().await;
    let mut r = pending(t, &format!("{t}-d"), vec![req("leads", 2)]);
    r.received_ms = 1;
    r.expires_ms = Some(1_000);
    let done = record(t, &format!("{t}-done"), "agent-2", 2, Status::Allowed);
    let alice = yes("alice", &["leads"]);
    let cred = Credential {
        tenant: t.into(),
        name: "alice".into(),
        principal: Principal::Human,
        roles: vec!["approver".into()],
        token_hash: format!("{t}-hash"),
        created_ms: 3,
        revoked: false,
    };
    let h = halt(t, Scope::Agent("agent-3".into()), "paused");
    {
        let store = open().await;
        store.insert(r.clone()).await.unwrap();
        store.insert(done.clone()).await.unwrap();
        assert_eq!(
            store.vote(t, &r.id, alice.clone(), 10).await.unwrap(),
            VoteOutcome::Recorded(Status::Pending)
        );
        store.put_credential(&cred).await.unwrap();
        store.halt(&h).await.unwrap();
        assert!(store.take(&format!("{t}/k"), 0, 7, 10).await.unwrap());
    }
    let store = open().await;
    let got = must_get(&store, t, &r.id).await;
    assert_eq!(got.status, Status::Pending);
    assert_eq!(got.votes, [alice]);
    assert_eq!(store.get(t, &done.id).await.unwrap(), Some(stored(&done)));
    assert_eq!(
        store.credential(&cred.token_hash).await.unwrap(),
        Some(cred)
    );
    assert_eq!(halts_of(store.halts().await.unwrap(), t), [h]);
    assert!(
        !store.take(&format!("{t}/k"), 0, 4, 10).await.unwrap(),
        "the counter survived"
    );
    let due: Vec<_> = store
        .expire_due(1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|(tn, _)| tn == t)
        .collect();
    assert_eq!(due, [(t.to_owned(), r.id.clone())]);
    assert_eq!(status_of(&store, t, &r.id).await, Status::Expired);
    assert!(
        store
            .resume(t, &Scope::Agent("agent-3".into()), "admin", 20)
            .await
            .unwrap()
    );
}

// =================================================================================
// SQLite.

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        TempDir(std::env::temp_dir().join(unique("airlock-store-test")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sqlite() -> (Store, TempDir) {
    let dir = TempDir::new();
    let store = Store::open_sqlite(&dir.0).await.unwrap();
    (store, dir)
}

/// `name(args…)` runs the scenario `name(&store, args…)` on a fresh SQLite store.
macro_rules! sqlite_tests {
    ($($name:ident($($arg:expr),*);)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = sqlite().await;
                    super::$name(&store, $($arg),*).await;
                }
            )*
        }
    };
}

sqlite_tests! {
    round_trip(&unique("t"), &unique("u"));
    brief_listing_and_agent_history(&unique("t"), &unique("u"));
    list_limits(&unique("t"));
    duplicate_id(&unique("t"));
    vote_rules(&unique("t"), &unique("u"));
    concurrent_votes(&unique("t"));
    consume_once(&unique("t"), &unique("u"));
    expire_due(&unique("t"));
    halt_scopes(&unique("t"), &unique("u"));
    halt_all_tenants(&unique("t"), &unique("u"));
    take_limits(&unique("t"));
    credentials(&unique("t"), &unique("u"));
    plan_steps_in_order(&unique("t"));
    grants_expire(&unique("t"));
    spot_checks(&unique("t"), &unique("u"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_durable_across_reopen() {
    let dir = TempDir::new();
    let open = || async { Store::open_sqlite(&dir.0).await.unwrap() };
    durable_across_reopen(open, &unique("t")).await;
    // Opening runs the migrations again: a no-op.
    durable_across_reopen(open, &unique("t")).await;
}

/// Two stores on one file in one process (two writer threads, two connections):
/// BEGIN IMMEDIATE serializes their writes, so nothing is lost or over-admitted.
/// (Several processes on one data directory are not a supported deployment.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_stores_on_one_file() {
    let dir = TempDir::new();
    let a = Store::open_sqlite(&dir.0).await.unwrap();
    let b = Store::open_sqlite(&dir.0).await.unwrap();
    let t = unique("t");
    let inserts = (0..200)
        .map(|i| {
            let s = if i % 2 == 0 { &a } else { &b };
            s.insert(record(
                &t,
                &format!("{t}-{i:03}"),
                "agent-1",
                T0 + i,
                Status::Allowed,
            ))
        })
        .collect();
    for r in join_all(inserts).await {
        r.unwrap();
    }
    let takes = (0..40)
        .map(|i| (if i % 2 == 0 { &a } else { &b }).take("shared", 0, 1, 25))
        .collect();
    let ok = join_all(takes)
        .await
        .into_iter()
        .filter(|r| r == &Ok(true))
        .count();
    assert_eq!(ok, 25);
    let all = ListFilter {
        limit: 1000,
        ..ListFilter::default()
    };
    assert_eq!(a.list(&t, &all).await.unwrap().len(), 200);
    assert_eq!(b.list(&t, &all).await.unwrap().len(), 200);
}

/// A data directory that cannot be created is Unavailable, not a panic.
#[tokio::test]
async fn sqlite_unusable_directory() {
    let dir = TempDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    match Store::open_sqlite(&file.join("data")).await {
        Err(StoreError::Unavailable(_)) => {}
        Err(e) => panic!("expected Unavailable, got {e}"),
        Ok(_) => panic!("opened a store under a file"),
    }
}

/// Informal throughput of group-committed inserts (`--ignored`; build with
/// `--release` for meaningful numbers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn sqlite_insert_throughput() {
    let (store, _dir) = sqlite().await;
    let t = unique("t");
    let store = std::sync::Arc::new(store);
    let start = std::time::Instant::now();
    let per_task = 2_000;
    let n_tasks: i64 = std::env::var("AIRLOCK_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let tasks: Vec<_> = (0..n_tasks)
        .map(|k| {
            let store = store.clone();
            let t = t.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    let id = format!("{t}-{k}-{i}");
                    store
                        .insert(record(&t, &id, "agent-1", T0 + i, Status::Pending))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let n = n_tasks * per_task;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{n} inserts by {n_tasks} tasks in {secs:.2} s: {:.0}/s",
        n as f64 / secs
    );
    let pending = ListFilter {
        status: Some(Status::Pending),
        limit: 10_000,
        ..ListFilter::default()
    };
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let l = store.list(&t, &pending).await.unwrap();
        eprintln!("list of {} pending records: {:?}", l.len(), start.elapsed());
        assert_eq!(l.len() as i64, n.min(10_000));
    }
}

// =================================================================================
// PostgreSQL.
//
// The same scenarios against a PostgreSQL database, when AIRLOCK_TEST_POSTGRES_URL
// is set (CI sets it). The wrappers go here: each opens the store from
// `postgres_url()` (skipping when it is None) and calls the scenario with fresh
// tenant names, exactly as the SQLite wrappers above do; `durable_across_reopen`
// takes a closure that connects again.

fn postgres_url() -> Option<String> {
    std::env::var("AIRLOCK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `name(args…)` runs the scenario `name(&store, args…)` on PostgreSQL, if configured.
macro_rules! postgres_tests {
    ($($name:ident($($arg:expr),*);)*) => {
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(url) = postgres_url() else { return };
                    let store = Store::connect_postgres(&url).await.unwrap();
                    super::$name(&store, $($arg),*).await;
                }
            )*
        }
    };
}

postgres_tests! {
    round_trip(&unique("t"), &unique("u"));
    brief_listing_and_agent_history(&unique("t"), &unique("u"));
    list_limits(&unique("t"));
    duplicate_id(&unique("t"));
    vote_rules(&unique("t"), &unique("u"));
    concurrent_votes(&unique("t"));
    consume_once(&unique("t"), &unique("u"));
    expire_due(&unique("t"));
    halt_scopes(&unique("t"), &unique("u"));
    halt_all_tenants(&unique("t"), &unique("u"));
    take_limits(&unique("t"));
    credentials(&unique("t"), &unique("u"));
    plan_steps_in_order(&unique("t"));
    grants_expire(&unique("t"));
    spot_checks(&unique("t"), &unique("u"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_durable_across_reopen() {
    let Some(url) = postgres_url() else { return };
    let open = || async { Store::connect_postgres(&url).await.unwrap() };
    durable_across_reopen(open, &unique("t")).await;
}

/// The ledger checkpoint record swaps only from what it holds: the first writer
/// creates it, a second "first" writer is refused, an update from a stale note is
/// refused, an update from the current one lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledger_checkpoints_swap_only_from_what_they_hold() {
    let Some(url) = postgres_url() else { return };
    let Store::Postgres(store) = Store::connect_postgres(&url).await.unwrap() else {
        panic!("a PostgreSQL store");
    };
    let pg = store.ledger_checkpoints();
    let origin = unique("airlock/test-");
    assert_eq!(pg.ledger_checkpoint(&origin).await.unwrap(), None);
    assert!(
        pg.swap_ledger_checkpoint(&origin, None, "one", 1)
            .await
            .unwrap()
    );
    assert!(
        !pg.swap_ledger_checkpoint(&origin, None, "other", 2)
            .await
            .unwrap()
    );
    assert!(
        !pg.swap_ledger_checkpoint(&origin, Some("stale"), "two", 3)
            .await
            .unwrap()
    );
    assert_eq!(
        pg.ledger_checkpoint(&origin).await.unwrap().as_deref(),
        Some("one")
    );
    assert!(
        pg.swap_ledger_checkpoint(&origin, Some("one"), "two", 4)
            .await
            .unwrap()
    );
    assert_eq!(
        pg.ledger_checkpoint(&origin).await.unwrap().as_deref(),
        Some("two")
    );
}
