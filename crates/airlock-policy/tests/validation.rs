//! Bad policies are rejected whole, and each finding points at the right line, key
//! and problem.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_policy::{Diagnostic, Policy, Severity};

const NOW: &str = "2026-11-23T10:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().unwrap()
}

/// A valid policy; `extra` is appended (so tests can add sections or rules).
fn base(extra: &str) -> String {
    format!(
        r#"airlock: 1
name: test
defaults:
  unplaced: production
environments:
  - name: production
    match:
      - names: ["prod-*"]
  - name: dev
    match:
      - workdir: true
zones:
  - name: mgmt
    plane: control
groups:
  leads: {{ members: [alice, bob] }}
  oncall: {{}}
roles:
  reader:
    grants:
      - {{ effect: read }}
agents:
  kiro:
    roles: [reader]
{extra}"#
    )
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match Policy::load("p.yaml", src, now()) {
        Ok(_) => panic!("policy should have been rejected:\n{src}"),
        Err(e) => {
            assert_eq!(e.file, "p.yaml");
            e.diagnostics
        }
    }
}

/// Asserts that one error sits on `line` (1-based, in the full source), names `key`
/// and says `needle`.
#[track_caller]
fn assert_error(src: &str, line: usize, key: &str, needle: &str) {
    let errs = errors(src);
    let hit = errs.iter().any(|d| {
        d.severity == Severity::Error
            && d.line == line
            && d.key.contains(key)
            && d.message.contains(needle)
    });
    assert!(
        hit,
        "no error at line {line} with key `{key}` saying `{needle}`; got:\n{errs:#?}"
    );
}

/// 1-based line number of the first line containing `needle`.
fn line_of(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in source"))
}

#[test]
fn the_base_policy_loads() {
    let src = without_unknown_holds(&base(
        "rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n",
    ));
    let loaded = Policy::load("p.yaml", &src, now()).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.policy.rule_count(), 1);
    assert!(loaded.policy.version().starts_with("sha256:"));
}

#[test]
fn the_builtin_default_policy_loads_without_findings() {
    let l = Policy::load("default", airlock_policy::DEFAULT_POLICY_YAML, now()).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert!(Policy::builtin_default().is_ok());
}

#[test]
fn unknown_key_is_reported_with_its_line_and_the_expected_keys() {
    let src = base("rules:\n  - id: r\n    thn: allow\n");
    let line = line_of(&src, "thn:");
    assert_error(&src, line, "thn", "unknown field `thn`");
    let errs = errors(&src);
    assert!(errs[0].message.contains("expected one of"), "{errs:?}");
}

#[test]
fn unknown_top_level_section_is_reported() {
    let src = base("rulez: []\n");
    assert_error(
        &src,
        line_of(&src, "rulez"),
        "rulez",
        "unknown field `rulez`",
    );
}

#[test]
fn wrong_type_is_reported_at_the_value() {
    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: two, timeout: 1h }\n",
    );
    let line = line_of(&src, "count: two");
    let errs = errors(&src);
    assert!(
        errs.iter().any(|d| d.line == line && d.column > 0),
        "{errs:?}"
    );
}

#[test]
fn unknown_tier_lists_the_valid_ones() {
    let src = base("rules:\n  - id: r\n    then: maybe\n");
    assert_error(
        &src,
        line_of(&src, "then: maybe"),
        "then",
        "unknown variant `maybe`",
    );
    let errs = errors(&src);
    assert!(
        errs[0].message.contains("allow") && errs[0].message.contains("deny"),
        "{errs:?}"
    );
}

#[test]
fn duplicate_keys_are_rejected() {
    let src = base("rules:\n  - id: r\n    then: allow\n    then: deny\n");
    let errs = errors(&src);
    assert!(
        errs.iter().any(|d| d.message.contains("duplicate")),
        "{errs:?}"
    );
}

#[test]
fn yaml_syntax_errors_point_at_the_line() {
    let src = base("rules: [\n");
    let errs = errors(&src);
    assert!(errs[0].line >= line_of(&src, "rules: ["), "{errs:?}");
}

#[test]
fn unsupported_language_version_is_rejected() {
    let src = base("").replace("airlock: 1", "airlock: 2");
    assert_error(&src, 1, "airlock", "version 2");
}

#[test]
fn unknown_environment_in_a_rule_lists_the_declared_ones() {
    let src = base("rules:\n  - id: r\n    when: { environment: prdo }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "prdo"),
        "rules[0].when.environment",
        "unknown environment `prdo`; declared: production, dev",
    );
}

