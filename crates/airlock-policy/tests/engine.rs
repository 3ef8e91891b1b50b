//! The decision semantics docs/policy.md promises, one behaviour per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_model::{Action, Decision, Tier};
use airlock_policy::Policy;

const NOW: &str = "2026-11-23T10:00:00Z"; // a Monday

fn policy(rules_and_more: &str) -> Policy {
    let src = format!(
        r#"airlock: 1
name: engine-test
defaults:
  unplaced: production
  unlisted_agents: rules
environments:
  - name: production
    match: [{{ names: ["prod-*"] }}, {{ profiles: [prod] }}]
  - name: staging
    match: [{{ names: ["stg-*"] }}]
  - name: dev
    match: [{{ workdir: true }}, {{ names: ["dev-*"] }}]
zones:
  - name: ai-tooling
  - name: mgmt
    plane: control
    match: [{{ kinds: ["aws:cloudformation:*"] }}]
  - name: data
    plane: data
    match: [{{ kinds: ["db:*"] }}]
groups:
  sre-leads: {{ members: [alice, bob, carol] }}
  dba: {{}}
{rules_and_more}"#
    );
    match Policy::load("t.yaml", &src, NOW.parse().unwrap()) {
        Ok(l) => l.policy,
        Err(e) => panic!("{e}\n{src}"),
    }
}

fn action(json: &str) -> Action {
    serde_json::from_str(json).unwrap()
}

fn decide_at(p: &Policy, json: &str, at: &str) -> Decision {
    p.decide(&action(json), at.parse().unwrap())
}

fn decide(p: &Policy, json: &str) -> Decision {
    decide_at(p, json, NOW)
}

#[test]
fn the_reason_is_one_plain_sentence_naming_rule_count_and_group() {
    let p = policy(
        "rules:\n  - id: prod-destructive\n    when: { effect_at_least: delete, environment: production }\n    then: approve\n    approvals: { from: sre-leads, count: 2, timeout: 30m }\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","operation":"ec2:TerminateInstances","effect":"delete"},"targets":[{"name":"prod-web"}],"magnitude":{"resources":12}}"#,
    );
    assert_eq!(d.decision, Tier::Approve);
    assert_eq!(
        d.reason,
        "Deleting 12 resources in production needs 2 approvals from sre-leads (rule prod-destructive)"
    );
    let ap = d.approval.unwrap();
    assert_eq!(ap.timeout_seconds, 1800);
    assert_eq!(ap.on_timeout, Tier::Deny);
}

/// Without targets the reason names the call: `tool operation`, or the operation
/// alone when it already names its tool (`ls`, not `ls ls`).
#[test]
fn a_call_without_targets_is_named_once() {
    let p = policy("rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n");
    for (tool, op, named) in [
        ("ls", "ls", "`ls`"),
        ("git", "git status", "`git status`"),
        ("aws", "s3:ListBuckets", "`aws s3:ListBuckets`"),
        ("cat", "", "`cat`"),
    ] {
        let d = decide(
            &p,
            &format!(
                r#"{{"who":{{"agent":"a"}},"what":{{"tool":"{tool}","operation":"{op}","effect":"read"}}}}"#
            ),
        );
        assert_eq!(
            d.reason,
            format!("Reading {named} in production is allowed (rule reads)")
        );
    }
}

#[test]
fn a_relaxing_rule_needs_every_target_a_restricting_rule_needs_one() {
    let p = policy(
        "rules:\n  - id: dev-writes\n    when: { effect: write, environment: dev }\n    then: allow\n  - id: prod-writes\n    when: { effect: write, environment: production, target: { names: [\"prod-db\"] } }\n    then: deny\n",
    );
    let both = r#"{"who":{"agent":"a"},"what":{"tool":"t","operation":"o","effect":"write"},"targets":[{"name":"dev-box"},{"name":"prod-db"}]}"#;
    let d = decide(&p, both);
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.rules, vec!["prod-writes"]);
    let mixed = r#"{"who":{"agent":"a"},"what":{"tool":"t","operation":"o","effect":"write"},"targets":[{"name":"dev-box"},{"name":"stg-api"}]}"#;
    let d = decide(&p, mixed);
    assert_eq!(
        d.decision,
        Tier::Deny,
        "staging is not dev, so the allow rule must not apply"
    );
    assert_eq!(d.rules, vec!["airlock:default-deny"]);
    let dev_only = r#"{"who":{"agent":"a"},"what":{"tool":"t","operation":"o","effect":"write"},"targets":[{"name":"dev-box"},{"name":"dev-db"}]}"#;
    assert_eq!(decide(&p, dev_only).decision, Tier::Allow);
}

