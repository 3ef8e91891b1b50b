//! Plans approved as a whole, and spot checks of the supervised tier: the real
//! binary over HTTP, on SQLite and (when `AIRLOCK_TEST_POSTGRES_URL` is set) on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// A fresh service on `backend` with the default policy changed by `edit`, in its
/// own tenant.
fn start_on(backend: &Backend, edit: &dyn Fn(String) -> String) -> Server {
    let policy = backend.policy(edit);
    backend.start(&unique("t"), &unique("al_admin_"), Some(&policy))
}

fn hook(cmd: &str) -> Value {
    serde_json::from_str(&bash(cmd)).unwrap()
}

fn post(s: &Server, path: &str, token: &str, body: &Value) -> (u16, Value) {
    http(&s.addr, "POST", path, Some(token), &body.to_string())
}

fn get(s: &Server, path: &str, token: &str) -> (u16, Value) {
    http(&s.addr, "GET", path, Some(token), "")
}

fn a_plan_approved_as_a_whole_runs_exactly_its_steps_in_order(backend: Backend) {
    let backend = &backend;
    let s = start_on(backend, &|p| p);
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let other_agent = new_key(&s, "/v1/agents", json!({"name": "other"}));
    let alice = new_approver(&s, "alice");
    let steps = [
        hook("kubectl get pods -n prod"),
        hook("kubectl delete deployment api -n prod"),
        hook("kubectl delete deployment worker -n prod"),
    ];
    let plan = json!({
        "steps": steps, "request_approval": true,
        "reason": "replace the two crash-looping deployments",
    });
    let (code, v) = post(&s, "/v1/plans", &agent, &plan);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["verdict"], "approve", "{v}");
    let id = v["approval"]["id"]
        .as_str()
        .expect("an approval id")
        .to_owned();
    assert_eq!(v["approval"]["requirements"][0]["group"], "approvers");

    // The approver sees the whole plan: every step with its decision, and why.
    let (code, shown) = get(&s, &format!("/v1/approvals/{id}"), &alice);
    assert_eq!(code, 200, "{shown}");
    assert_eq!(shown["kind"], "plan");
    assert_eq!(shown["plan"]["steps"].as_array().unwrap().len(), 3);
    assert_eq!(
        shown["plan"]["steps"][1]["action"]["what"]["effect"],
        "delete"
    );
    assert_eq!(
        shown["why"]["reason"],
        "replace the two crash-looping deployments"
    );
    let (_, list) = get(&s, "/v1/approvals", &alice);
    let listed = list["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (listed["kind"].as_str(), listed["operation"].as_str()),
        (Some("plan"), Some("3 steps"))
    );

    // Nothing runs on a pending plan.
    let use_it = format!("/v1/actions?approval={id}");
    let (code, v) = post(&s, &use_it, &agent, &steps[1]);
    assert_eq!(code, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("pending"), "{v}");

    // The agent waits; one approval wakes it.
    let (addr, wait_agent, wait_path) = (
        s.addr.clone(),
        agent.clone(),
        format!("/v1/actions/{id}?wait=20s"),
    );
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        (
            http(&addr, "GET", &wait_path, Some(&wait_agent), ""),
            t.elapsed(),
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let (code, v) = post(
        &s,
        &format!("/v1/approvals/{id}/approve"),
        &alice,
        &json!({"comment": "go"}),
    );
    assert_eq!((code, v["status"].as_str()), (200, Some("approved")), "{v}");
    let ((code, v), waited) = waiter.join().unwrap();
    assert_eq!((code, v["status"].as_str()), (200, Some("approved")), "{v}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // Out of order, a call outside the plan, another agent: refused.
    let (code, v) = post(&s, &use_it, &agent, &steps[1]);
    assert_eq!(code, 409);
    assert!(
        v["error"].as_str().unwrap().contains("step 1 comes first"),
        "{v}"
    );
    let (code, v) = post(
        &s,
        &use_it,
        &agent,
        &hook("kubectl delete deployment web -n prod"),
    );
    assert_eq!(code, 409);
    assert!(v["error"].as_str().unwrap().contains("not in plan"), "{v}");
    // Another agent's read goes through as the read it is, without touching the
    // plan (the loop below still finds step 1 next); its held call is refused.
    let (code, v) = post(&s, &use_it, &other_agent, &steps[0]);
    assert_eq!((code, v["allowed"].as_bool()), (200, Some(true)), "{v}");
    assert!(v.get("plan").is_none(), "{v}");
    let (code, v) = post(&s, &use_it, &other_agent, &steps[1]);
    assert_eq!(code, 409, "the plan belongs to its agent: {v}");

    // In order, each step once; the last one uses the plan up.
    for (i, step) in steps.iter().enumerate() {
        let (code, v) = post(&s, &use_it, &agent, step);
        assert_eq!((code, v["allowed"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(v["plan"]["step"], i + 1, "{v}");
        assert_eq!(v["plan"]["steps"], 3);
        assert_eq!(v["status"], "allowed");
        // Each step is recorded as its own allowed action.
        let step_id = v["id"].as_str().unwrap();
        assert_ne!(step_id, id);
        let (code, r) = get(&s, &format!("/v1/actions/{step_id}"), &agent);
        assert_eq!((code, r["status"].as_str()), (200, Some("allowed")), "{r}");
    }
    let (code, v) = post(&s, &use_it, &agent, &steps[2]);
    assert_eq!(code, 409, "used up: {v}");
    let (_, v) = get(&s, &format!("/v1/actions/{id}"), &agent);
    assert_eq!(v["status"], "consumed", "{v}");
    // Without the plan, the held step is held again.
    let (_, v) = post(&s, "/v1/actions", &agent, &steps[1]);
    assert_eq!(v["status"], "pending", "{v}");

    // A plan with a denied step, or one that needs nobody, cannot be approved.
    let denied = json!({"steps": [
        steps[1],
        hook("aws iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"),
    ], "request_approval": true});
    let (code, v) = post(&s, "/v1/plans", &agent, &denied);
    assert_eq!(code, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("step 2 is denied"),
        "{v}"
    );
    let harmless = json!({"steps": [hook("ls")], "request_approval": true});
    let (code, v) = post(&s, "/v1/plans", &agent, &harmless);
    assert_eq!(code, 409, "{v}");
    for bad in ["0s", "25h", "soon"] {
        let plan = json!({"steps": [steps[1]], "request_approval": true, "valid_for": bad});
        let (code, v) = post(&s, "/v1/plans", &agent, &plan);
        assert_eq!(code, 400, "{bad}: {v}");
        assert!(v["error"].as_str().unwrap().contains("valid_for"), "{v}");
    }

    // A halt stops a plan half run: resuming does not bring its grant back.
    let admin = s.admin.clone().unwrap();
    let two = json!({"steps": [steps[1], steps[2]], "request_approval": true});
    let (_, v) = post(&s, "/v1/plans", &agent, &two);
    let two_id = v["approval"]["id"].as_str().unwrap().to_owned();
    let (code, _) = post(
        &s,
        &format!("/v1/approvals/{two_id}/approve"),
        &alice,
        &json!({}),
    );
    assert_eq!(code, 200);
    let use_two = format!("/v1/actions?approval={two_id}");
    let (code, _) = post(&s, &use_two, &agent, &steps[1]);
    assert_eq!(code, 200);
    let scope = json!({"scope": "agent", "name": "kiro", "reason": "incident"});
    assert_eq!(post(&s, "/v1/halt", &admin, &scope).0, 200);
    let (_, v) = post(&s, &use_two, &agent, &steps[2]);
    assert_eq!(v["status"], "denied", "halted: {v}");
    assert_eq!(post(&s, "/v1/resume", &admin, &scope).0, 200);
    let (code, v) = post(&s, &use_two, &agent, &steps[2]);
    assert_eq!(code, 409, "the grant was revoked by the halt: {v}");
    assert!(v["error"].as_str().unwrap().contains("rejected"), "{v}");

    // An approved plan runs out: after valid_for it lets nothing through, and it
    // expires into a denial.
    let short = json!({"steps": [steps[1]], "request_approval": true, "valid_for": "1s"});
    let (code, v) = post(&s, "/v1/plans", &agent, &short);
    assert_eq!(code, 200, "{v}");
    let short_id = v["approval"]["id"].as_str().unwrap().to_owned();
    let (code, _) = post(
        &s,
        &format!("/v1/approvals/{short_id}/approve"),
        &alice,
        &json!({}),
    );
    assert_eq!(code, 200);
    std::thread::sleep(Duration::from_millis(1300));
    let (code, v) = post(
        &s,
        &format!("/v1/actions?approval={short_id}"),
        &agent,
        &steps[1],
    );
    assert_eq!(code, 409, "{v}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, v) = get(&s, &format!("/v1/actions/{short_id}"), &agent);
        if v["status"] == "expired" {
            assert!(
                v["resolution"]
                    .as_str()
                    .unwrap()
                    .contains("approved by alice"),
                "{v}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never expired: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
on_both_backends!(
    a_plan_approved_as_a_whole_runs_exactly_its_steps_in_order,
    a_plan_approved_as_a_whole_runs_exactly_its_steps_in_order
);

fn spot_checks_sample_logged_decisions_for_review(backend: Backend) {
    let backend = &backend;
    let s = start_on(backend, &|p| {
        p.replace(
            "spot_checks: { sample: 0.05 }",
            "spot_checks: { sample: 1 }",
        )
    });
    let admin = s.admin.clone().unwrap();
    let agent = new_key(&s, "/v1/agents", json!({"name": "builder"}));
    let alice = new_approver(&s, "alice");
    let viewer = new_key(
        &s,
        "/v1/humans",
        json!({"name": "vera", "roles": ["viewer"]}),
    );
    let mut logged = Vec::new();
    for n in 1..=3 {
        let call = hook(&format!(
            "kubectl scale deployment api --replicas={n} -n staging"
        ));
        let (code, v) = post(&s, "/v1/actions", &agent, &call);
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["decision"]["decision"], "log", "{v}");
        assert_eq!(v["allowed"], true);
        logged.push(v["id"].as_str().unwrap().to_owned());
    }
    let (_, read) = post(
        &s,
        "/v1/actions",
        &agent,
        &hook("kubectl get pods -n staging"),
    );
    let read_id = read["id"].as_str().unwrap().to_owned();

    // Every logged decision (sample 1) and nothing else is in the queue.
    let (code, v) = get(&s, "/v1/reviews", &viewer);
    assert_eq!(code, 200, "{v}");
    let mut due: Vec<String> = v["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    due.sort();
    let mut want = logged.clone();
    want.sort();
    assert_eq!(due, want, "{v}");
    assert_eq!(v["reviews"][0]["review"]["state"], "due");
    assert!(v["reviews"][0]["call"]["tool_input"]["command"].is_string());

    // Viewers look; approvers judge. `wrong` needs a comment.
    let verdict = |v: &str, c: &str| json!({"verdict": v, "comment": c});
    let path = |id: &str| format!("/v1/reviews/{id}");
    let (code, _) = post(&s, &path(&logged[0]), &viewer, &verdict("ok", ""));
    assert_eq!(code, 403);
    let (code, v) = post(&s, &path(&logged[0]), &alice, &verdict("wrong", " "));
    assert_eq!(code, 400, "{v}");
    let (code, v) = post(&s, &path(&logged[0]), &alice, &verdict("maybe", ""));
    assert_eq!(code, 400, "{v}");
    let (code, v) = post(
        &s,
        &path(&logged[0]),
        &alice,
        &verdict(
            "wrong",
            "scaling in staging during the freeze should be held",
        ),
    );
    assert_eq!((code, v["review"].as_str()), (200, Some("wrong")), "{v}");
    // The same through the CLI, as an on-call reviewer would.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
            .args(args)
            .env("AIRLOCK_SERVER", format!("http://{}", s.addr))
            .env("AIRLOCK_TOKEN", &alice)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let listed = cli(&["reviews", "list", "--agent", "builder"]);
    assert_eq!(listed["reviews"].as_array().unwrap().len(), 2, "{listed}");
    let v = cli(&["reviews", "ok", &logged[1]]);
    assert_eq!(v["review"], "ok", "{v}");
    // Once each; only sampled records; nothing of another kind.
    let (code, v) = post(&s, &path(&logged[0]), &alice, &verdict("ok", ""));
    assert_eq!(code, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("already reviewed by alice")
    );
    let (code, v) = post(&s, &path(&read_id), &alice, &verdict("ok", ""));
    assert_eq!(code, 409, "{v}");
    let (code, _) = post(&s, &path("act_nope"), &alice, &verdict("ok", ""));
    assert_eq!(code, 404);

    // The verdicts are recorded and listed by state; the wrong one raised an alert.
    let (_, v) = get(&s, "/v1/reviews?state=due", &viewer);
    assert_eq!(v["reviews"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = get(&s, "/v1/reviews?state=wrong", &viewer);
    assert_eq!(v["reviews"][0]["id"], logged[0].as_str(), "{v}");
    assert_eq!(v["reviews"][0]["review"]["verdict"]["reviewer"], "alice");
    assert_eq!(
        v["reviews"][0]["review"]["verdict"]["comment"],
        "scaling in staging during the freeze should be held"
    );
    let (_, v) = get(&s, &format!("/v1/approvals/{}", logged[0]), &viewer);
    assert_eq!(v["review"]["state"], "wrong", "{v}");
    let (code, _) = get(&s, "/v1/reviews?state=later", &viewer);
    assert_eq!(code, 400);
    let text = raw_get(&s.addr, "/metrics", &admin);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("airlock_reviews_wrong_total{agent=\"builder\"} 1"),
        "{text}"
    );
    if backend.postgres.is_none() {
        // The gauge counts every tenant: only this test's store is known to hold
        // exactly one.
        assert!(text.contains("airlock_reviews_due 1"), "{text}");
    }
}
on_both_backends!(
    spot_checks_sample_logged_decisions_for_review,
    spot_checks_sample_logged_decisions_for_review
);

/// The body of a GET as text.
fn raw_get(addr: &str, path: &str, token: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn a_gated_action_without_a_reason_is_refused_as_the_policy_says(backend: Backend) {
    let backend = &backend;
    let s = start_on(backend, &|p| {
        p.replace(
            "  - id: deletes\n",
            "  - id: deletes-need-a-reason\n    when: { effect: delete, reason: missing }\n    then: deny\n    message: say why (the call's description), then ask again\n\n  - id: deletes\n",
        )
    });
    let agent = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let call = |description: Option<&str>| {
        let mut input = json!({"command": "kubectl delete deployment api -n prod"});
        if let Some(d) = description {
            input["description"] = json!(d);
        }
        json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": input})
    };
    let (code, v) = post(&s, "/v1/actions", &agent, &call(None));
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "denied", "{v}");
    assert_eq!(v["decision"]["rules"][0], "deletes-need-a-reason", "{v}");
    assert!(
        v["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("say why")
    );
    let (_, v) = post(
        &s,
        "/v1/actions",
        &agent,
        &call(Some("the api deployment is stuck and must be recreated")),
    );
    assert_eq!(
        v["status"], "pending",
        "with a reason it goes to a human: {v}"
    );
    let id = v["id"].as_str().unwrap();
    let (_, shown) = get(
        &s,
        &format!("/v1/approvals/{id}"),
        s.admin.as_deref().unwrap(),
    );
    assert_eq!(
        shown["why"]["reason"],
        "the api deployment is stuck and must be recreated"
    );
}
on_both_backends!(
    a_gated_action_without_a_reason_is_refused_as_the_policy_says,
    a_gated_action_without_a_reason_is_refused_as_the_policy_says
);

fn a_zone_halt_stops_the_agents_the_inventory_places_there(backend: Backend) {
    let backend = &backend;
    let s = start_on(backend, &|p| {
        p.replacen(
            "groups:\n",
            "zones:\n  - name: batch\n\nroles:\n  everything:\n    grants:\n      - { effect: [read, write, delete, unknown] }\n\nagents:\n  ops-bot:\n    roles: [everything]\n    zone: batch\n  other-bot:\n    roles: [everything]\n\ngroups:\n",
            1,
        )
    });
    let admin = s.admin.clone().unwrap();
    let ops = new_key(&s, "/v1/agents", json!({"name": "ops-bot"}));
    let other = new_key(&s, "/v1/agents", json!({"name": "other-bot"}));
    // The calls name no zone: the inventory does.
    let (_, v) = post(
        &s,
        "/v1/actions",
        &ops,
        &hook("kubectl delete deployment api -n prod"),
    );
    assert_eq!(v["status"], "pending", "{v}");
    let held = v["id"].as_str().unwrap().to_owned();
    let scope = json!({"scope": "zone", "name": "batch", "reason": "batch jobs misbehave"});
    let (code, v) = post(&s, "/v1/halt", &admin, &scope);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["rejected_pending"], 1, "{v}");
    let (_, v) = get(&s, &format!("/v1/actions/{held}"), &ops);
    assert_eq!(v["status"], "rejected", "{v}");
    let (_, v) = post(&s, "/v1/actions", &ops, &hook("ls"));
    assert_eq!(v["status"], "denied", "in the halted zone: {v}");
    assert_eq!(v["decision"]["rules"][0], "airlock:halt", "{v}");
    let (_, v) = post(&s, "/v1/actions", &other, &hook("ls"));
    assert_eq!(v["status"], "allowed", "outside it: {v}");
}
on_both_backends!(
    a_zone_halt_stops_the_agents_the_inventory_places_there,
    a_zone_halt_stops_the_agents_the_inventory_places_there
);