#[test]
fn unknown_zone_role_group_agent_and_rule_references_are_rejected() {
    let src = base("rules:\n  - id: r\n    when: { zone: nope }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "zone: nope"),
        "rules[0].when.zone",
        "unknown zone `nope`",
    );

    let src = base("rules:\n  - id: r\n    when: { agent: { roles: [writer] } }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "writer"),
        "rules[0].when.agent.roles",
        "unknown role `writer`",
    );

    let src = base(
        "rules:\n  - id: r\n    then: approve\n    approvals: { from: sre, count: 1, timeout: 1h }\n",
    );
    assert_error(
        &src,
        line_of(&src, "from: sre"),
        "rules[0].approvals.from",
        "unknown group `sre`",
    );

    let src = base("rules:\n  - id: r\n    when: { agent: { ids: [kirro] } }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "kirro"),
        "rules[0].when.agent.ids",
        "unknown agent `kirro`",
    );

    let src = base(
        "exceptions:\n  - id: x\n    ticket: CHG-1\n    waive: [nope]\n    expires: 2026-12-01T00:00:00Z\n",
    );
    assert_error(
        &src,
        line_of(&src, "waive"),
        "exceptions[0].waive",
        "unknown rule `nope`",
    );

    let src = base("").replace("roles: [reader]", "roles: [raeder]");
    assert_error(
        &src,
        line_of(&src, "raeder"),
        "agents.kiro.roles",
        "unknown role `raeder`",
    );

    let src = base("").replace(
        "    roles: [reader]",
        "    roles: [reader]\n    zone: aitools",
    );
    assert_error(
        &src,
        line_of(&src, "aitools"),
        "agents.kiro.zone",
        "unknown zone `aitools`",
    );
}

#[test]
fn rules_that_can_never_match_are_rejected() {
    let src = base("rules:\n  - id: r\n    when: { effect: [] }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "effect: []"),
        "rules[0].when.effect",
        "can never match",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: read, effect_at_least: delete }\n    then: deny\n",
    );
    assert_error(
        &src,
        line_of(&src, "effect_at_least"),
        "effect_at_least",
        "can never match",
    );

    let src = base("rules:\n  - id: r\n    when: { environment: [] }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "environment: []"),
        "rules[0].when.environment",
        "can never match",
    );

    let src = base("rules:\n  - id: r\n    when: { plane: data }\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "- id: r"),
        "rules[0]",
        "no zone is on the `data` plane",
    );

    let src =
        base("rules:\n  - id: r\n    when: { effect: delete }\n    unless: {}\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "- id: r"),
        "rules[0]",
        "excludes every action",
    );

    let src = base("rules:\n  - id: r\n    when: { effect: unknown }\n    then: allow\n");
    assert_error(&src, line_of(&src, "- id: r"), "rules[0]", "unknown effect");

    let src = base(
        "rules:\n  - id: r\n    when: { during: { days: [], hours: \"09:00-17:00\" } }\n    then: deny\n",
    );
    assert_error(
        &src,
        line_of(&src, "days: []"),
        "during.days",
        "never opens",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { during: { hours: \"09:00-09:00\" } }\n    then: deny\n",
    );
    assert_error(
        &src,
        line_of(&src, "09:00-09:00"),
        "during.hours",
        "never opens",
    );
}

#[test]
fn a_rule_held_by_no_agent_can_never_match() {
    let src = base("").replace("roles:\n  reader:", "roles:\n  admin: {}\n  reader:")
        + "rules:\n  - id: r\n    when: { agent: { roles: [admin] } }\n    then: deny\n";
    assert_error(
        &src,
        line_of(&src, "- id: r"),
        "rules[0]",
        "no listed agent holds role admin",
    );
}

#[test]
fn a_rule_fully_shadowed_by_an_earlier_one_is_rejected() {
    let src = base(
        "rules:\n  - id: no-deletes\n    when: { effect: delete }\n    then: deny\n  - id: no-prod-deletes\n    when: { effect: delete, environment: production }\n    then: approve\n    approvals: { from: leads, count: 1, timeout: 1h }\n",
    );
    assert_error(
        &src,
        line_of(&src, "id: no-prod-deletes"),
        "rules[1]",
        "also matched by rule `no-deletes`",
    );
}

#[test]
fn a_narrower_stricter_rule_is_not_shadowed() {
    let src = base(
        "rules:\n  - id: prod-deletes\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 1, timeout: 1h }\n  - id: no-prod-stack-deletes\n    when: { effect: delete, target: { kinds: [\"aws:cloudformation:stack\"] } }\n    then: deny\n",
    );
    Policy::load("p.yaml", &src, now()).unwrap();
}

#[test]
fn an_approve_rule_with_stronger_requirements_is_not_shadowed() {
    let src = base(
        "rules:\n  - id: one\n    when: { effect: delete }\n    then: approve\n    approvals: { from: oncall, count: 1, timeout: 1h }\n  - id: two\n    when: { effect: delete, environment: production }\n    then: approve\n    approvals: { from: leads, count: 2, timeout: 1h }\n",
    );
    Policy::load("p.yaml", &src, now()).unwrap();
}

#[test]
fn contradictory_approval_settings_are_rejected() {
    let src = base("rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n");
    assert_error(
        &src,
        line_of(&src, "then: approve"),
        "rules[0].then",
        "who approves",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: deny\n    approvals: { from: leads, count: 1, timeout: 1h }\n",
    );
    assert_error(
        &src,
        line_of(&src, "approvals:"),
        "rules[0].approvals",
        "only apply to `then: approve`",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 3, timeout: 1h }\n",
    );
    assert_error(
        &src,
        line_of(&src, "from: leads"),
        "approvals.from",
        "has 2 members",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 0, timeout: 1h }\n",
    );
    assert_error(
        &src,
        line_of(&src, "count: 0"),
        "approvals.count",
        "nobody looking",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 1, timeout: 1h, on_timeout: allow }\n",
    );
    assert_error(
        &src,
        line_of(&src, "on_timeout"),
        "approvals.on_timeout",
        "only accepted value is `deny`",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 1, timeout: soon }\n",
    );
    assert_error(
        &src,
        line_of(&src, "timeout: soon"),
        "approvals.timeout",
        "not a duration",
    );

    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: approve\n    approvals: { from: leads, count: 1, timeout: 0s }\n",
    );
    assert_error(
        &src,
        line_of(&src, "timeout: 0s"),
        "approvals.timeout",
        "zero timeout",
    );
}

