//! Ledger entries as OCSF events (<https://schema.ocsf.io>), for a SIEM.
//!
//! Decisions are **API Activity** (class 6003, category 6, Application Activity):
//! the agent is the actor, its tool and operation the API, its targets the
//! resources, and the security-control fields say what airlock did:
//!
//! | decision | `action` (`action_id`) | `disposition` (`disposition_id`) |
//! |---|---|---|
//! | allow | Allowed (1) | Allowed (1) |
//! | log | Allowed (1) | Logged (17) |
//! | approve, held | Other (99) | Delayed (14) |
//! | allowed by an approval | Allowed (1) | Approved (8) |
//! | deny | Denied (2) | Blocked (2) |
//!
//! `policy` carries the policy's version (`uid` and `version`) and the deciding
//! rules (`desc`). Every other entry (votes, expiries, halts, policy and credential
//! changes, reviews, outcomes) is exported as API Activity with `activity_id` 99
//! (Other), its own fields under `unmapped`. `metadata.uid` is the entry's ledger
//! origin and index, so each event points back at the entry an auditor can prove.

use airlock_model::{Effect, Tier};
use serde_json::{Value, json};

use crate::entry::{Entry, Event, Recorded};

/// The OCSF schema version these events follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// Entry `index` of the ledger `origin` as one OCSF event.
pub fn event(origin: &str, index: u64, e: &Entry) -> Value {
    let mut ev = json!({
        "category_uid": 6,
        "category_name": "Application Activity",
        "class_uid": 6003,
        "class_name": "API Activity",
        "time": e.time_ms,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("{origin}/{index}"),
            "tenant_uid": e.tenant,
            "product": {"name": "airlock", "vendor_name": "airlock", "version": env!("CARGO_PKG_VERSION")},
            "log_name": origin,
            "original_time": e.time_ms.to_string(),
        },
        "src_endpoint": {"name": e.gateway},
    });
    match &e.event {
        Event::Decision(d) => {
            let (activity_id, activity) = match &d.action {
                Recorded::Action(a) => activity(a.what.effect),
                Recorded::Digest { .. } => (99, "Other"),
            };
            let approved = d.approval.is_some() && d.decision != Tier::Deny;
            let (action_id, action, disposition_id, disposition) = match d.decision {
                _ if approved => (1, "Allowed", 8, "Approved"),
                Tier::Allow => (1, "Allowed", 1, "Allowed"),
                Tier::Log => (1, "Allowed", 17, "Logged"),
                Tier::Approve => (99, "Other", 14, "Delayed"),
                Tier::Deny => (2, "Denied", 2, "Blocked"),
            };
            let (severity_id, severity) = match d.decision {
                Tier::Allow | Tier::Log => (1, "Informational"),
                Tier::Approve => (3, "Medium"),
                Tier::Deny => (4, "High"),
            };
            let (status_id, status) = match d.status.as_str() {
                "allowed" => (1, "Success"),
                "denied" => (2, "Failure"),
                _ => (0, "Unknown"),
            };
            let (tool, operation, resources) = match &d.action {
                Recorded::Action(a) => (
                    a.what.tool.clone(),
                    a.what.operation.clone(),
                    a.targets
                        .iter()
                        .map(|t| {
                            json!({
                                "name": t.name, "type": t.kind, "region": t.region,
                                "labels": t.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                            })
                        })
                        .collect::<Vec<_>>(),
                ),
                Recorded::Digest { .. } => (String::new(), String::new(), Vec::new()),
            };
            let obj = json!({
                "activity_id": activity_id,
                "activity_name": activity,
                "type_uid": 600300 + activity_id,
                "type_name": format!("API Activity: {activity}"),
                "severity_id": severity_id,
                "severity": severity,
                "status_id": status_id,
                "status": status,
                "message": d.reason,
                "action_id": action_id,
                "action": action,
                "disposition_id": disposition_id,
                "disposition": disposition,
                "actor": {
                    "user": {"name": d.agent, "uid": d.agent, "type_id": 99, "type": "AI agent"},
                    "invoked_by": e.operator(),
                },
                "api": {
                    "operation": operation,
                    "service": {"name": tool},
                    "request": {"uid": d.id},
                },
                "resources": resources,
                "policy": {
                    "uid": d.policy,
                    "version": d.policy,
                    "name": "airlock policy",
                    "desc": d.rules.join(", "),
                    "is_applied": true,
                },
                "unmapped": {
                    "airlock": {
                        "decision": d.decision.as_str(),
                        "rules": d.rules,
                        "call_digest": d.call_digest,
                        "approval": d.approval,
                    }
                },
            });
            merge(&mut ev, obj);
        }
        other => {
            let details = serde_json::to_value(other).unwrap_or(Value::Null);
            let actor = e.human();
            let obj = json!({
                "activity_id": 99,
                "activity_name": "Other",
                "type_uid": 600399,
                "type_name": "API Activity: Other",
                "severity_id": 1,
                "severity": "Informational",
                "status_id": 1,
                "status": "Success",
                "message": format!("airlock {}", e.kind()),
                "actor": {"user": {"name": actor, "uid": actor, "type_id": 1, "type": "User"}},
                "api": {"operation": e.kind(), "service": {"name": "airlock"}},
                "unmapped": {"airlock": details},
            });
            merge(&mut ev, obj);
        }
    }
    ev
}