#[test]
fn files_in_the_workdir_are_dev_and_escapes_are_not() {
    let p = policy(
        "rules:\n  - id: dev-writes\n    when: { effect: write, environment: dev }\n    then: log\n",
    );
    let file = |path: &str| {
        format!(
            r#"{{"who":{{"agent":"a","workdir":"/home/u/repo"}},"what":{{"tool":"Write","effect":"write"}},"targets":[{{"kind":"file","path":"{path}"}}]}}"#
        )
    };
    assert_eq!(decide(&p, &file("src/main.rs")).decision, Tier::Log);
    assert_eq!(
        decide(&p, &file("/home/u/repo/src/main.rs")).decision,
        Tier::Log
    );
    assert_eq!(decide(&p, &file("../other/x")).decision, Tier::Deny);
    assert_eq!(
        decide(&p, &file("/home/u/repository/x")).decision,
        Tier::Deny
    );
    assert_eq!(decide(&p, &file("/etc/passwd")).decision, Tier::Deny);
    let d = decide(&p, &file("/etc/passwd"));
    assert_eq!(d.placements[0].environment, "production");
    assert_eq!(d.placements[0].by, "unplaced");
}

#[test]
fn a_stated_environment_is_taken_only_when_stricter() {
    let p = policy(
        "rules:\n  - id: dev-writes\n    when: { effect: write, environment: dev }\n    then: log\n  - id: prod-writes\n    when: { effect: write, environment: production }\n    then: deny\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"prod-db","environment":"dev"}]}"#,
    );
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.placements[0].by, "match");
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-db","environment":"production"}]}"#,
    );
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.placements[0].by, "stated");
}

#[test]
fn listed_agents_are_limited_to_their_grants_and_cannot_claim_roles() {
    let p = policy(
        "roles:\n  reader: { grants: [{ effect: read }] }\n  writer: { grants: [{ effect: [read, write] }] }\nagents:\n  kiro: { operator: dave, roles: [reader], labels: { team: billing } }\n  bot: { roles: [writer] }\nrules:\n  - id: all-writes\n    when: { effect: write }\n    then: log\n  - id: reads\n    when: { effect: read }\n    then: allow\n  - id: billing\n    when: { agent: { labels: { team: billing } }, effect: delete }\n    then: deny\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"kiro","roles":["writer"]},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]}"#,
    );
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.rules, vec!["airlock:not-granted"]);
    assert!(d.reason.contains("roles reader"), "{}", d.reason);
    let d = decide(
        &p,
        r#"{"who":{"agent":"bot"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]}"#,
    );
    assert_eq!(d.decision, Tier::Log);
    // Labels come from the inventory: a listed agent cannot shed its team label.
    let d = decide(
        &p,
        r#"{"who":{"agent":"kiro","labels":{"team":"other"}},"what":{"tool":"t","effect":"read"}}"#,
    );
    assert_eq!(d.decision, Tier::Allow);
    // Unlisted agents' claimed roles are ignored; only the rules apply.
    let d = decide(
        &p,
        r#"{"who":{"agent":"stranger","roles":["writer"]},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]}"#,
    );
    assert_eq!(d.decision, Tier::Log);
}

#[test]
fn unlisted_agents_are_denied_by_default() {
    let src = "airlock: 1\nname: x\ndefaults: { unplaced: production }\nenvironments: [{ name: production }]\nrules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n";
    let p = Policy::load("x", src, NOW.parse().unwrap()).unwrap().policy;
    let d = decide(
        &p,
        r#"{"who":{"agent":"ghost"},"what":{"tool":"t","effect":"read"}}"#,
    );
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.rules, vec!["airlock:unlisted-agent"]);
    assert!(d.reason.contains("ghost"));
}

