//! Invariants of the decision engine, over generated policies and actions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_model::{Action, Effect, Magnitude, Target, Tier, What, Who, Why};
use airlock_policy::{Decider, Policy};
use proptest::prelude::*;

const OPS: [&str; 8] = [
    "cloudformation:DeleteStack",
    "cloudformation:CreateStack",
    "s3:GetObject",
    "s3:PutObject",
    "ec2:TerminateInstances",
    "iam:AttachRolePolicy",
    "rm",
    "psql",
];
const TOOLS: [&str; 4] = ["aws", "bash", "kubectl", "psql"];
const AGENTS: [&str; 3] = ["kiro", "deploy-bot", "ci-runner"];
const NAMES: [&str; 6] = [
    "prod-db",
    "prod-stack",
    "stg-api",
    "dev-box",
    "mystery",
    "billing-prod",
];
const KINDS: [&str; 4] = [
    "aws:cloudformation:stack",
    "db:table",
    "k8s:namespace",
    "file",
];
const EFFECTS: [Effect; 5] = [
    Effect::Read,
    Effect::Write,
    Effect::Delete,
    Effect::Permissions,
    Effect::Unknown,
];
const TIERS: [&str; 4] = ["allow", "log", "approve", "deny"];
const T0: i64 = 1_795_000_000; // 2026-11-18

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap()
}

fn effect() -> impl Strategy<Value = Effect> {
    prop::sample::select(EFFECTS.to_vec())
}

fn target() -> impl Strategy<Value = Target> {
    (
        prop::sample::select(NAMES.to_vec()),
        prop::sample::select(KINDS.to_vec()),
        prop::option::of(prop::sample::select(vec!["production", "staging", "dev"])),
        prop::option::of(prop::sample::select(vec!["billing", "search"])),
    )
        .prop_map(|(name, kind, env, svc)| Target {
            kind: kind.into(),
            name: name.into(),
            environment: env.map(Into::into),
            labels: svc
                .map(|s| [("svc".to_owned(), s.to_owned())].into())
                .unwrap_or_default(),
            ..Target::default()
        })
}

fn action() -> impl Strategy<Value = Action> {
    let what = (
        prop::sample::select(TOOLS.to_vec()),
        prop::sample::select(OPS.to_vec()),
        effect(),
        any::<bool>(),
    );
    let who = (
        prop::sample::select(AGENTS.to_vec()),
        prop::option::of(prop::sample::select(vec!["t1", "t2"])),
    );
    let size = (
        prop::option::of(0u64..40),
        prop::option::of(0.0f64..5000.0),
        any::<bool>(),
        any::<bool>(),
    );
    (who, what, prop::collection::vec(target(), 0..3), size).prop_map(
        |(
            (agent, team),
            (tool, op, effect, bulk),
            targets,
            (resources, cost, irreversible, reason),
        )| Action {
            id: None,
            who: Who {
                agent: agent.into(),
                labels: team
                    .map(|t| [("team".to_owned(), t.to_owned())].into())
                    .unwrap_or_default(),
                ..Who::default()
            },
            what: What {
                tool: tool.into(),
                operation: op.into(),
                effect,
                bulk,
            },
            targets,
            magnitude: Magnitude {
                resources,
                cost_usd: cost,
                irreversible,
            },
            why: Why {
                reason: reason.then(|| "fix the bug".to_owned()),
                ..Why::default()
            },
        },
    )
}

