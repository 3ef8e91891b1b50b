//! `airlock serve`, driven over HTTP the way agents and approvers drive it: the real
//! binary, a real socket, a real store on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::PathBuf;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// One test's service on one backend: its own tenant, admin token and policy file.
/// `start` again restarts it on the same store.
struct Svc {
    backend: Backend,
    tenant: String,
    admin: String,
    policy: PathBuf,
}

impl Svc {
    /// The built-in default policy changed by `edit`.
    fn new(backend: Backend, edit: &dyn Fn(String) -> String) -> Svc {
        Svc {
            policy: backend.policy(edit),
            tenant: unique("t"),
            admin: unique("al_admin_"),
            backend,
        }
    }

    fn start(&self) -> Server {
        self.backend
            .start(&self.tenant, &self.admin, Some(&self.policy))
    }
}

use serde_json::{Value, json};

fn a_held_action_waits_for_a_human_then_runs_once(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let admin = s
        .admin
        .clone()
        .expect("a fresh store prints the admin token");
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&s, "alice");

    // Reads go through; a namespace deletion is held.
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("kubectl get pods -n prod"),
    );
    assert_eq!((code, v["status"].as_str()), (200, Some("allowed")), "{v}");
    let call = bash("kubectl delete deployment api -n prod");
    let (code, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &call);
    assert_eq!(code, 200);
    assert_eq!(v["status"], "pending", "{v}");
    let id = v["id"].as_str().unwrap().to_owned();

    // The agent waits; the approval wakes it well before its wait ends.
    let (addr, wait_agent, wait_id) = (s.addr.clone(), agent.clone(), id.clone());
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http(
            &addr,
            "GET",
            &format!("/v1/actions/{wait_id}?wait=20s"),
            Some(&wait_agent),
            "",
        );
        (r, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    // The agent cannot approve itself; the approver can.
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&agent),
        "",
    );
    assert_eq!(code, 403);
    let (code, v) = http(
        &s.addr,
        "GET",
        &format!("/v1/approvals/{id}"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 200);
    assert_eq!(v["action"]["what"]["effect"], "delete", "full context: {v}");
    let (code, v) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&alice),
        r#"{"comment":"planned teardown"}"#,
    );
    assert_eq!((code, v["status"].as_str()), (200, Some("approved")), "{v}");
    let ((code, v), waited) = waiter.join().unwrap();
    assert_eq!((code, v["status"].as_str()), (200, Some("approved")), "{v}");
    assert!(
        waited < Duration::from_secs(5),
        "woken by the approval, not the timeout: {waited:?}"
    );

    // Approving twice changes nothing.
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 409);

    // The approval covers this exact call, once.
    let other = bash("kubectl delete deployment web -n prod");
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/actions?approval={id}"),
        Some(&agent),
        &other,
    );
    assert_eq!(code, 409, "an approval is bound to its call");
    let (code, v) = http(
        &s.addr,
        "POST",
        &format!("/v1/actions?approval={id}"),
        Some(&agent),
        &call,
    );
    assert_eq!((code, v["allowed"].as_bool()), (200, Some(true)), "{v}");
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/actions?approval={id}"),
        Some(&agent),
        &call,
    );
    assert_eq!(code, 409, "single use");
    let _ = admin;
}
on_both_backends!(
    a_held_action_waits_for_a_human_then_runs_once,
    a_held_action_waits_for_a_human_then_runs_once
);