#[test]
fn every_matching_approve_rule_adds_its_requirement() {
    let p = policy(
        "rules:\n  - id: deletes\n    when: { effect: delete }\n    then: approve\n    approvals: { from: sre-leads, count: 2, timeout: 1h }\n  - id: data-deletes\n    when: { effect: delete, zone: data }\n    then: approve\n    approvals: { from: dba, count: 1, timeout: 15m }\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"psql","effect":"delete"},"targets":[{"kind":"db:table","name":"prod-orders"}]}"#,
    );
    let ap = d.approval.unwrap();
    assert_eq!(ap.requirements.len(), 2);
    assert_eq!(ap.timeout_seconds, 900);
    assert!(
        d.reason
            .contains("2 approvals from sre-leads and 1 approval from dba"),
        "{}",
        d.reason
    );
}

#[test]
fn requirements_on_the_same_group_merge() {
    let p = policy(
        "rules:\n  - id: writes\n    when: { effect_at_least: write }\n    then: approve\n    approvals: { from: sre-leads, count: 2, timeout: 30m }\n  - id: deletes\n    when: { effect: delete }\n    then: approve\n    approvals: { from: sre-leads, count: 1, timeout: 20m }\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"delete"}}"#,
    );
    let ap = d.approval.unwrap();
    assert_eq!(ap.requirements.len(), 1);
    assert_eq!(ap.requirements[0].approvals, 2);
    assert_eq!(ap.requirements[0].rules, vec!["writes", "deletes"]);
    assert_eq!(ap.timeout_seconds, 1200);
}

#[test]
fn stated_intent_can_be_required() {
    let p = policy(
        "rules:\n  - id: writes\n    when: { effect: write }\n    then: log\n  - id: no-plan\n    when: { effect: write, alternatives: missing }\n    then: deny\n  - id: no-rollback\n    when: { effect: write, rollback: missing }\n    then: deny\n",
    );
    let base =
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]"#;
    assert_eq!(
        decide(&p, &format!("{base}}}")).rules,
        vec!["no-plan", "no-rollback"]
    );
    assert_eq!(
        decide(
            &p,
            &format!(r#"{base},"why":{{"alternatives":["patch"]}}}}"#)
        )
        .rules,
        vec!["no-rollback"]
    );
    assert_eq!(
        decide(
            &p,
            &format!(r#"{base},"why":{{"alternatives":[" "],"rollback":"redeploy"}}}}"#)
        )
        .rules,
        vec!["no-plan"]
    );
    assert_eq!(
        decide(
            &p,
            &format!(r#"{base},"why":{{"alternatives":["patch"],"rollback":"redeploy"}}}}"#)
        )
        .decision,
        Tier::Log
    );
}

#[test]
fn an_unknown_effect_is_raised_to_the_floor() {
    let p = policy("rules:\n  - id: everything\n    when: { tool: bash }\n    then: allow\n");
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"bash","operation":"$cmd","effect":"unknown"}}"#,
    );
    assert_eq!(d.decision, Tier::Approve);
    assert_eq!(d.rules, vec!["airlock:unknown-effect"]);
    let strict = policy("rules:\n  - id: everything\n    when: { tool: bash }\n    then: allow\n")
        .decide(
            &action(r#"{"who":{"agent":"a"},"what":{"tool":"bash","effect":"read"}}"#),
            NOW.parse().unwrap(),
        );
    assert_eq!(strict.decision, Tier::Allow);
}

#[test]
fn at_least_in_a_restricting_rule_covers_unknown() {
    let p = policy(
        "rules:\n  - id: everything\n    when: { tool: bash }\n    then: allow\n  - id: no-destruction-in-prod\n    when: { effect_at_least: delete, environment: production }\n    then: deny\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"bash","effect":"unknown"},"targets":[{"name":"prod-db"}]}"#,
    );
    assert_eq!(d.decision, Tier::Deny);
    assert_eq!(d.rules, vec!["no-destruction-in-prod"]);
}

#[test]
fn exceptions_apply_only_inside_their_window() {
    let p = policy(
        "rules:\n  - id: prod-writes\n    when: { effect: write, environment: production }\n    then: approve\n    approvals: { from: sre-leads, count: 1, timeout: 1h }\nexceptions:\n  - id: CHG-7\n    ticket: CHG-7\n    when: { agent: { ids: [deploy-bot] }, effect: write, environment: production }\n    waive: [prod-writes]\n    starts: 2026-11-23T09:00:00Z\n    expires: 2026-11-23T11:00:00Z\n",
    );
    let a = r#"{"who":{"agent":"deploy-bot"},"what":{"tool":"kubectl","operation":"apply","effect":"write"},"targets":[{"name":"prod-api"}]}"#;
    let d = decide_at(&p, a, "2026-11-23T10:00:00Z");
    assert_eq!(d.decision, Tier::Log);
    assert_eq!(d.exceptions, vec!["CHG-7"]);
    assert!(d.reason.contains("exception CHG-7"), "{}", d.reason);
    assert_eq!(
        decide_at(&p, a, "2026-11-23T08:59:59Z").decision,
        Tier::Approve
    );
    assert_eq!(
        decide_at(&p, a, "2026-11-23T11:00:00Z").decision,
        Tier::Approve
    );
    let other = a.replace("deploy-bot", "kiro");
    assert_eq!(
        decide_at(&p, &other, "2026-11-23T10:00:00Z").decision,
        Tier::Approve
    );
}

