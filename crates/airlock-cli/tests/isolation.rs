//! Tenant isolation, route by route: tenant B's callers (its agent, a viewer, an
//! approver, a tenant admin, and its bootstrap `admin`, who also holds
//! `service-admin`) aim every route of the API at tenant A's ids and names. Each
//! call must be refused (403 or 404, with a JSON error) unless B may legitimately
//! do it on its own side, its answer must show nothing of A, and afterwards tenant
//! A must be exactly as it was: the pending request still pending with no votes,
//! the granted one still granted, every key and token still working, every
//! principal still listed, A's own halt still in force and no other.
//!
//! The matrix is one table (`MATRIX`); a new route is one line, and a route the
//! OpenAPI document describes without a line fails `the_matrix_covers_every_route`.
//! Each test runs on SQLite and, with `AIRLOCK_TEST_POSTGRES_URL`, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Who in tenant B makes the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// B's agent key.
    Agent,
    /// A human with `viewer`.
    Viewer,
    /// A human with `approver` and `group:approvers`.
    Approver,
    /// A human with `admin` (a tenant admin: no `service-admin`).
    Admin,
    /// B's bootstrap `admin`, who also holds `service-admin`.
    Root,
}
use Who::*;

const EVERYONE: &[Who] = &[Agent, Viewer, Approver, Admin, Root];
/// Callers without `service-admin`: the service-wide routes (metrics, policy
/// reload, a halt of everyone) legitimately reach every tenant for a
/// service-admin, so only these are tried there.
const TENANT_LEVEL: &[Who] = &[Agent, Viewer, Approver, Admin];
const HUMANS: &[Who] = &[Viewer, Approver, Admin, Root];
const ADMINS: &[Who] = &[Admin, Root];
const NOBODY: &[Who] = &[];

/// One line of the matrix.
struct Row {
    /// The route as the OpenAPI document names it: `METHOD /path/{param}`.
    route: &'static str,
    /// The request path, with A's ids as placeholders (see `fill`).
    path: &'static str,
    /// The request body, with the same placeholders.
    body: &'static str,
    /// Who in tenant B tries it.
    callers: &'static [Who],
    /// Who may succeed (2xx), acting on B's own side only; everyone else must be
    /// refused.
    may: &'static [Who],
    /// The refusals accepted.
    refused: &'static [u16],
}

const fn row(
    route: &'static str,
    path: &'static str,
    body: &'static str,
    callers: &'static [Who],
    may: &'static [Who],
) -> Row {
    Row {
        route,
        path,
        body,
        callers,
        may,
        refused: &[403, 404],
    }
}

impl Row {
    /// A single-use approval that is not B's is refused like a used one (409,
    /// the same answer as for an id that does not exist).
    const fn or_conflict(self) -> Row {
        Row {
            refused: &[403, 404, 409],
            ..self
        }
    }
}

/// An Action naming A's agent (the identity must come from the key).
const ACTION_AS_A: &str = r#"{"who":{"agent":"{agent}"},"what":{"tool":"kubectl","operation":"delete","effect":"delete"},"targets":[{"kind":"k8s:deployment","name":"api","namespace":"prod"}]}"#;
/// An Action by B's own agent that claims A's tenant (the tenant must come from
/// the key: the record lands in B).
const ACTION_CLAIMING_A: &str = r#"{"who":{"agent":"beta-agent","tenant":"{tenant}"},"what":{"tool":"kubectl","operation":"delete","effect":"delete"},"targets":[{"kind":"k8s:deployment","name":"api","namespace":"prod"}]}"#;
const PLAN_AS_A: &str = r#"{"steps":[{"who":{"agent":"{agent}"},"what":{"tool":"ls","operation":"ls","effect":"read"}}]}"#;
/// A plan to be approved as a whole, one of its steps naming A's agent.
const PLAN_APPROVAL_AS_A: &str = r#"{"request_approval":true,"reason":"from B","steps":[{"who":{"agent":"beta-agent"},"what":{"tool":"ls","operation":"ls","effect":"read"}},{"who":{"agent":"{agent}"},"what":{"tool":"kubectl","operation":"delete","effect":"delete"},"targets":[{"kind":"k8s:deployment","name":"api","namespace":"prod"}]}]}"#;