fn callers_must_authenticate_and_bad_input_changes_nothing(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (code, _) = http(&s.addr, "POST", "/v1/actions", None, &bash("ls"));
    assert_eq!(code, 401);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some("al_forged"),
        &bash("ls"),
    );
    assert_eq!(code, 401);
    // Agents cannot use human endpoints; humans cannot submit as agents.
    let (code, _) = http(&s.addr, "GET", "/v1/approvals", Some(&agent), "");
    assert_eq!(code, 403);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        s.admin.as_deref(),
        &bash("ls"),
    );
    assert_eq!(code, 403);
    // Malformed JSON, unknown shapes, unknown fields, another agent's name.
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        "{\"tool_name\": oops}",
    );
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap().contains("line 1"), "{v}");
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        r#"{"colour":"blue"}"#,
    );
    assert_eq!(code, 400);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","effect":"read","efect":"delete"}}"#,
    );
    assert_eq!(code, 400);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        r#"{"who":{"agent":"someone-else"},"what":{"tool":"aws","effect":"read"}}"#,
    );
    assert_eq!(code, 403);
    let big = format!(
        "{{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{{\"command\":\"{}\"}}}}",
        "a".repeat(2 << 20)
    );
    let (code, _) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &big);
    assert_eq!(code, 413);
    // Nothing of that was recorded.
    let (_, v) = http(
        &s.addr,
        "GET",
        "/v1/approvals?status=any",
        s.admin.as_deref(),
        "",
    );
    assert_eq!(v["approvals"].as_array().unwrap().len(), 0, "{v}");
}
on_both_backends!(
    callers_must_authenticate_and_bad_input_changes_nothing,
    callers_must_authenticate_and_bad_input_changes_nothing
);

fn a_halt_denies_at_once_rejects_pending_and_needs_a_human_to_lift(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("kubectl delete deployment api -n prod"),
    );
    let pending = v["id"].as_str().unwrap().to_owned();
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/halt",
        s.admin.as_deref(),
        r#"{"scope":"agent","name":"kiro","reason":"runaway loop"}"#,
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["rejected_pending"], 1);
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
    assert_eq!(v["status"], "denied", "{v}");
    assert_eq!(v["decision"]["rules"][0], "airlock:halt");
    let (_, v) = http(
        &s.addr,
        "GET",
        &format!("/v1/actions/{pending}"),
        Some(&agent),
        "",
    );
    assert_eq!(v["status"], "rejected", "{v}");
    // An agent cannot lift it.
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/resume",
        Some(&agent),
        r#"{"scope":"agent","name":"kiro"}"#,
    );
    assert_eq!(code, 403);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/resume",
        s.admin.as_deref(),
        r#"{"scope":"agent","name":"kiro"}"#,
    );
    assert_eq!(code, 200);
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
    assert_eq!(v["status"], "allowed", "{v}");
}
on_both_backends!(
    a_halt_denies_at_once_rejects_pending_and_needs_a_human_to_lift,
    a_halt_denies_at_once_rejects_pending_and_needs_a_human_to_lift
);

#[test]
fn a_restart_keeps_pending_approvals_and_tokens() {
    let dir = data_dir("restart");
    let (agent, id, admin) = {
        let s = start(&dir);
        let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
        let (_, v) = http(
            &s.addr,
            "POST",
            "/v1/actions",
            Some(&agent),
            &bash("kubectl delete deployment api -n prod"),
        );
        (
            agent,
            v["id"].as_str().unwrap().to_owned(),
            s.admin.clone().unwrap(),
        )
    }; // killed here
    let s = start(&dir);
    assert!(s.admin.is_none(), "no new admin token on an existing store");
    let (code, v) = http(
        &s.addr,
        "GET",
        &format!("/v1/actions/{id}"),
        Some(&agent),
        "",
    );
    assert_eq!((code, v["status"].as_str()), (200, Some("pending")), "{v}");
    let (_, v) = http(&s.addr, "GET", "/v1/approvals", Some(&admin), "");
    assert_eq!(v["approvals"].as_array().unwrap().len(), 1, "{v}");
}