#[test]
fn time_windows_follow_the_utc_offset() {
    let p = policy(
        "rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n  - id: freeze\n    when: { effect_at_least: write, outside: { days: mon-fri, hours: \"09:00-17:00\", utc_offset: \"+01:00\" } }\n    then: deny\n  - id: writes\n    when: { effect: write }\n    then: log\n",
    );
    let w = r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]}"#;
    assert_eq!(
        decide_at(&p, w, "2026-11-23T08:30:00Z").decision,
        Tier::Log,
        "09:30 local on a Monday"
    );
    assert_eq!(
        decide_at(&p, w, "2026-11-23T07:30:00Z").decision,
        Tier::Deny,
        "08:30 local"
    );
    assert_eq!(
        decide_at(&p, w, "2026-11-22T12:00:00Z").decision,
        Tier::Deny,
        "Sunday"
    );
    assert_eq!(
        decide_at(&p, w, "2026-11-27T15:59:00Z").decision,
        Tier::Log,
        "16:59 local on a Friday"
    );
}

#[test]
fn observe_and_alert_rules_report_without_enforcing() {
    let p = policy(
        "rules:\n  - id: writes\n    when: { effect: write }\n    then: log\n  - id: trial-deny\n    when: { effect: write, environment: production }\n    then: deny\n    mode: observe\n  - id: cross-zone\n    when: { cross_zone: true, effect_at_least: write }\n    then: deny\n    mode: alert\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a","zone":"ai-tooling"},"what":{"tool":"t","effect":"write"},"targets":[{"kind":"aws:cloudformation:stack","name":"prod-s"}]}"#,
    );
    assert_eq!(d.decision, Tier::Log);
    assert_eq!(d.observed.len(), 2);
    assert!(d.observed.iter().all(|o| o.would == Tier::Deny));
    assert_eq!(d.alerts, vec!["cross-zone"]);
    let same_zone = decide(
        &p,
        r#"{"who":{"agent":"a","zone":"mgmt"},"what":{"tool":"t","effect":"write"},"targets":[{"kind":"aws:cloudformation:stack","name":"dev-s"}]}"#,
    );
    assert!(same_zone.alerts.is_empty());
}

