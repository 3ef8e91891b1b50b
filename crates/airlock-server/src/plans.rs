//! Checking a plan before any call is made: the patterns no single step shows.
//! Pure: the steps' Actions and Decisions in, the patterns out.

use airlock_model::{Action, Decision, Effect, Tier};
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

#[cfg(test)]
mod tests {
    use super::*;

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