/// Two replicas sharing one PostgreSQL (CI sets `AIRLOCK_TEST_POSTGRES_URL`): an
/// approval given on one wakes the agent waiting on the other, and a halt on one is
/// obeyed by the other within a second.
#[test]
fn two_replicas_share_approvals_and_halts() {
    let Ok(url) = std::env::var("AIRLOCK_TEST_POSTGRES_URL") else {
        eprintln!("AIRLOCK_TEST_POSTGRES_URL is not set: the replica test needs PostgreSQL");
        return;
    };
    let unique = unique("t");
    let admin = format!("al_admin_{unique}");
    let a = start_replica(&url, &unique, &admin);
    let b = start_replica(&url, &unique, &admin);
    let agent = new_key(&a, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&a, "alice");

    let (_, v) = http(
        &a.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("kubectl delete deployment api -n prod"),
    );
    assert_eq!(v["status"], "pending", "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (addr, wait_agent, wait_id) = (a.addr.clone(), agent.clone(), id.clone());
    let waiter = std::thread::spawn(move || {
        http(
            &addr,
            "GET",
            &format!("/v1/actions/{wait_id}?wait=20s"),
            Some(&wait_agent),
            "",
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, v) = http(
        &b.addr,
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&alice),
        "",
    );
    assert_eq!((code, v["status"].as_str()), (200, Some("approved")), "{v}");
    let clicked = Instant::now();
    let (_, v) = waiter.join().unwrap();
    assert_eq!(v["status"], "approved", "{v}");
    assert!(
        clicked.elapsed() < Duration::from_secs(2),
        "{:?}",
        clicked.elapsed()
    );

    let (code, _) = http(
        &b.addr,
        "POST",
        "/v1/halt",
        Some(&admin),
        r#"{"scope":"agent","name":"kiro","reason":"drill"}"#,
    );
    assert_eq!(code, 200);
    let halted = Instant::now();
    loop {
        let (_, v) = http(&a.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
        if v["status"] == "denied" {
            assert_eq!(v["decision"]["rules"][0], "airlock:halt", "{v}");
            break;
        }
        assert!(
            halted.elapsed() < Duration::from_secs(1),
            "the other replica still allows: {v}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Another tenant's tokens see nothing of this tenant: its ids are "not found", its
/// halts do not reach here, and it cannot vote.
#[test]
fn tenants_are_isolated() {
    let dir = data_dir("tenants");
    let (id, agent_a) = {
        let s = start(&dir);
        let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
        let (_, v) = http(
            &s.addr,
            "POST",
            "/v1/actions",
            Some(&agent),
            &bash("kubectl delete deployment api -n prod"),
        );
        (v["id"].as_str().unwrap().to_owned(), agent)
    };
    // The same store, now also administered for tenant `other`.
    let mut cmd = serve_cmd(&dir);
    cmd.args(["--admin-tenant", "other"])
        .env("AIRLOCK_ADMIN_TOKEN", "al_other_admin_token");
    let mut s = launch(cmd);
    s.admin = Some("al_other_admin_token".into());
    let other_agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let other_admin = s.admin.clone().unwrap();
    for (method, path, token) in [
        ("GET", format!("/v1/actions/{id}"), &other_agent),
        ("GET", format!("/v1/actions/{id}"), &other_admin),
        ("GET", format!("/v1/approvals/{id}"), &other_admin),
        ("POST", format!("/v1/approvals/{id}/approve"), &other_admin),
        ("POST", format!("/v1/approvals/{id}/reject"), &other_admin),
    ] {
        let (code, v) = http(&s.addr, method, &path, Some(token), "");
        assert_eq!(code, 404, "{method} {path}: {v}");
    }
    let (_, v) = http(
        &s.addr,
        "GET",
        "/v1/approvals?status=any",
        Some(&other_admin),
        "",
    );
    assert_eq!(v["approvals"].as_array().unwrap().len(), 0, "{v}");
    // A tenant-wide halt of `other` does not stop the first tenant's agent.
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/halt",
        Some(&other_admin),
        r#"{"scope":"tenant","reason":"drill"}"#,
    );
    assert_eq!(code, 200);
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&other_agent),
        &bash("ls"),
    );
    assert_eq!(v["status"], "denied", "{v}");
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent_a), &bash("ls"));
    assert_eq!(v["status"], "allowed", "{v}");
    // The first tenant's request is still pending, untouched.
    let (_, v) = http(
        &s.addr,
        "GET",
        &format!("/v1/actions/{id}"),
        Some(&agent_a),
        "",
    );
    assert_eq!(v["status"], "pending", "{v}");
}

/// Nobody approving means no: a request expires into a denial, the waiting agent
/// learns it, and nothing can be approved afterwards — also across a restart.
fn expiry_means_denial_even_after_a_restart(backend: Backend) {
    let svc = Svc::new(backend, &|p| p.replace("timeout: 1h", "timeout: 2s"));
    let (agent, alice, first) = {
        let s = svc.start();
        let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
        let alice = new_approver(&s, "alice");
        let call = bash("kubectl delete deployment api -n prod");
        let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &call);
        let first = v["id"].as_str().unwrap().to_owned();
        // The agent waits past the expiry: it is told `expired`, not left hanging.
        let t = Instant::now();
        let (_, v) = http(
            &s.addr,
            "GET",
            &format!("/v1/actions/{first}?wait=10s"),
            Some(&agent),
            "",
        );
        assert_eq!(v["status"], "expired", "{v}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let (code, _) = http(
            &s.addr,
            "POST",
            &format!("/v1/approvals/{first}/approve"),
            Some(&alice),
            "",
        );
        assert_eq!(code, 409, "nothing is approved after expiry");
        (agent, alice, first)
    };
    let _ = first;
    // A request left pending when the service stops still expires after a restart.
    let pending = {
        let s = svc.start();
        let (_, v) = http(
            &s.addr,
            "POST",
            "/v1/actions",
            Some(&agent),
            &bash("kubectl delete deployment web -n prod"),
        );
        v["id"].as_str().unwrap().to_owned()
    }; // killed while pending
    std::thread::sleep(Duration::from_millis(2500));
    let s = svc.start();
    let (_, v) = http(
        &s.addr,
        "GET",
        &format!("/v1/actions/{pending}?wait=3s"),
        Some(&agent),
        "",
    );
    assert_eq!(v["status"], "expired", "{v}");
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{pending}/approve"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 409);
}
on_both_backends!(
    expiry_means_denial_even_after_a_restart,
    expiry_means_denial_even_after_a_restart
);