#[test]
fn magnitude_thresholds_need_known_values() {
    let p = policy(
        "rules:\n  - id: writes\n    when: { effect: write }\n    then: allow\n  - id: expensive\n    when: { cost_over: 1000 }\n    then: approve\n    approvals: { from: sre-leads, count: 1, timeout: 1h }\n  - id: wide\n    when: { resources_over: 5 }\n    then: approve\n    approvals: { from: dba, count: 1, timeout: 1h }\n",
    );
    let w = |m: &str| {
        format!(
            r#"{{"who":{{"agent":"a"}},"what":{{"tool":"t","effect":"write"}},"targets":[{{"name":"dev-x"}}],"magnitude":{m}}}"#
        )
    };
    assert_eq!(decide(&p, &w("{}")).decision, Tier::Allow);
    assert_eq!(
        decide(&p, &w(r#"{"cost_usd":1000.5}"#)).rules,
        vec!["expensive"]
    );
    assert_eq!(decide(&p, &w(r#"{"cost_usd":999}"#)).decision, Tier::Allow);
    assert_eq!(decide(&p, &w(r#"{"resources":6}"#)).rules, vec!["wide"]);
    assert_eq!(decide(&p, &w(r#"{"resources":5}"#)).decision, Tier::Allow);
}

#[test]
fn planes_and_target_selectors_match_per_target() {
    let p = policy(
        "rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n  - id: control-plane\n    when: { plane: control, effect_at_least: write }\n    then: deny\n  - id: data-writes\n    when: { plane: data, effect: write }\n    then: log\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"aws","effect":"write"},"targets":[{"kind":"aws:cloudformation:stack","name":"dev-s"}]}"#,
    );
    assert_eq!(d.rules, vec!["control-plane"]);
    assert_eq!(d.placements[0].zone.as_deref(), Some("mgmt"));
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"psql","effect":"write"},"targets":[{"kind":"db:table","name":"dev-t"}]}"#,
    );
    assert_eq!(d.decision, Tier::Log);
}

#[test]
fn reason_missing_can_gate_an_action() {
    let p = policy(
        "rules:\n  - id: writes\n    when: { effect: write }\n    then: log\n  - id: explain-yourself\n    when: { effect: write, reason: missing }\n    then: deny\n    message: state why\n",
    );
    let base =
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"write"},"targets":[{"name":"dev-x"}]"#;
    assert_eq!(decide(&p, &format!("{base}}}")).decision, Tier::Deny);
    assert_eq!(
        decide(&p, &format!(r#"{base},"why":{{"reason":"  "}}}}"#)).decision,
        Tier::Deny
    );
    assert_eq!(
        decide(&p, &format!(r#"{base},"why":{{"reason":"fix bug 12"}}}}"#)).decision,
        Tier::Log
    );
}

#[test]
fn operations_and_tools_ignore_case_names_do_not() {
    let p = policy(
        "rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n  - id: no-stack-deletes\n    when: { operation: \"cloudformation:deletestack\", effect: delete }\n    then: deny\n  - id: deletes\n    when: { effect: delete }\n    then: approve\n    approvals: { from: sre-leads, count: 1, timeout: 1h }\n",
    );
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"AWS","operation":"CloudFormation:DeleteStack","effect":"delete"}}"#,
    );
    assert_eq!(d.rules, vec!["no-stack-deletes"]);
    // Names are exact: `PROD-db` is not `prod-*`, so it is unplaced, which is production anyway.
    let d = decide(
        &p,
        r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"read"},"targets":[{"name":"PROD-db"}]}"#,
    );
    assert_eq!(d.placements[0].by, "unplaced");
    assert_eq!(d.placements[0].environment, "production");
}

/// The rules the MCP gateway may trust to deny a tool whatever its arguments: on
/// the agent, tool and operation only (or the effect, when the tool's effect is
/// mapped), enforced, without `unless`, and waived by no exception.
#[test]
fn argument_free_rules_are_those_that_cannot_see_the_arguments() {
    let src = r#"airlock: 1
name: argument-free
defaults: { unplaced: production, unlisted_agents: deny }
environments:
  - name: production
rules:
  - { id: no-writes, when: { tool: "mcp:fs", operation: [write_file] }, then: deny }
  - { id: by-effect, when: { tool: "mcp:fs", effect: delete }, then: deny }
  - { id: by-target, when: { tool: "mcp:fs", environment: production }, then: deny }
  - { id: observed, when: { tool: "mcp:fs" }, then: deny, mode: observe }
  - { id: waived, when: { tool: "mcp:fs", operation: [read_file] }, then: deny }
  - { id: unless-reason, when: { tool: "mcp:fs", operation: [edit_file] }, unless: { reason: given }, then: deny }
exceptions:
  - { id: x, ticket: OPS-1, when: { tool: "mcp:fs" }, waive: [waived], then: allow, expires: "2030-01-01T00:00:00Z" }
"#;
    let p = match Policy::load("t.yaml", src, "2026-12-06T00:00:00Z".parse().unwrap()) {
        Ok(l) => l.policy,
        Err(e) => panic!(
            "{}",
            e.diagnostics
                .iter()
                .map(|d| d.render("t.yaml"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    assert!(p.rule_is_argument_free("no-writes", false));
    assert!(p.rule_is_argument_free("airlock:unlisted-agent", false));
    assert!(!p.rule_is_argument_free("by-effect", false));
    assert!(p.rule_is_argument_free("by-effect", true));
    assert!(!p.rule_is_argument_free("by-target", true));
    assert!(!p.rule_is_argument_free("observed", true));
    assert!(!p.rule_is_argument_free("waived", true));
    assert!(!p.rule_is_argument_free("unless-reason", true));
    assert!(!p.rule_is_argument_free("airlock:default-deny", true));
    assert!(!p.rule_is_argument_free("no-such-rule", true));
}