/// One rule as YAML. `k` makes the id unique.
fn rule(k: usize) -> impl Strategy<Value = String> {
    let what = (
        prop::option::of(prop::sample::select(OPS.to_vec())),
        prop::option::of(prop::sample::select(TOOLS.to_vec())),
        prop::option::of(prop::sample::subsequence(EFFECTS.to_vec(), 1..3)),
    );
    let who = (
        prop::option::of(prop::sample::select(AGENTS.to_vec())),
        prop::option::of(prop::sample::select(vec!["t1", "t2"])),
    );
    let on = (
        prop::option::of(prop::sample::select(vec!["production", "staging", "dev"])),
        prop::option::of(prop::sample::select(KINDS.to_vec())),
        prop::option::of(prop::sample::select(NAMES.to_vec())),
        prop::option::of(prop::sample::select(vec!["billing", "search"])),
        prop::option::of(0u64..20),
    );
    let then = (
        prop::sample::select(TIERS.to_vec()),
        prop::sample::select(vec!["enforce", "enforce", "observe", "alert"]),
    );
    (what, who, on, then).prop_map(
        move |((op, tool, effects), (agent, team), (env, kind, name, svc, over), (tier, mode))| {
            let mut when = Vec::new();
            if let Some(o) = op {
                when.push(format!("operation: \"{o}\""));
            }
            if let Some(t) = tool {
                when.push(format!("tool: {t}"));
            }
            match (agent, team) {
                (Some(a), Some(t)) => {
                    when.push(format!("agent: {{ ids: [{a}], labels: {{ team: {t} }} }}"))
                }
                (Some(a), None) => when.push(format!("agent: {{ ids: [{a}] }}")),
                (None, Some(t)) => when.push(format!("agent: {{ labels: {{ team: {t} }} }}")),
                (None, None) => {}
            }
            if let Some(e) = effects {
                let e: Vec<&str> = e.iter().map(|e| e.as_str()).collect();
                when.push(format!("effect: [{}]", e.join(", ")));
            }
            if let Some(e) = env {
                when.push(format!("environment: {e}"));
            }
            let mut target = Vec::new();
            if let Some(k) = kind {
                target.push(format!("kinds: [\"{k}\"]"));
            }
            if let Some(n) = name {
                target.push(format!("names: [{n}]"));
            }
            if let Some(v) = svc {
                target.push(format!("labels: {{ svc: {v} }}"));
            }
            if !target.is_empty() {
                when.push(format!("target: {{ {} }}", target.join(", ")));
            }
            if let Some(n) = over {
                when.push(format!("resources_over: {n}"));
            }
            let approvals = if tier == "approve" {
                "\n    approvals: { from: leads, count: 1, timeout: 1h }"
            } else {
                ""
            };
            format!(
                "  - id: r{k}\n    when: {{ {} }}\n    then: {tier}\n    mode: {mode}{approvals}\n",
                when.join(", ")
            )
        },
    )
}