/// Every route, aimed at tenant A. Placeholders: `{tenant}` A's tenant,
/// `{pending}` its pending request, `{action}` an allowed action, `{approved}` a
/// granted, unused approval, `{call}` the exact call that approval covers,
/// `{reviewable}` a logged decision sampled for a spot check,
/// `{agent}` its agent, `{halted}` its agent under A's own halt, `{human}` its
/// approver, `{viewer}` its viewer.
#[rustfmt::skip]
const MATRIX: &[Row] = &[
    // Service-wide routes: nothing of a tenant in them.
    row("GET /healthz", "/healthz", "", EVERYONE, EVERYONE),
    row("GET /v1/openapi.json", "/v1/openapi.json", "", EVERYONE, EVERYONE),
    row("GET /v1/policy", "/v1/policy", "", EVERYONE, EVERYONE),
    row("GET /metrics", "/metrics", "", TENANT_LEVEL, NOBODY),
    row("POST /v1/policy/reload", "/v1/policy/reload", "", TENANT_LEVEL, NOBODY),
    row("POST /v1/ledger/prune", "/v1/ledger/prune", r#"{"before":"2000-01-01T00:00:00Z"}"#, TENANT_LEVEL, NOBODY),
    row("POST /v1/ledger/erase", "/v1/ledger/erase", r#"{"subject":"alice"}"#, TENANT_LEVEL, NOBODY),
    // Agents' routes.
    row("POST /v1/actions", "/v1/actions", ACTION_AS_A, EVERYONE, NOBODY),
    row("POST /v1/actions", "/v1/actions?approval={approved}", "{call}", EVERYONE, NOBODY).or_conflict(),
    row("POST /v1/actions", "/v1/actions", ACTION_CLAIMING_A, EVERYONE, &[Agent]),
    row("GET /v1/actions/{id}", "/v1/actions/{pending}", "", EVERYONE, NOBODY),
    row("GET /v1/actions/{id}", "/v1/actions/{action}?wait=1s", "", EVERYONE, NOBODY),
    row("GET /v1/actions/{id}", "/v1/actions/{approved}", "", EVERYONE, NOBODY),
    row("POST /v1/plans", "/v1/plans", PLAN_AS_A, EVERYONE, NOBODY),
    row("POST /v1/plans", "/v1/plans", PLAN_APPROVAL_AS_A, EVERYONE, NOBODY),
    // Approvals.
    row("GET /v1/approvals", "/v1/approvals", "", EVERYONE, HUMANS),
    row("GET /v1/approvals", "/v1/approvals?status=any&limit=1000", "", EVERYONE, HUMANS),
    row("GET /v1/approvals", "/v1/approvals?status=any&agent={agent}", "", EVERYONE, HUMANS),
    row("GET /v1/approvals/{id}", "/v1/approvals/{pending}", "", EVERYONE, NOBODY),
    row("GET /v1/approvals/{id}", "/v1/approvals/{approved}", "", EVERYONE, NOBODY),
    row("POST /v1/approvals/{id}/approve", "/v1/approvals/{pending}/approve", r#"{"comment":"from B"}"#, EVERYONE, NOBODY),
    row("POST /v1/approvals/{id}/reject", "/v1/approvals/{pending}/reject", r#"{"comment":"from B"}"#, EVERYONE, NOBODY),
    row("POST /v1/approvals/{id}/reject", "/v1/approvals/{approved}/reject", "", EVERYONE, NOBODY),
    // Spot checks.
    row("GET /v1/reviews", "/v1/reviews", "", EVERYONE, HUMANS),
    row("GET /v1/reviews", "/v1/reviews?state=due&agent={agent}", "", EVERYONE, HUMANS),
    row("POST /v1/reviews/{id}", "/v1/reviews/{reviewable}", r#"{"verdict":"wrong","comment":"from B"}"#, EVERYONE, NOBODY),
    // Halts: B may halt its own agent of that name and its own tenant, never A's.
    row("POST /v1/halt", "/v1/halt", r#"{"scope":"agent","name":"{agent}","reason":"from B"}"#, EVERYONE, ADMINS),
    row("POST /v1/halt", "/v1/halt", r#"{"scope":"tenant","reason":"from B"}"#, EVERYONE, ADMINS),
    row("POST /v1/halt", "/v1/halt", r#"{"scope":"all","reason":"from B"}"#, TENANT_LEVEL, NOBODY),
    row("POST /v1/resume", "/v1/resume", r#"{"scope":"agent","name":"{halted}"}"#, EVERYONE, NOBODY),
    row("POST /v1/resume", "/v1/resume", r#"{"scope":"tenant"}"#, EVERYONE, ADMINS),
    // Credentials: B may issue and revoke its own principals of the same names.
    row("POST /v1/agents", "/v1/agents", r#"{"name":"{agent}"}"#, EVERYONE, ADMINS),
    row("GET /v1/agents", "/v1/agents", "", EVERYONE, ADMINS),
    row("DELETE /v1/agents/{name}", "/v1/agents/{halted}", "", EVERYONE, NOBODY),
    row("DELETE /v1/agents/{name}", "/v1/agents/{agent}", "", EVERYONE, ADMINS),
    row("POST /v1/humans", "/v1/humans", r#"{"name":"{human}","roles":["viewer"]}"#, EVERYONE, ADMINS),
    row("GET /v1/humans", "/v1/humans", "", EVERYONE, ADMINS),
    row("DELETE /v1/humans/{name}", "/v1/humans/{viewer}", "", EVERYONE, NOBODY),
    row("DELETE /v1/humans/{name}", "/v1/humans/{human}", "", EVERYONE, ADMINS),
    // The ledger: an outcome of A's call, a receipt of A's entry; the checkpoint
    // names no tenant (only the size of the whole ledger).
    row("POST /v1/actions/{id}/outcome", "/v1/actions/{action}/outcome", r#"{"outcome":"executed"}"#, EVERYONE, NOBODY),
    row("GET /v1/ledger/receipt", "/v1/ledger/receipt?index={entry}", "", EVERYONE, NOBODY),
    row("GET /v1/ledger/checkpoint", "/v1/ledger/checkpoint", "", EVERYONE, HUMANS),
    // Claude Code's http hook: B's agent's own call, recorded in B (the identity
    // comes from the key, whatever the payload names).
    row("POST /v1/hooks/claude-code", "/v1/hooks/claude-code?wait=1s", HOOK_AS_A, EVERYONE, &[Agent]),
    // Which tools B's agent may never use, under the one policy: nothing of A.
    row("POST /v1/tools/never", "/v1/tools/never", r#"{"server":"fs","tools":[{"name":"read_{agent}"}]}"#, EVERYONE, &[Agent]),
];

/// A Claude Code hook payload (the agent is never in it: the key says who).
const HOOK_AS_A: &str = r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls /home/{agent}"}}"#;

/// Tenant A: its credentials and the records B aims at.
struct TenantA {
    tenant: String,
    root: String,
    agent: String,
    halted: String,
    alice: String,
    vic: String,
    pending: String,
    action: String,
    /// The ledger index of `action`'s decision.
    entry: u64,
    approved: String,
    call: String,
    reviewable: String,
}

/// Tenant B: one credential per caller, and records of its own.
struct TenantB {
    tenant: String,
    root: String,
    agent: String,
    viewer: String,
    approver: String,
    admin: String,
    pending: String,
    allowed: String,
    reviewable: String,
}

impl TenantB {
    fn token(&self, who: Who) -> &str {
        match who {
            Agent => &self.agent,
            Viewer => &self.viewer,
            Approver => &self.approver,
            Admin => &self.admin,
            Root => &self.root,
        }
    }
}

/// A's principals by name (B's namesakes are B's own).
const A_NAMES: [&str; 4] = ["alpha-agent", "alpha-halted", "alpha-alice", "alpha-vic"];
/// B's principals at the start.
const B_NAMES: [&str; 5] = [
    "admin",
    "beta-agent",
    "beta-viewer",
    "beta-approver",
    "beta-admin",
];

struct World {
    s: Server,
    a: TenantA,
    b: TenantB,
}

fn issue(s: &Server, token: &str, path: &str, body: Value) -> String {
    let r = call(&s.addr, "POST", path, Some(token), &body.to_string());
    assert_eq!(r.status, 200, "{path} {body}: {}", r.text);
    r.json["token"].as_str().unwrap().to_owned()
}

fn submit(s: &Server, key: &str, body: &str, status: &str) -> String {
    let r = call(&s.addr, "POST", "/v1/actions", Some(key), body);
    assert_eq!(
        (r.status, r.json["status"].as_str()),
        (200, Some(status)),
        "{body}: {}",
        r.text
    );
    r.json["id"].as_str().unwrap().to_owned()
}

/// Tenant A is set up by a service administering A; then the service is
/// restarted on the same store administering B (how a tenant comes to exist: its
/// bootstrap admin), and B's callers are issued there. A's tokens keep working.
fn world(backend: &Backend) -> World {
    let (ta, tb) = (unique("alpha"), unique("beta"));
    let a_root = format!("al_root_{ta}");
    let b_root = format!("al_root_{tb}");
    // Every logged decision is sampled for a spot check; the same file for A and B
    // (so that a reload B must not make would succeed).
    let policy = backend.policy(&|p| {
        let edited = p.replace(
            "spot_checks: { sample: 0.05 }",
            "spot_checks: { sample: 1 }",
        );
        assert_ne!(edited, p, "the default policy samples spot checks");
        edited
    });
    let a = {
        let s = backend.start(&ta, &a_root, Some(&policy));
        let agent = issue(&s, &a_root, "/v1/agents", json!({"name": "alpha-agent"}));
        let halted = issue(&s, &a_root, "/v1/agents", json!({"name": "alpha-halted"}));
        let alice = issue(
            &s,
            &a_root,
            "/v1/humans",
            json!({"name": "alpha-alice", "roles": ["approver", "viewer", "group:approvers"]}),
        );
        let vic = issue(
            &s,
            &a_root,
            "/v1/humans",
            json!({"name": "alpha-vic", "roles": ["viewer"]}),
        );
        let r = call(&s.addr, "POST", "/v1/actions", Some(&agent), &bash("ls"));
        assert_eq!(r.json["status"], "allowed", "{}", r.text);
        let action = r.json["id"].as_str().unwrap().to_owned();
        let entry = r.json["ledger"]["index"].as_u64().unwrap();
        let reviewable = submit(
            &s,
            &agent,
            &bash("kubectl scale deployment alpha --replicas=2 -n staging"),
            "allowed",
        );
        let pending = submit(
            &s,
            &agent,
            &bash("kubectl delete deployment alpha-pending -n prod"),
            "pending",
        );
        let call_ = bash("kubectl delete deployment alpha-approved -n prod");
        let approved = submit(&s, &agent, &call_, "pending");
        let r = call(
            &s.addr,
            "POST",
            &format!("/v1/approvals/{approved}/approve"),
            Some(&alice),
            "",
        );
        assert_eq!(r.json["status"], "approved", "{}", r.text);
        let r = call(
            &s.addr,
            "POST",
            "/v1/halt",
            Some(&a_root),
            r#"{"scope":"agent","name":"alpha-halted","reason":"A's own halt"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        TenantA {
            tenant: ta,
            root: a_root,
            agent,
            halted,
            alice,
            vic,
            pending,
            action,
            entry,
            approved,
            call: call_,
            reviewable,
        }
    }; // stopped here
    let s = backend.start(&tb, &b_root, Some(&policy));
    let agent = issue(&s, &b_root, "/v1/agents", json!({"name": "beta-agent"}));
    let viewer = issue(
        &s,
        &b_root,
        "/v1/humans",
        json!({"name": "beta-viewer", "roles": ["viewer"]}),
    );
    let approver = issue(
        &s,
        &b_root,
        "/v1/humans",
        json!({"name": "beta-approver", "roles": ["approver", "group:approvers"]}),
    );
    let admin = issue(
        &s,
        &b_root,
        "/v1/humans",
        json!({"name": "beta-admin", "roles": ["admin", "approver", "viewer", "group:approvers"]}),
    );
    let pending = submit(
        &s,
        &agent,
        &bash("kubectl delete deployment beta-pending -n prod"),
        "pending",
    );
    let allowed = submit(&s, &agent, &bash("ls"), "allowed");
    let reviewable = submit(
        &s,
        &agent,
        &bash("kubectl scale deployment beta --replicas=2 -n staging"),
        "allowed",
    );
    // A's halt is in force here once the restarted service has read the halts from
    // the store (its first refresh; that a restart is not fail-closed until then is
    // crash.rs's business, not isolation's).
    poll(
        Duration::from_secs(5),
        "A's halt in force after the restart",
        || {
            let r = call(&s.addr, "POST", "/v1/plans", Some(&a.halted), &plan_ls());
            (r.json["verdict"] == "deny").then_some(())
        },
    );
    World {
        s,
        a,
        b: TenantB {
            tenant: tb,
            root: b_root,
            agent,
            viewer,
            approver,
            admin,
            pending,
            allowed,
            reviewable,
        },
    }
}

/// A row's path or body with A's ids in place.
fn fill(template: &str, a: &TenantA) -> String {
    template
        .replace("{tenant}", &a.tenant)
        .replace("{pending}", &a.pending)
        .replace("{action}", &a.action)
        .replace("{entry}", &a.entry.to_string())
        .replace("{approved}", &a.approved)
        .replace("{reviewable}", &a.reviewable)
        .replace("{call}", &a.call)
        .replace("{agent}", "alpha-agent")
        .replace("{halted}", "alpha-halted")
        .replace("{human}", "alpha-alice")
        .replace("{viewer}", "alpha-vic")
}

/// Everything of tenant A that B must not change, as A itself sees it.
fn a_state(addr: &str, a: &TenantA) -> Value {
    let get = |path: &str, token: &str| call(addr, "GET", path, Some(token), "");
    let pending = get(&format!("/v1/approvals/{}", a.pending), &a.alice);
    let action = get(&format!("/v1/actions/{}", a.action), &a.agent);
    let approved = get(&format!("/v1/actions/{}", a.approved), &a.agent);
    let viewer = get("/v1/approvals", &a.vic);
    let reviews = |state: &str| reviews_seen(addr, &a.root, state);
    json!({
        "records": records_seen(addr, &a.root),
        "agents": principals_seen(addr, &a.root, "/v1/agents"),
        "humans": principals_seen(addr, &a.root, "/v1/humans"),
        "pending, as A's approver sees it": [pending.status, pending.json["status"], pending.json["votes"]],
        "allowed action, as A's agent sees it": [action.status, action.json["status"]],
        "granted approval, as A's agent sees it": [approved.status, approved.json["status"]],
        "A's viewer": viewer.status,
        "spot checks due": reviews("due"),
        "spot checks done": [reviews("ok"), reviews("wrong")],
        "A's agent, not halted": plan_seen(addr, &a.agent),
        "A's halted agent": plan_seen(addr, &a.halted),
    })
}

/// What tenant A must look like: checked once, so that "unchanged" means
/// something.
fn assert_a_baseline(state: &Value, a: &TenantA) {
    let records = state["records"][1].as_array().unwrap();
    let find = |id: &str| {
        records
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("{id} in {state}"))
    };
    assert_eq!(state["records"][0], 200, "{state}");
    assert_eq!(records.len(), 4, "{state}");
    assert_eq!(find(&a.reviewable)[2], "allowed", "{state}");
    let due = &state["spot checks due"];
    assert_eq!(
        (due[0].clone(), due[1].as_array().unwrap().len()),
        (json!(200), 1),
        "{state}"
    );
    assert_eq!(due[1][0][0], a.reviewable.as_str(), "{state}");
    assert_eq!(
        state["spot checks done"],
        json!([[200, []], [200, []]]),
        "{state}"
    );
    assert_eq!(find(&a.action)[2], "allowed", "{state}");
    assert_eq!(find(&a.pending)[2], "pending", "{state}");
    assert_eq!(find(&a.pending)[3], 0, "{state}");
    assert_eq!(find(&a.approved)[2], "approved", "{state}");
    assert_eq!(
        state["pending, as A's approver sees it"],
        json!([200, "pending", []])
    );
    assert_eq!(
        state["allowed action, as A's agent sees it"],
        json!([200, "allowed"])
    );
    assert_eq!(
        state["granted approval, as A's agent sees it"],
        json!([200, "approved"])
    );
    assert_eq!(state["A's viewer"], 200);
    assert_eq!(
        state["A's agent, not halted"],
        json!([200, "allow", ["reads"]])
    );
    assert_eq!(
        state["A's halted agent"],
        json!([200, "deny", ["airlock:halt"]])
    );
    let names = |k: &str| -> Vec<Value> {
        state[k][1]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| json!([p[0], p[2]]))
            .collect()
    };
    for n in ["alpha-agent", "alpha-halted"] {
        assert!(names("agents").contains(&json!([n, false])), "{state}");
    }
    for n in ["admin", "alpha-alice", "alpha-vic"] {
        assert!(names("humans").contains(&json!([n, false])), "{state}");
    }
}

/// Strings of tenant A that no answer to B may contain: its ids, tokens, tenant
/// name, and the names of its principals (except those B holds namesakes of).
fn a_markers<'a>(a: &'a TenantA, b_names: &BTreeSet<String>) -> Vec<&'a str> {
    let mut m: Vec<&str> = vec![
        &a.tenant,
        &a.root,
        &a.agent,
        &a.halted,
        &a.alice,
        &a.vic,
        &a.pending,
        &a.action,
        &a.approved,
        &a.reviewable,
    ];
    m.extend(A_NAMES.iter().filter(|n| !b_names.contains(**n)));
    m
}

fn documented_routes(doc: &Value) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            routes.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    routes
}

/// Whether a row's concrete path is an instance of its route's template.
fn path_fits_route(path: &str, route: &str) -> bool {
    let path = path.split('?').next().unwrap();
    let template = route.split_once(' ').unwrap().1;
    let (p, t): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| p == t || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

/// The matrix has a line for every route the OpenAPI document describes (and
/// the service serves), and none for a route that does not exist; each line's
/// path is an instance of the route it claims.
#[test]
fn the_matrix_covers_every_route() {
    let doc: Value = serde_json::from_str(airlock_server::OPENAPI).unwrap();
    let documented = documented_routes(&doc);
    let served: BTreeSet<String> = airlock_server::ROUTES
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
    assert_eq!(
        documented, served,
        "the OpenAPI document and the router differ"
    );
    let matrix: BTreeSet<String> = MATRIX.iter().map(|r| r.route.to_owned()).collect();
    let missing: Vec<&String> = documented.difference(&matrix).collect();
    assert!(
        missing.is_empty(),
        "routes with no line in the isolation matrix: {missing:?}"
    );
    let unknown: Vec<&String> = matrix.difference(&documented).collect();
    assert!(unknown.is_empty(), "matrix lines for no route: {unknown:?}");
    for r in MATRIX {
        assert!(
            path_fits_route(r.path, r.route),
            "{} does not exercise {}",
            r.path,
            r.route
        );
        assert!(!r.callers.is_empty(), "{}: nobody tries it", r.path);
        assert!(
            r.may.iter().all(|w| r.callers.contains(w)),
            "{}: `may` lists someone who does not try it",
            r.path
        );
    }
}

/// Every line of the matrix, every caller of B; tenant A checked after each call.
fn isolation_matrix(backend: Backend) {
    let World { s, a, b } = world(&backend);
    let addr = s.addr.as_str();
    let mut before = a_state(addr, &a);
    assert_a_baseline(&before, &a);

    // The served document describes what the matrix covers.
    let doc = call(addr, "GET", "/v1/openapi.json", None, "");
    let matrix: BTreeSet<String> = MATRIX.iter().map(|r| r.route.to_owned()).collect();
    assert_eq!(documented_routes(&doc.json), matrix);

    let mut b_names: BTreeSet<String> = B_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut failures: Vec<String> = Vec::new();
    let mut calls = 0;
    for r in MATRIX {
        let method = r.route.split_once(' ').unwrap().0;
        let (path, body) = (fill(r.path, &a), fill(r.body, &a));
        for &who in r.callers {
            calls += 1;
            let what = format!("[{}] {method} {path} as B's {who:?}", backend.label());
            let reply = call(addr, method, &path, Some(b.token(who)), &body);
            if (200..300).contains(&reply.status) {
                if !r.may.contains(&who) {
                    failures.push(format!(
                        "{what}: {} where a refusal is due: {}",
                        reply.status,
                        short(&reply.text)
                    ));
                }
                // A principal B just issued is B's own namesake.
                if method == "POST" && (path == "/v1/agents" || path == "/v1/humans") {
                    let issued: Value = serde_json::from_str(&body).unwrap();
                    b_names.insert(issued["name"].as_str().unwrap().to_owned());
                }
                // What B sent may come back; nothing else of A may.
                for m in a_markers(&a, &b_names) {
                    if reply.text.contains(m) && !path.contains(m) && !body.contains(m) {
                        failures.push(format!(
                            "{what}: the answer shows A's `{m}`: {}",
                            short(&reply.text)
                        ));
                    }
                }
            } else if !r.refused.contains(&reply.status) {
                failures.push(format!(
                    "{what}: {} (expected one of {:?}): {}",
                    reply.status,
                    r.refused,
                    short(&reply.text)
                ));
            } else if reply.error().is_none_or(str::is_empty) {
                failures.push(format!(
                    "{what}: refused without a JSON error: {}",
                    short(&reply.text)
                ));
            }
            let after = a_state(addr, &a);
            if after != before {
                failures.push(format!(
                    "{what}: tenant A changed:{}",
                    changes(&before, &after)
                ));
                before = after; // report each change once
            }
        }
    }
    assert!(calls > 100, "{calls} calls");
    assert!(
        failures.is_empty(),
        "{} isolation failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

on_both_backends!(isolation_matrix_holds, isolation_matrix);

/// B's lists show B's records and principals and nothing of A; B's namesake of
/// A's agent is another principal; a tenant-wide halt in B stops B and not A.
fn b_sees_and_stops_only_itself(backend: Backend) {
    let World { s, a, b } = world(&backend);
    let addr = s.addr.as_str();
    let baseline = a_state(addr, &a);
    assert_a_baseline(&baseline, &a);

    // B's lists: its own records, none of A's.
    let r = call(addr, "GET", "/v1/approvals?status=any", Some(&b.viewer), "");
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: BTreeSet<&str> = r.json["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            b.pending.as_str(),
            b.allowed.as_str(),
            b.reviewable.as_str()
        ]),
        "{}",
        r.text
    );
    let r = call(addr, "GET", "/v1/approvals", Some(&b.admin), "");
    assert_eq!(
        r.json["approvals"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    assert_eq!(r.json["approvals"][0]["id"], b.pending.as_str());
    let r = call(addr, "GET", "/v1/reviews", Some(&b.viewer), "");
    let due: Vec<&Value> = r.json["reviews"].as_array().unwrap().iter().collect();
    assert_eq!(due.len(), 1, "B's spot checks only: {}", r.text);
    assert_eq!(due[0]["id"], b.reviewable.as_str(), "{}", r.text);
    let names = |path: &str| -> BTreeSet<String> {
        let r = call(addr, "GET", path, Some(&b.admin), "");
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("/v1/agents"),
        BTreeSet::from(["beta-agent".to_owned()])
    );
    assert_eq!(
        names("/v1/humans"),
        ["admin", "beta-viewer", "beta-approver", "beta-admin"]
            .map(str::to_owned)
            .into()
    );
    for token in [&b.viewer, &b.admin, &b.root] {
        for path in [
            "/v1/approvals?status=any",
            "/v1/reviews?state=due",
            "/v1/reviews?state=ok",
            "/v1/reviews?state=wrong",
        ] {
            let r = call(addr, "GET", path, Some(token), "");
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            for id in [&a.pending, &a.action, &a.approved, &a.reviewable] {
                assert!(!r.text.contains(id.as_str()), "{path}: {}", r.text);
            }
        }
    }

    // A namesake: B has no `alpha-agent` to revoke; issuing and revoking B's own
    // leaves A's key working and A's listing as it was.
    let r = call(addr, "DELETE", "/v1/agents/alpha-agent", Some(&b.admin), "");
    assert_eq!(r.status, 404, "{}", r.text);
    let namesake = issue(&s, &b.admin, "/v1/agents", json!({"name": "alpha-agent"}));
    let r = call(
        addr,
        "GET",
        &format!("/v1/actions/{}", a.action),
        Some(&namesake),
        "",
    );
    assert_eq!(r.status, 404, "B's alpha-agent is not A's: {}", r.text);
    let r = call(addr, "DELETE", "/v1/agents/alpha-agent", Some(&b.admin), "");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(addr, "POST", "/v1/actions", Some(&namesake), &bash("ls"));
    assert_eq!(r.status, 401, "B's namesake is revoked: {}", r.text);
    assert_eq!(a_state(addr, &a), baseline, "tenant A changed");

    // A tenant-wide halt in B: B's agent is stopped, its pending request rejected;
    // A's agent goes on, A's pending request stays pending.
    let r = call(
        addr,
        "POST",
        "/v1/halt",
        Some(&b.admin),
        r#"{"scope":"tenant","reason":"B's drill"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["rejected_pending"], 1, "B's own pending: {}", r.text);
    let r = call(addr, "POST", "/v1/actions", Some(&b.agent), &bash("ls"));
    assert_eq!(r.json["status"], "denied", "{}", r.text);
    assert_eq!(r.json["decision"]["rules"][0], "airlock:halt", "{}", r.text);
    let r = call(
        addr,
        "GET",
        &format!("/v1/actions/{}", b.pending),
        Some(&b.agent),
        "",
    );
    assert_eq!(r.json["status"], "rejected", "{}", r.text);
    // Across several refreshes of the halt cache from the store (every 100 ms).
    let t = Instant::now();
    let mut checks = 0;
    while t.elapsed() < Duration::from_millis(400) || checks < 3 {
        let r = call(addr, "POST", "/v1/actions", Some(&a.agent), &bash("ls"));
        assert_eq!(
            (r.status, r.json["status"].as_str()),
            (200, Some("allowed")),
            "B's tenant halt reached A: {}",
            r.text
        );
        checks += 1;
    }
    let r = call(
        addr,
        "GET",
        &format!("/v1/actions/{}", a.pending),
        Some(&a.agent),
        "",
    );
    assert_eq!(r.json["status"], "pending", "{}", r.text);
    let r = call(
        addr,
        "GET",
        &format!("/v1/approvals/{}", a.pending),
        Some(&a.alice),
        "",
    );
    assert_eq!(r.json["votes"], json!([]), "{}", r.text);
    // A's agent is still under A's own halt, and only that.
    let r = call(addr, "POST", "/v1/plans", Some(&a.halted), &plan_ls());
    assert_eq!(r.json["steps"][0]["decision"]["rules"][0], "airlock:halt");
    assert!(
        !r.text.contains(&b.tenant) && r.text.contains("A's own halt"),
        "{}",
        r.text
    );
}

on_both_backends!(
    b_sees_and_stops_only_itself_holds,
    b_sees_and_stops_only_itself
);
