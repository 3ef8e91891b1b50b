//! Checking a plan before any call is made: the patterns no single step shows.
//! Pure: the steps' Actions and Decisions in, the patterns out.

use airlock_model::{Action, ApprovalRequirement, ApprovalRule, Decision, Effect, Tier};
use serde::Serialize;

/// More distinct targets than this in one plan is a fan-out worth a human look.
pub const FAN_OUT: usize = 10;

/// A pattern across steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    /// `delete-then-recreate`, `write-then-delete` or `fan-out`.
    pub kind: &'static str,
    /// The steps involved (0-based).
    pub steps: Vec<usize>,
    pub message: String,
}

fn key(kind: &str, name: &str) -> String {
    format!("{kind}\u{1f}{name}")
}

/// The patterns in an ordered list of steps.
pub fn patterns(actions: &[Action]) -> Vec<Pattern> {
    let mut found = Vec::new();
    // Per target: the steps that deleted it and the steps that wrote it, in order.
    let mut deleted: Vec<(String, usize, String)> = Vec::new();
    let mut written: Vec<(String, usize, String)> = Vec::new();
    let mut distinct: Vec<String> = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        for t in &a.targets {
            let shown = if t.name.is_empty() {
                t.path.clone().unwrap_or_default()
            } else {
                t.name.clone()
            };
            if shown.is_empty() {
                continue;
            }
            let k = key(&t.kind, &shown);
            if !distinct.contains(&k) {
                distinct.push(k.clone());
            }
            match a.what.effect {
                Effect::Delete => {
                    if let Some((_, w, _)) = written.iter().find(|(x, _, _)| *x == k) {
                        found.push(Pattern {
                            kind: "write-then-delete",
                            steps: vec![*w, i],
                            message: format!(
                                "step {} writes {shown} and step {} deletes it",
                                w + 1,
                                i + 1
                            ),
                        });
                    }
                    deleted.push((k, i, shown));
                }
                Effect::Write => {
                    if let Some((_, d, _)) = deleted.iter().find(|(x, _, _)| *x == k) {
                        found.push(Pattern {
                            kind: "delete-then-recreate",
                            steps: vec![*d, i],
                            message: format!(
                                "step {} deletes {shown} and step {} creates it again: delete-and-recreate is how the Kiro incident took production down; fix the resource in place instead",
                                d + 1,
                                i + 1
                            ),
                        });
                    }
                    written.push((k, i, shown));
                }
                _ => {}
            }
        }
    }
    if distinct.len() > FAN_OUT {
        found.push(Pattern {
            kind: "fan-out",
            steps: (0..actions.len()).collect(),
            message: format!(
                "the plan touches {} distinct targets (more than {FAN_OUT})",
                distinct.len()
            ),
        });
    }
    found
}

/// The verdict on the whole: the strictest step, and at least `approve` when a
/// pattern shows something no single step does.
pub fn verdict(decisions: &[Decision], patterns: &[Pattern]) -> Tier {
    let strictest = decisions
        .iter()
        .map(|d| d.decision)
        .max()
        .unwrap_or(Tier::Deny);
    if patterns.is_empty() {
        strictest
    } else {
        strictest.max(Tier::Approve)
    }
}