/// A rate limit of N admits exactly N, also when the calls race.
fn a_rate_limit_never_over_admits(backend: Backend) {
    let svc = Svc::new(backend, &|p| {
        p + "\nlimits:\n  - id: reads-per-agent\n    when: { effect: read }\n    per: agent\n    window: 1h\n    max_actions: 5\n    message: slow down and batch your reads\n"
    });
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let (addr, agent) = (s.addr.clone(), agent.clone());
            std::thread::spawn(move || {
                http(&addr, "POST", "/v1/actions", Some(&agent), &bash("ls -la"))
            })
        })
        .collect();
    let answers: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap().1).collect();
    let allowed = answers.iter().filter(|v| v["status"] == "allowed").count();
    assert_eq!(allowed, 5, "{answers:?}");
    let denied = answers
        .iter()
        .find(|v| v["status"] == "denied")
        .expect("the rest are denied");
    assert_eq!(
        denied["decision"]["rules"][0], "limit:reads-per-agent",
        "{denied}"
    );
    assert!(
        denied["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("slow down"),
        "{denied}"
    );
    // Another agent has its own counter.
    let other = new_key(&s, "/v1/agents", json!({"name": "other"}));
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&other), &bash("ls"));
    assert_eq!(v["status"], "allowed", "{v}");
}
on_both_backends!(
    a_rate_limit_never_over_admits,
    a_rate_limit_never_over_admits
);