#[test]
fn unplaced_must_be_the_most_sensitive_environment() {
    let src = base("").replace("unplaced: production", "unplaced: dev");
    assert_error(
        &src,
        line_of(&src, "unplaced: dev"),
        "defaults.unplaced",
        "never count as a harmless environment",
    );

    let src = base("").replace("defaults:\n  unplaced: production\n", "");
    let errs = errors(&src);
    assert!(
        errs.iter()
            .any(|d| d.key == "defaults.unplaced" && d.message.contains("missing")),
        "{errs:?}"
    );
}

#[test]
fn a_policy_without_environments_is_rejected() {
    let src = "airlock: 1\nname: t\nrules: []\n";
    let errs = errors(src);
    assert!(errs.iter().any(|d| d.key == "environments"), "{errs:?}");
}

#[test]
fn unknown_effects_can_never_be_allowed_by_default() {
    let src = base("").replace(
        "  unplaced: production\n",
        "  unplaced: production\n  unknown_effect: allow\n",
    );
    assert_error(
        &src,
        line_of(&src, "unknown_effect"),
        "defaults.unknown_effect",
        "expected `approve` or `deny`",
    );
}

#[test]
fn ids_must_be_unique_and_not_reserved() {
    let src = base(
        "rules:\n  - id: r\n    when: { effect: read }\n    then: allow\n  - id: r\n    when: { effect: write }\n    then: deny\n",
    );
    let second = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("- id: r"))
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert_error(&src, second, "rules[1].id", "used twice");

    let src = base("rules:\n  - id: airlock:mine\n    then: deny\n");
    assert_error(
        &src,
        line_of(&src, "airlock:mine"),
        "rules[0].id",
        "reserved",
    );
}

#[test]
fn exceptions_only_relax_and_must_be_well_formed() {
    let src = base(
        "rules:\n  - id: r\n    when: { effect: delete }\n    then: deny\nexceptions:\n  - id: x\n    ticket: CHG-1\n    then: deny\n    expires: 2026-12-01T00:00:00Z\n",
    );
    let exception_then = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("then: deny"))
        .last()
        .unwrap()
        .0
        + 1;
    assert_error(&src, exception_then, "exceptions[0].then", "relaxes");

    let src = base(
        "exceptions:\n  - id: x\n    ticket: CHG-1\n    starts: 2026-12-02T00:00:00Z\n    expires: 2026-12-01T00:00:00Z\n",
    );
    assert_error(
        &src,
        line_of(&src, "expires:"),
        "exceptions[0].expires",
        "expires before it starts",
    );

    let src = base("exceptions:\n  - id: x\n    ticket: CHG-1\n    expires: next week\n");
    assert_error(
        &src,
        line_of(&src, "next week"),
        "exceptions[0].expires",
        "not a time",
    );

    let src = base("exceptions:\n  - id: x\n    ticket: CHG-1\n");
    let errs = errors(&src);
    assert!(
        errs.iter().any(|d| d.message.contains("expires")),
        "{errs:?}"
    );
}