/// OCSF's API Activity activity for an effect.
fn activity(effect: Effect) -> (i64, &'static str) {
    match effect {
        Effect::Read => (2, "Read"),
        Effect::Write | Effect::Permissions => (3, "Update"),
        Effect::Delete => (4, "Delete"),
        _ => (99, "Other"),
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{DecisionEntry, sha256_hex};
    use airlock_model::{Action, Target, What, Who};

    fn decision(tier: Tier, status: &str, approval: Option<&str>) -> Entry {
        Entry::new(
            1_800_000_000_000,
            "gw-1",
            "default",
            Event::Decision(Box::new(DecisionEntry {
                id: "act_1".into(),
                agent: "kiro".into(),
                operator: Some("dave@example.com".into()),
                call_digest: sha256_hex(b"{}"),
                action: Recorded::Action(Box::new(Action {
                    id: None,
                    who: Who {
                        agent: "kiro".into(),
                        ..Who::default()
                    },
                    what: What {
                        tool: "aws".into(),
                        operation: "cloudformation:DeleteStack".into(),
                        effect: Effect::Delete,
                        bulk: false,
                    },
                    targets: vec![Target {
                        kind: "aws:cloudformation:stack".into(),
                        name: "prod".into(),
                        ..Target::default()
                    }],
                    magnitude: Default::default(),
                    why: Default::default(),
                })),
                policy: "sha256:ab".into(),
                decision: tier,
                rules: vec!["no-environment-teardown".into()],
                reason: "environments are never deleted by an agent".into(),
                status: status.into(),
                approval: approval.map(str::to_owned),
            })),
        )
    }

    #[test]
    fn a_denied_deletion_is_a_blocked_api_delete() {
        let v = event("airlock/ledger", 7, &decision(Tier::Deny, "denied", None));
        assert_eq!(v["class_uid"], 6003);
        assert_eq!(v["category_uid"], 6);
        assert_eq!(v["activity_id"], 4);
        assert_eq!(v["type_uid"], 600304);
        assert_eq!(v["action_id"], 2);
        assert_eq!(v["disposition"], "Blocked");
        assert_eq!(v["policy"]["uid"], "sha256:ab");
        assert_eq!(v["policy"]["version"], "sha256:ab");
        assert_eq!(v["actor"]["user"]["name"], "kiro");
        assert_eq!(v["actor"]["invoked_by"], "dave@example.com");
        assert_eq!(v["api"]["operation"], "cloudformation:DeleteStack");
        assert_eq!(v["resources"][0]["name"], "prod");
        assert_eq!(v["metadata"]["uid"], "airlock/ledger/7");
        assert_eq!(v["time"], 1_800_000_000_000i64);
    }

    #[test]
    fn each_tier_has_its_security_control_fields() {
        let cases = [
            (decision(Tier::Allow, "allowed", None), 1, 1),
            (decision(Tier::Log, "allowed", None), 1, 17),
            (decision(Tier::Approve, "pending", None), 99, 14),
            (decision(Tier::Approve, "allowed", Some("act_0")), 1, 8),
            (decision(Tier::Deny, "denied", Some("act_0")), 2, 2),
        ];
        for (e, action_id, disposition_id) in cases {
            let v = event("o", 0, &e);
            assert_eq!(v["action_id"], action_id, "{v}");
            assert_eq!(v["disposition_id"], disposition_id, "{v}");
        }
    }

    #[test]
    fn other_entries_are_api_activity_other_with_their_fields() {
        let e = Entry::new(
            1,
            "gw",
            "t",
            Event::Halt {
                scope: "agent".into(),
                name: "kiro".into(),
                reason: "runaway".into(),
                by: "alice".into(),
                rejected: 2,
            },
        );
        let v = event("o", 3, &e);
        assert_eq!(v["class_uid"], 6003);
        assert_eq!(v["activity_id"], 99);
        assert_eq!(v["actor"]["user"]["name"], "alice");
        assert_eq!(v["unmapped"]["airlock"]["kind"], "halt");
        assert_eq!(v["unmapped"]["airlock"]["rejected"], 2);
    }

    #[test]
    fn a_prune_is_api_activity_other_naming_who_and_how_many() {
        let e = Entry::new(
            1,
            "gw",
            "*",
            Event::Prune {
                below: 1000,
                before_ms: 5,
                by: "admin".into(),
            },
        );
        let v = event("o", 1001, &e);
        assert_eq!(v["activity_id"], 99);
        assert_eq!(v["activity_name"], "Other");
        assert_eq!(v["actor"]["user"]["name"], "admin");
        assert_eq!(v["unmapped"]["airlock"]["kind"], "prune");
        assert_eq!(v["unmapped"]["airlock"]["below"], 1000);
    }
}