/// An agent that keeps going over its limits is halted until a human resumes it.
fn the_circuit_breaker_halts_a_runaway_agent(backend: Backend) {
    let svc = Svc::new(backend, &|p| {
        p.replace(
            "defaults:\n",
            "defaults:\n  circuit_breaker: { trips: 2, window: 1h }\n",
        ) + "\nlimits:\n  - id: one-listing\n    when: { tool: ls }\n    per: agent\n    window: 1h\n    max_actions: 1\n"
    });
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let statuses: Vec<String> = (0..4)
        .map(|_| {
            let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
            v["status"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(statuses, ["allowed", "denied", "denied", "denied"]);
    // The third trip halted the agent: now even an unlimited read is denied.
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("git status"),
    );
    assert_eq!(v["decision"]["rules"][0], "airlock:halt", "{v}");
    assert!(
        v["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("circuit breaker"),
        "{v}"
    );
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/resume",
        s.admin.as_deref(),
        r#"{"scope":"agent","name":"kiro"}"#,
    );
    assert_eq!(code, 200);
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("git status"),
    );
    assert_eq!(v["status"], "allowed", "{v}");
}
on_both_backends!(
    the_circuit_breaker_halts_a_runaway_agent,
    the_circuit_breaker_halts_a_runaway_agent
);

/// Keys are listed without secrets, rotate at once, and revoke at once.
fn agent_keys_rotate_and_revoke(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let admin = s.admin.clone().unwrap();
    let first = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&first), &bash("ls"));
    assert_eq!(v["status"], "allowed");
    // Rotation: the new key works, the old one stops.
    let second = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (code, _) = http(&s.addr, "POST", "/v1/actions", Some(&first), &bash("ls"));
    assert_eq!(code, 401);
    let (code, _) = http(&s.addr, "POST", "/v1/actions", Some(&second), &bash("ls"));
    assert_eq!(code, 200);
    let (code, v) = http(&s.addr, "GET", "/v1/agents", Some(&admin), "");
    assert_eq!(code, 200);
    let listed = v.to_string();
    assert!(
        listed.contains("kiro") && !listed.contains(&second) && !listed.contains("hash"),
        "{v}"
    );
    // Revocation.
    let (code, _) = http(&s.addr, "DELETE", "/v1/agents/kiro", Some(&admin), "");
    assert_eq!(code, 200);
    let (code, _) = http(&s.addr, "POST", "/v1/actions", Some(&second), &bash("ls"));
    assert_eq!(code, 401);
    let (code, _) = http(&s.addr, "DELETE", "/v1/agents/kiro", Some(&admin), "");
    assert_eq!(code, 404, "already revoked");
    // Names are validated; agents cannot administer.
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/agents",
        Some(&admin),
        r#"{"name":"bad name\u0000"}"#,
    );
    assert_eq!(code, 400);
    let (code, _) = http(&s.addr, "DELETE", "/v1/humans/admin", Some(&admin), "");
    assert_eq!(code, 409, "an admin cannot lock themselves out");
}
on_both_backends!(agent_keys_rotate_and_revoke, agent_keys_rotate_and_revoke);

/// `/metrics` counts decisions by tier and rule, and shows the approval queue.
#[test]
fn metrics_count_decisions_and_the_queue() {
    let dir = data_dir("metrics");
    let s = start(&dir);
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    for cmd in ["ls", "git status", "kubectl delete deployment api -n prod"] {
        http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash(cmd));
    }
    let (code, _) = http(&s.addr, "GET", "/metrics", Some(&agent), "");
    assert_eq!(code, 403);
    let mut conn = TcpStream::connect(&s.addr).unwrap();
    write!(
        conn,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        s.admin.as_deref().unwrap()
    )
    .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("airlock_decisions_total{tier=\"allow\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("airlock_decisions_total{tier=\"approve\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("airlock_decisions_by_rule_total{rule=\"reads\"} 2"),
        "{text}"
    );
    assert!(text.contains("airlock_approvals_pending 1"), "{text}");
}