/// The approval that covers a whole plan: every group any held step needs, with the
/// most approvals any step asks of it (so every step's own requirement is met), the
/// shortest timeout, and the default approvers when a pattern is what holds it.
/// An error names the step no approval can cover.
pub fn plan_approval(
    decisions: &[Decision],
    patterns: &[Pattern],
    default: Option<ApprovalRequirement>,
) -> Result<ApprovalRequirement, String> {
    let mut merged: Vec<ApprovalRule> = Vec::new();
    let mut timeout: Option<u64> = None;
    let mut add = |a: &ApprovalRequirement| {
        timeout = Some(timeout.map_or(a.timeout_seconds, |t| t.min(a.timeout_seconds)));
        for r in &a.requirements {
            match merged.iter_mut().find(|m| m.group == r.group) {
                Some(m) => {
                    m.approvals = m.approvals.max(r.approvals);
                    for rule in &r.rules {
                        if !m.rules.contains(rule) {
                            m.rules.push(rule.clone());
                        }
                    }
                }
                None => merged.push(r.clone()),
            }
        }
    };
    for (i, d) in decisions.iter().enumerate() {
        match (d.decision, &d.approval) {
            (Tier::Deny, _) => {
                return Err(format!(
                    "step {} is denied ({}): a plan with a denied step cannot be approved; change or drop that step",
                    i + 1,
                    d.rules.join(", ")
                ));
            }
            (Tier::Approve, Some(a)) => add(a),
            (Tier::Approve, None) => {
                return Err(format!(
                    "step {} needs an approval but no approvers are configured for it",
                    i + 1
                ));
            }
            _ => {}
        }
    }
    if !patterns.is_empty() {
        match &default {
            Some(a) => add(a),
            None if merged.is_empty() => {
                return Err(
                    "the plan's pattern needs a human, but the policy names no default approvers (defaults.approvals)"
                        .into(),
                );
            }
            None => {}
        }
    }
    match timeout {
        Some(timeout_seconds) if !merged.is_empty() => Ok(ApprovalRequirement {
            requirements: merged,
            timeout_seconds,
            on_timeout: Tier::Deny,
        }),
        _ => Err("nothing in this plan needs an approval: run its steps".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(tier: Tier, groups: &[(&str, u32, u64)]) -> Decision {
        let mut d: Decision = serde_json::from_value(serde_json::json!({
            "id": "x", "decision": tier.as_str(), "rules": ["r"], "reason": "",
            "observed": [], "effect": "write", "placements": [],
            "policy": {"name": "p", "version": "v"},
        }))
        .expect("decision");
        if !groups.is_empty() {
            d.approval = Some(ApprovalRequirement {
                requirements: groups
                    .iter()
                    .map(|(g, n, _)| ApprovalRule {
                        group: (*g).into(),
                        approvals: *n,
                        rules: vec![format!("rule-{g}")],
                    })
                    .collect(),
                timeout_seconds: groups.iter().map(|(_, _, t)| *t).min().unwrap_or(0),
                on_timeout: Tier::Deny,
            });
        }
        d
    }

    #[test]
    fn a_plan_approval_covers_every_held_step() {
        let steps = [
            decided(Tier::Allow, &[]),
            decided(Tier::Approve, &[("sre", 1, 3600)]),
            decided(Tier::Approve, &[("sre", 2, 600), ("dba", 1, 900)]),
        ];
        let a = plan_approval(&steps, &[], None).expect("approvable");
        let got: Vec<(&str, u32)> = a
            .requirements
            .iter()
            .map(|r| (r.group.as_str(), r.approvals))
            .collect();
        assert_eq!(got, [("sre", 2), ("dba", 1)]);
        assert_eq!(a.timeout_seconds, 600);
        let denied = [decided(Tier::Log, &[]), decided(Tier::Deny, &[])];
        assert!(
            plan_approval(&denied, &[], None)
                .unwrap_err()
                .contains("step 2 is denied")
        );
        let nothing = [decided(Tier::Allow, &[])];
        assert!(plan_approval(&nothing, &[], None).is_err());
    }

    #[test]
    fn a_pattern_brings_in_the_default_approvers() {
        let steps = [decided(Tier::Log, &[]), decided(Tier::Log, &[])];
        let pattern = Pattern {
            kind: "fan-out",
            steps: vec![0, 1],
            message: String::new(),
        };
        let default = decided(Tier::Approve, &[("oncall", 1, 1800)]).approval;
        let a = plan_approval(&steps, std::slice::from_ref(&pattern), default).expect("approvable");
        assert_eq!(a.requirements[0].group, "oncall");
        assert!(plan_approval(&steps, &[pattern], None).is_err());
    }

    fn action(effect: &str, kind: &str, name: &str) -> Action {
        serde_json::from_value(serde_json::json!({
            "who": {"agent": "kiro"},
            "what": {"tool": "aws", "operation": "x", "effect": effect},
            "targets": [{"kind": kind, "name": name}],
        }))
        .expect("action")
    }

    #[test]
    fn delete_then_recreate_is_the_kiro_pattern() {
        let steps = [
            action("read", "aws:cloudformation:stack", "prod"),
            action("delete", "aws:cloudformation:stack", "prod"),
            action("write", "aws:cloudformation:stack", "prod"),
        ];
        let p = patterns(&steps);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            (p[0].kind, p[0].steps.clone()),
            ("delete-then-recreate", vec![1, 2])
        );
    }

    #[test]
    fn write_then_delete_and_fan_out() {
        let steps = [
            action("write", "file", "/srv/a"),
            action("delete", "file", "/srv/a"),
        ];
        assert_eq!(patterns(&steps)[0].kind, "write-then-delete");
        let many: Vec<Action> = (0..11)
            .map(|i| action("write", "aws:ec2:instance", &format!("i-{i}")))
            .collect();
        assert_eq!(patterns(&many)[0].kind, "fan-out");
        let unrelated = [
            action("delete", "file", "/srv/a"),
            action("write", "file", "/srv/b"),
        ];
        assert!(patterns(&unrelated).is_empty());
    }
}