#[test]
fn an_expired_exception_is_a_warning_not_an_error() {
    let src = without_unknown_holds(&base(
        "exceptions:\n  - id: old\n    ticket: CHG-0\n    expires: 2020-01-01T00:00:00Z\n",
    ));
    let l = Policy::load("p.yaml", &src, now()).unwrap();
    assert_eq!(l.warnings.len(), 1);
    let w = &l.warnings[0];
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.line, line_of(&src, "- id: old"));
    assert!(w.message.contains("expired"), "{w:?}");
}

/// The base policy denies unknown effects instead of holding them for approvers it
/// does not name (which is itself a warning, tested below).
fn without_unknown_holds(src: &str) -> String {
    src.replace(
        "  unplaced: production\n",
        "  unplaced: production\n  unknown_effect: deny\n",
    )
}

#[test]
fn holding_unknown_effects_without_approvers_is_a_warning() {
    let src = base("");
    let l = Policy::load("p.yaml", &src, now()).unwrap();
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_eq!(l.warnings[0].key, "defaults.unknown_effect");
    assert!(l.warnings[0].message.contains("defaults.approvals"));
    // Naming the approvers, or denying unknown effects outright, settles it.
    let named = src.replace(
        "  unplaced: production\n",
        "  unplaced: production\n  approvals: { from: leads, count: 1, timeout: 1h }\n",
    );
    assert!(
        Policy::load("p.yaml", &named, now())
            .unwrap()
            .warnings
            .is_empty()
    );
    let denied = without_unknown_holds(&src);
    assert!(
        Policy::load("p.yaml", &denied, now())
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn every_error_is_reported_at_once_and_nothing_is_loaded() {
    let src = base(
        "rules:\n  - id: a\n    when: { environment: nowhere }\n    then: deny\n  - id: b\n    when: { zone: nozone }\n    then: deny\n",
    );
    let errs = errors(&src);
    assert!(errs.len() >= 2, "{errs:?}");
    assert!(errs.iter().any(|d| d.message.contains("nowhere")));
    assert!(errs.iter().any(|d| d.message.contains("nozone")));
}

#[test]
fn rendered_findings_name_file_line_column_and_key() {
    let src = base("rules:\n  - id: r\n    when: { environment: prdo }\n    then: deny\n");
    let err = Policy::load("policies/p.yaml", &src, now()).unwrap_err();
    let text = err.to_string();
    let line = line_of(&src, "prdo");
    assert!(
        text.starts_with(&format!("policies/p.yaml:{line}:")),
        "{text}"
    );
    assert!(
        text.contains("error: rules[0].when.environment: unknown environment"),
        "{text}"
    );
    assert!(text.contains("nothing was loaded"), "{text}");
}

#[test]
fn limits_compile_and_say_what_to_count() {
    let src = without_unknown_holds(&base(
        "limits:\n  - id: reads-per-agent\n    when: { effect: read }\n    per: agent\n    window: 1h\n    max_actions: 3\n  - id: blast-radius\n    when: { effect: delete }\n    per: tenant\n    window: 1h\n    max_resources: 100\n",
    ));
    let policy = Policy::load("p.yaml", &src, now()).unwrap().policy;
    let read: airlock_model::Action = serde_json::from_str(
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","operation":"s3:GetObject","effect":"read"}}"#,
    )
    .unwrap();
    let uses = policy.limits(&read, "acme", now());
    assert_eq!(uses.len(), 1, "{uses:?}");
    let u = &uses[0];
    assert_eq!((u.id.as_str(), u.amount, u.max), ("reads-per-agent", 1, 3));
    assert_eq!(u.key, "acme/reads-per-agent/agent:kiro");
    assert_eq!(u.window_ms, 3_600_000);
    assert_eq!(u.window_start_ms % 3_600_000, 0);
    assert_eq!(u.tier, airlock_model::Tier::Deny);
    let delete: airlock_model::Action = serde_json::from_str(
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","operation":"s3:DeleteObject","effect":"delete"},"magnitude":{"resources":40}}"#,
    )
    .unwrap();
    let uses = policy.limits(&delete, "acme", now());
    assert_eq!(uses.len(), 1);
    assert_eq!(
        (uses[0].amount, uses[0].max, uses[0].unit),
        (40, 100, "resources")
    );
}

#[test]
fn a_limit_that_limits_nothing_is_rejected() {
    let bad = [
        (
            "    max_actions: 3\n    max_resources: 3\n",
            "exactly one of",
        ),
        ("    max_actions: 3\n    then: allow\n", "would not limit"),
        ("    max_actions: 3\n    then: approve\n", "needs approvers"),
    ];
    for (extra, message) in bad {
        let src = base(&format!(
            "limits:\n  - id: l\n    per: agent\n    window: 1h\n{extra}"
        ));
        let errs = errors(&src);
        assert!(
            errs.iter().any(|d| d.message.contains(message)),
            "{extra}: {errs:?}"
        );
    }
    let src = base("limits:\n  - id: l\n    per: agent\n    window: soon\n    max_actions: 3\n");
    assert!(errors(&src).iter().any(|d| d.key == "limits[0].window"));
}

#[test]
fn a_circuit_breaker_needs_trips_and_a_window() {
    for bad in ["{ trips: 0, window: 1h }", "{ trips: 3, window: never }"] {
        let src = base("").replace(
            "  unplaced: production\n",
            &format!("  unplaced: production\n  circuit_breaker: {bad}\n"),
        );
        let errs = errors(&src);
        assert!(
            errs.iter().any(|d| d.key == "defaults.circuit_breaker"),
            "{bad}: {errs:?}"
        );
    }
    let src = without_unknown_holds(&base("")).replace(
        "  unplaced: production\n",
        "  unplaced: production\n  circuit_breaker: { trips: 3, window: 10m }\n",
    );
    let policy = Policy::load("p.yaml", &src, now()).unwrap().policy;
    assert_eq!(policy.circuit_breaker(), Some((3, 600)));
}

#[test]
fn spot_checks_sample_a_fraction() {
    let with = |v: &str| {
        without_unknown_holds(&base("")).replace(
            "  unplaced: production\n",
            &format!("  unplaced: production\n  spot_checks: {{ sample: {v} }}\n"),
        )
    };
    for bad in ["1.5", "-0.1", ".nan"] {
        assert!(
            errors(&with(bad)).iter().any(
                |d| d.key == "defaults.spot_checks.sample" && d.message.contains("from 0 to 1")
            ),
            "{bad}"
        );
    }
    for (v, ppm) in [("0.05", 50_000), ("1", 1_000_000), ("0", 0)] {
        let policy = Policy::load("p.yaml", &with(v), now()).unwrap().policy;
        assert_eq!(policy.spot_check_ppm(), ppm, "{v}");
    }
    let none = Policy::load("p.yaml", &without_unknown_holds(&base("")), now())
        .unwrap()
        .policy;
    assert_eq!(none.spot_check_ppm(), 0, "off unless asked for");
}

#[test]
fn first_seen_is_flagged_or_held() {
    let with = |v: &str| {
        base("").replace(
            "  unplaced: production\n",
            &format!("  unplaced: production\n  first_seen: {v}\n"),
        )
    };
    assert!(
        errors(&with("deny"))
            .iter()
            .any(|d| d.key == "defaults.first_seen")
    );
    assert!(
        errors(&with("approve"))
            .iter()
            .any(|d| d.message.contains("needs approvers"))
    );
    let policy = Policy::load("p.yaml", &without_unknown_holds(&with("log")), now())
        .unwrap()
        .policy;
    let d = |env: &str| airlock_model::Decision {
        id: None,
        decision: airlock_model::Tier::Allow,
        rules: vec![],
        reason: String::new(),
        observed: vec![],
        alerts: vec![],
        exceptions: vec![],
        approval: None,
        effect: airlock_model::Effect::Read,
        placements: vec![airlock_model::Placement {
            target: "x".into(),
            environment: env.into(),
            zone: None,
            by: "match".into(),
        }],
        policy: airlock_model::PolicyRef {
            name: "p".into(),
            version: "v".into(),
        },
    };
    assert_eq!(
        policy.first_seen(&d("production")).map(|f| f.0),
        Some(airlock_model::Tier::Log)
    );
    assert_eq!(policy.first_seen(&d("dev")), None);
}