/// The policy is swapped whole: a broken edit keeps the one in force, a good edit is
/// picked up without a restart, and every decision names the version it used.
fn the_policy_reloads_whole_or_not_at_all(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let admin = s.admin.clone().unwrap();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (_, v) = http(&s.addr, "GET", "/v1/policy", Some(&admin), "");
    let first = v["version"].as_str().unwrap().to_owned();
    let path = svc.policy.clone();
    let good = std::fs::read_to_string(&path).unwrap();

    std::fs::write(&path, format!("{good}\nrules: [oops\n")).unwrap();
    let (code, v) = http(&s.addr, "POST", "/v1/policy/reload", Some(&admin), "");
    assert_eq!(code, 400, "{v}");
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
    assert_eq!(v["status"], "allowed");
    assert_eq!(v["decision"]["policy"]["version"], first.as_str());

    // A good edit: listing files is now denied. The file watch picks it up.
    let stricter = good.replacen(
        "rules:\n",
        "rules:\n  - id: no-listing\n    when: { tool: ls }\n    then: deny\n",
        1,
    );
    assert_ne!(stricter, good);
    std::fs::write(&path, stricter).unwrap();
    let t = Instant::now();
    loop {
        let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
        if v["status"] == "denied" {
            assert_eq!(v["decision"]["rules"][0], "no-listing", "{v}");
            assert_ne!(v["decision"]["policy"]["version"], first.as_str());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "not reloaded: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
on_both_backends!(
    the_policy_reloads_whole_or_not_at_all,
    the_policy_reloads_whole_or_not_at_all
);

/// The first time an agent runs an operation in production it is held; once one has
/// been approved and used, the same operation goes through.
fn a_first_seen_production_operation_is_held_once(backend: Backend) {
    let svc = Svc::new(backend, &|p| {
        p.replace("defaults:\n", "defaults:\n  first_seen: approve\n")
    });
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_key(
        &s,
        "/v1/humans",
        json!({"name": "alice", "roles": ["approver", "group:approvers"]}),
    );
    let call = bash("kubectl get pods -n prod");
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &call);
    assert_eq!(v["status"], "pending", "{v}");
    assert_eq!(v["decision"]["rules"][0], "airlock:first-seen");
    let id = v["id"].as_str().unwrap().to_owned();
    // Asking again before anyone approved: still first-seen.
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &call);
    assert_eq!(v["status"], "pending", "{v}");
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&alice),
        "",
    );
    assert_eq!(code, 200);
    let (_, v) = http(
        &s.addr,
        "POST",
        &format!("/v1/actions?approval={id}"),
        Some(&agent),
        &call,
    );
    assert_eq!(v["allowed"], true, "{v}");
    // Seen now: the same operation goes straight through; another is new.
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&agent), &call);
    assert_eq!(v["status"], "allowed", "{v}");
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("kubectl describe deploy api -n prod"),
    );
    assert_eq!(v["status"], "pending", "{v}");
}
on_both_backends!(
    a_first_seen_production_operation_is_held_once,
    a_first_seen_production_operation_is_held_once
);

/// Every route the OpenAPI document describes is served (a route that did not exist
/// would answer 404 without a JSON error, or 405).
#[test]
fn every_documented_route_is_served() {
    let dir = data_dir("routes");
    let s = start(&dir);
    let admin = s.admin.clone().unwrap();
    for route in airlock_server::ROUTES {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.replace("{id}", "act_none").replace("{name}", "nobody");
        let (code, v) = http(&s.addr, method, &path, Some(&admin), "");
        assert_ne!(code, 405, "{route}");
        assert!(code != 404 || v["error"].is_string(), "{route}: not served");
    }
    let (code, v) = http(&s.addr, "GET", "/v1/openapi.json", None, "");
    assert_eq!(code, 200);
    assert_eq!(v["openapi"], "3.1.0");
}