fn rules(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<String>> {
    n.prop_flat_map(|n| (0..n).map(rule).collect::<Vec<_>>())
}

fn policy_yaml(rules: &[String], extra: &str) -> String {
    format!(
        r#"airlock: 1
name: generated
defaults:
  unplaced: production
  unlisted_agents: rules
environments:
  - name: production
    match: [{{ names: ["prod-*", "*-prod"] }}]
  - name: staging
    match: [{{ names: ["stg-*"] }}]
  - name: dev
    match: [{{ names: ["dev-*"] }}]
groups:
  leads: {{}}
rules:
{}{extra}"#,
        if rules.is_empty() {
            "  []\n".to_owned()
        } else {
            rules.concat()
        }
    )
    .replace("rules:\n  []\n", "rules: []\n")
}

/// Loads a generated policy, or `None` when the linter rejects it (a generated rule
/// shadowed by another, say): those cases are skipped, not failed.
fn load(src: &str) -> Option<Policy> {
    Policy::load("gen.yaml", src, at(T0)).ok().map(|l| l.policy)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn decisions_are_deterministic(rules in rules(0..8), a in action()) {
        let src = policy_yaml(&rules, "");
        let Some(p) = load(&src) else { return Err(TestCaseError::reject("lint")) };
        let again = load(&src).unwrap();
        let d1 = p.decide(&a, at(T0));
        prop_assert_eq!(&d1, &p.decide(&a, at(T0)));
        prop_assert_eq!(&d1, &again.decide(&a, at(T0)));
    }

    #[test]
    fn the_index_never_misses_a_rule(rules in rules(0..12), a in action()) {
        let Some(p) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        prop_assert_eq!(p.evaluate(&a, at(T0)), p.evaluate_exhaustive(&a, at(T0)));
    }

    #[test]
    fn nothing_is_allowed_without_a_matching_rule(rules in rules(0..8), a in action()) {
        let Some(p) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        let v = p.evaluate(&a, at(T0));
        if v.tier.is_permissive() {
            prop_assert!(v.deciders.iter().any(|d| matches!(d, Decider::Rule(_) | Decider::Exception(_))), "{v:?}");
        }
        if v.deciders.contains(&Decider::DefaultDeny) {
            prop_assert_eq!(v.tier, Tier::Deny);
        }
    }

    #[test]
    fn an_empty_policy_denies_everything(a in action()) {
        let p = load(&policy_yaml(&[], "")).unwrap();
        let v = p.evaluate(&a, at(T0));
        prop_assert_eq!(v.tier, Tier::Deny);
        prop_assert_eq!(v.deciders.as_slice(), &[Decider::DefaultDeny]);
    }

    #[test]
    fn adding_a_deny_rule_never_weakens_a_decision(rules in rules(0..8), extra in rule(99), a in action()) {
        let Some(before) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        let deny = extra
            .replace("then: allow", "then: deny").replace("then: log", "then: deny").replace("then: approve", "then: deny")
            .replace("mode: observe", "mode: enforce").replace("mode: alert", "mode: enforce")
            .replace("\n    approvals: { from: leads, count: 1, timeout: 1h }", "");
        let mut with = rules.clone();
        with.push(deny);
        let Some(after) = load(&policy_yaml(&with, "")) else { return Err(TestCaseError::reject("lint")) };
        prop_assert!(after.evaluate(&a, at(T0)).tier >= before.evaluate(&a, at(T0)).tier);
    }

    #[test]
    fn observe_and_alert_rules_never_change_the_enforced_decision(rules in rules(0..8), extra in rule(99), mode in prop::sample::select(vec!["observe", "alert"]), a in action()) {
        let Some(before) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        let observed = extra.replace("mode: enforce", &format!("mode: {mode}")).replace("mode: observe", &format!("mode: {mode}")).replace("mode: alert", &format!("mode: {mode}"));
        let mut with = rules.clone();
        with.push(observed);
        let Some(after) = load(&policy_yaml(&with, "")) else { return Err(TestCaseError::reject("lint")) };
        let (b, x) = (before.decide(&a, at(T0)), after.decide(&a, at(T0)));
        prop_assert_eq!(b.decision, x.decision);
        prop_assert_eq!(b.rules, x.rules);
        prop_assert_eq!(b.approval, x.approval);
    }

    #[test]
    fn an_unknown_effect_is_never_allowed_without_approval(rules in rules(0..8), mut a in action()) {
        a.what.effect = Effect::Unknown;
        let Some(p) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        prop_assert!(p.evaluate(&a, at(T0)).tier >= Tier::Approve);
        let default = Policy::builtin_default().unwrap();
        prop_assert!(default.evaluate(&a, at(T0)).tier >= Tier::Approve);
    }

    #[test]
    fn an_expired_exception_grants_nothing(rules in rules(1..8), a in action(), waive_all in any::<bool>(), tier in prop::sample::select(vec!["allow", "log"]), after in 0i64..10_000_000) {
        let Some(without) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        let ids: Vec<String> = (0..rules.len()).map(|k| format!("r{k}")).collect();
        let waive = if waive_all { ids.join(", ") } else { ids[0].clone() };
        // Expires at T0; decided at T0 + after (never before expiry).
        let exception = format!("exceptions:\n  - id: CHG-1\n    ticket: CHG-1\n    waive: [{waive}]\n    then: {tier}\n    expires: {}\n", at(T0));
        let Some(with) = load(&policy_yaml(&rules, &exception)) else { return Err(TestCaseError::reject("lint")) };
        let when = at(T0 + after);
        let (x, y) = (without.evaluate(&a, when), with.evaluate(&a, when));
        prop_assert_eq!(x.tier, y.tier);
        prop_assert_eq!(x.deciders, y.deciders);
        prop_assert!(y.exceptions.is_empty());
    }

    #[test]
    fn a_stated_environment_never_relaxes_placement(rules in rules(0..8), mut a in action(), env in prop::sample::select(vec!["production", "staging", "dev"])) {
        let Some(p) = load(&policy_yaml(&rules, "")) else { return Err(TestCaseError::reject("lint")) };
        for t in &mut a.targets {
            t.environment = None;
        }
        let placed = p.evaluate(&a, at(T0)).placements;
        for t in &mut a.targets {
            t.environment = Some(env.to_owned());
        }
        let claimed = p.evaluate(&a, at(T0)).placements;
        // Environments are indexed most sensitive first: a claim may lower the index
        // (stricter), never raise it.
        for (before, after) in placed.iter().zip(&claimed) {
            prop_assert!(after.env <= before.env, "{before:?} -> {after:?}");
        }
    }
}

/// Zones exercising every placement path: literal kinds, `:`-prefixes (both hashed),
/// a selector with more than kinds and an infix glob (both scanned in order).
const ZONED: &str = r#"airlock: 1
name: zones
defaults: { unplaced: production, unlisted_agents: rules }
environments: [{ name: production }]
zones:
  - name: z0
    match: [{ kinds: ["aws:cloudformation:*", "k8s:namespace"] }]
  - name: z1
    match: [{ kinds: ["db:*"], names: ["prod-*"] }]
  - name: z2
    match: [{ kinds: ["aws:*", "DB:Table"] }]
  - name: z3
    match: [{ kinds: ["*stack*"] }]
rules:
  - id: reads
    when: { effect: read }
    then: allow
"#;

/// The zones above, as a plain first-match scan.
fn naive_zone(kind: &str, name: &str) -> Option<&'static str> {
    use airlock_policy::glob::{Case, Glob};
    let any = |pats: &[&str]| {
        pats.iter()
            .any(|p| Glob::new(p, Case::Insensitive).is_match(kind))
    };
    if any(&["aws:cloudformation:*", "k8s:namespace"]) {
        Some("z0")
    } else if any(&["db:*"]) && Glob::new("prod-*", Case::Sensitive).is_match(name) {
        Some("z1")
    } else if any(&["aws:*", "DB:Table"]) {
        Some("z2")
    } else if any(&["*stack*"]) {
        Some("z3")
    } else {
        None
    }
}

proptest! {
    #[test]
    fn indexed_placement_is_first_match_placement(
        kind in prop::sample::select(vec!["aws:cloudformation:stack", "AWS:CloudFormation:Stack", "aws:s3:bucket", "k8s:namespace", "k8s:namespace:x", "db:table", "DB:TABLE", "db:view", "gcp:stack", "aws:", "aws", "", "stack"]),
        name in prop::sample::select(vec!["prod-db", "dev-db", ""]),
    ) {
        let p = Policy::load("z.yaml", ZONED, at(T0)).unwrap().policy;
        let a = Action {
            id: None,
            who: Who { agent: "a".into(), ..Who::default() },
            what: What { tool: "t".into(), operation: String::new(), effect: Effect::Read, bulk: false },
            targets: vec![Target { kind: kind.into(), name: name.into(), ..Target::default() }],
            magnitude: Magnitude::default(),
            why: Why::default(),
        };
        let d = p.decide(&a, at(T0));
        prop_assert_eq!(d.placements[0].zone.as_deref(), naive_zone(kind, name), "kind {:?} name {:?}", kind, name);
    }
}