/// The human CLI against a running service: keys, approvals, halts.
fn the_human_cli_drives_a_running_service(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let server = format!("http://{}", s.addr);
    let cli = |token: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
            .args(args)
            .env("AIRLOCK_SERVER", &server)
            .env("AIRLOCK_TOKEN", token)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let admin = s.admin.clone().unwrap();
    let (code, key, err) = cli(&admin, &["agents", "add", "kiro"]);
    assert_eq!(code, Some(0), "{err}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("al_"), "{key}");
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&key),
        &bash("kubectl delete deployment api -n prod"),
    );
    let id = v["id"].as_str().unwrap().to_owned();

    let (code, out, _) = cli(&admin, &["approvals", "list"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(&id), "{out}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed["approvals"][0]["id"],
        id.as_str(),
        "piped, it is JSON"
    );
    // For a human: one line a request, with who, what, votes, time left and why.
    let (code, out, _) = cli(&admin, &["approvals", "list", "--format", "table"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("VOTES") && lines[0].ends_with("WHY"),
        "{out}"
    );
    assert!(lines[1].starts_with(&id), "{out}");
    for part in ["delete", "0/1", "1h", "rule deletes"] {
        assert!(
            lines[1].contains(part) || (part == "1h" && lines[1].contains("59m")),
            "{part}: {out}"
        );
    }
    let (code, out, _) = cli(&admin, &["approvals", "show", &id]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"delete\""), "{out}");
    let (code, out, err) = cli(
        &admin,
        &["approvals", "approve", &id, "--comment", "planned"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("approved"), "{out}");
    // Refusals are errors with the service's reason.
    let (code, _, err) = cli(&admin, &["approvals", "approve", &id]);
    assert_eq!(code, Some(2));
    assert!(err.contains("409"), "{err}");
    let (code, _, err) = cli(&key, &["approvals", "list"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("403"), "{err}");

    let (code, _, err) = cli(&admin, &["halt", "--agent", "kiro", "--reason", "drill"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, v) = http(&s.addr, "POST", "/v1/actions", Some(&key), &bash("ls"));
    assert_eq!(v["status"], "denied");
    let (code, _, _) = cli(
        &admin,
        &["halt", "--agent", "kiro", "--zone", "z", "--reason", "x"],
    );
    assert_eq!(code, Some(2), "one scope only");
    let (code, _, err) = cli(&admin, &["resume", "--agent", "kiro"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, _) = cli(&admin, &["agents", "revoke", "kiro"]);
    assert_eq!(code, Some(0));
    let (code, _, _) = cli(&key, &["approvals", "list"]);
    assert_eq!(code, Some(2), "a revoked key is refused");
}
on_both_backends!(
    the_human_cli_drives_a_running_service,
    the_human_cli_drives_a_running_service
);

/// Approval events reach the webhook, retried until it accepts them.
#[test]
fn approval_events_reach_the_webhook() {
    use std::net::TcpListener;
    use std::sync::mpsc;
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for (n, conn) in hook.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            // The first delivery fails: the service must retry.
            let status = if n == 0 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
        }
    });
    let dir = data_dir("webhook");
    let mut cmd = serve_cmd(&dir);
    cmd.args(["--webhook", &format!("http://{hook_addr}/hook")]);
    let s = launch(cmd);
    let admin = s.admin.clone().unwrap();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/actions",
        Some(&agent),
        &bash("kubectl delete deployment api -n prod"),
    );
    let id = v["id"].as_str().unwrap().to_owned();
    let wait = Duration::from_secs(10);
    let first = rx.recv_timeout(wait).expect("the request event");
    let retried = rx.recv_timeout(wait).expect("the retry");
    assert_eq!(first, retried);
    assert_eq!(retried["event"], "approval.requested");
    assert_eq!(retried["id"], id.as_str());
    assert_eq!(retried["effect"], "delete");
    let (code, _) = http(
        &s.addr,
        "POST",
        &format!("/v1/approvals/{id}/reject"),
        Some(&admin),
        r#"{"comment":"not today"}"#,
    );
    assert_eq!(code, 200);
    let resolved = rx.recv_timeout(wait).expect("the resolution event");
    assert_eq!(resolved["event"], "approval.resolved");
    assert_eq!(resolved["status"], "rejected");
}

/// A plan is checked as a whole: delete-then-recreate is flagged even when each step
/// alone would only be held; nothing is recorded.
fn a_plan_that_deletes_and_recreates_is_flagged(backend: Backend) {
    let svc = Svc::new(backend, &|p| p);
    let s = svc.start();
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let hook = |cmd: &str| -> Value { serde_json::from_str(&bash(cmd)).unwrap() };
    let plan = json!({"steps": [
        hook("aws cloudformation describe-stacks --stack-name billing-prod"),
        hook("aws cloudformation delete-stack --stack-name billing-prod"),
        hook("aws cloudformation create-stack --stack-name billing-prod --template-body file://stack.yaml"),
    ]});
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/plans",
        Some(&agent),
        &plan.to_string(),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["patterns"][0]["kind"], "delete-then-recreate", "{v}");
    assert_eq!(v["patterns"][0]["steps"], json!([1, 2]));
    assert_ne!(v["verdict"], "allow");
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);
    assert_eq!(v["steps"][0]["decision"]["decision"], "allow");
    // A harmless plan's verdict is its strictest step.
    let plan = json!({"steps": [hook("ls"), hook("git status")]});
    let (_, v) = http(
        &s.addr,
        "POST",
        "/v1/plans",
        Some(&agent),
        &plan.to_string(),
    );
    assert_eq!(v["verdict"], "allow", "{v}");
    // Bad plans change nothing.
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/plans",
        Some(&agent),
        r#"{"steps": []}"#,
    );
    assert_eq!(code, 400);
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/plans",
        Some(&agent),
        r#"{"steps": [{"colour": 1}]}"#,
    );
    assert_eq!(code, 400);
    let (_, v) = http(
        &s.addr,
        "GET",
        "/v1/approvals?status=any",
        s.admin.as_deref(),
        "",
    );
    assert_eq!(
        v["approvals"].as_array().unwrap().len(),
        0,
        "plans are not recorded: {v}"
    );
}
on_both_backends!(
    a_plan_that_deletes_and_recreates_is_flagged,
    a_plan_that_deletes_and_recreates_is_flagged
);

/// A rate limit of N holds across two replicas sharing one PostgreSQL, also when
/// the calls race on both.
#[test]
fn a_rate_limit_holds_across_replicas() {
    let Ok(url) = std::env::var("AIRLOCK_TEST_POSTGRES_URL") else {
        eprintln!("AIRLOCK_TEST_POSTGRES_URL is not set: the replica test needs PostgreSQL");
        return;
    };
    let unique = unique("l");
    let path = write_policy(&data_dir("replica-limits"), &|p| {
        p + "\nlimits:\n  - id: reads-per-agent\n    when: { effect: read }\n    per: agent\n    window: 1h\n    max_actions: 6\n"
    });
    let admin = format!("al_admin_{unique}");
    let a = start_replica_with(&url, &unique, &admin, Some(&path));
    let b = start_replica_with(&url, &unique, &admin, Some(&path));
    let agent = new_key(&a, "/v1/agents", json!({"name": "kiro"}));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let addr = if i % 2 == 0 {
                a.addr.clone()
            } else {
                b.addr.clone()
            };
            let agent = agent.clone();
            std::thread::spawn(move || {
                http(&addr, "POST", "/v1/actions", Some(&agent), &bash("ls"))
            })
        })
        .collect();
    let allowed = threads
        .into_iter()
        .map(|t| t.join().unwrap().1)
        .filter(|v| v["status"] == "allowed")
        .count();
    assert_eq!(allowed, 6, "a limit of 6 across both replicas");
}

/// A key revoked or rotated on one replica stops working on the other within the
/// credential cache's bound (at once when the replicas hear each other).
#[test]
fn a_revoked_key_stops_on_every_replica() {
    let Ok(url) = std::env::var("AIRLOCK_TEST_POSTGRES_URL") else {
        eprintln!("AIRLOCK_TEST_POSTGRES_URL is not set: the replica test needs PostgreSQL");
        return;
    };
    let tenant = unique("t");
    let admin = format!("al_admin_{tenant}");
    let a = start_replica(&url, &tenant, &admin);
    let b = start_replica(&url, &tenant, &admin);
    let old = new_key(&a, "/v1/agents", json!({"name": "kiro"}));
    let works = |s: &Server, key: &str| {
        http(&s.addr, "POST", "/v1/actions", Some(key), &bash("ls")).0 == 200
    };
    assert!(works(&b, &old), "b knows the key (and caches it)");
    // Rotated on a: the old key stops on b.
    let new = new_key(&a, "/v1/agents", json!({"name": "kiro"}));
    let t = Instant::now();
    while works(&b, &old) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the old key still works on b"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(works(&b, &new));
    // Revoked on a: stops on b.
    let (code, _) = http(&a.addr, "DELETE", "/v1/agents/kiro", Some(&admin), "");
    assert_eq!(code, 200);
    let t = Instant::now();
    while works(&b, &new) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the revoked key still works on b"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
