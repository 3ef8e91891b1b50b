use airlock_model::Tier;

use crate::entry::{Entry, Event};

/// Which entries `airlock audit log` shows. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// The entry's kind (`decision`, `vote`, `halt`, …).
    pub kind: Option<String>,
    pub tenant: Option<String>,
    /// The acting agent (decisions and outcomes' decisions), or the scope name of
    /// an agent halt.
    pub agent: Option<String>,
    /// The decision's tier (decisions only).
    pub decision: Option<Tier>,
    /// A deciding rule (decisions only).
    pub rule: Option<String>,
    /// A human who voted, halted, resumed, changed the policy or a credential, or
    /// reviewed.
    pub by: Option<String>,
    /// From this time on (ms since the epoch, inclusive).
    pub since_ms: Option<i64>,
    /// Before this time (exclusive).
    pub until_ms: Option<i64>,
}

/// A filter that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("decision `{0}` is not one of allow, log, approve, deny")]
    Tier(String),
    #[error("kind `{0}` is not one of {KINDS}")]
    Kind(String),
}

const KINDS: &str =
    "decision, vote, expiry, halt, resume, policy, credential, review, outcome, prune, erasure";

impl Filter {
    /// Checks a `--decision` value.
    pub fn parse_tier(s: &str) -> Result<Tier, FilterError> {
        match s {
            "allow" => Ok(Tier::Allow),
            "log" => Ok(Tier::Log),
            "approve" => Ok(Tier::Approve),
            "deny" => Ok(Tier::Deny),
            _ => Err(FilterError::Tier(s.to_owned())),
        }
    }

    /// Checks a `--kind` value.
    pub fn check_kind(s: &str) -> Result<(), FilterError> {
        if KINDS.split(", ").any(|k| k == s) {
            Ok(())
        } else {
            Err(FilterError::Kind(s.to_owned()))
        }
    }

    /// Whether `e` passes every condition.
    pub fn matches(&self, e: &Entry) -> bool {
        let decision = match &e.event {
            Event::Decision(d) => Some(d),
            _ => None,
        };
        if self.kind.as_deref().is_some_and(|k| k != e.kind())
            || self.tenant.as_deref().is_some_and(|t| t != e.tenant)
            || self.since_ms.is_some_and(|s| e.time_ms < s)
            || self.until_ms.is_some_and(|u| e.time_ms >= u)
        {
            return false;
        }
        if let Some(agent) = &self.agent {
            let actor = match &e.event {
                Event::Decision(d) => Some(d.agent.as_str()),
                Event::Halt { scope, name, .. } | Event::Resume { scope, name, .. }
                    if scope == "agent" =>
                {
                    Some(name.as_str())
                }
                Event::Credential {
                    principal, name, ..
                } if principal == "agent" => Some(name.as_str()),
                _ => None,
            };
            if actor != Some(agent.as_str()) {
                return false;
            }
        }
        if let Some(tier) = self.decision
            && decision.is_none_or(|d| d.decision != tier)
        {
            return false;
        }
        if let Some(rule) = &self.rule
            && decision.is_none_or(|d| !d.rules.iter().any(|r| r == rule))
        {
            return false;
        }
        if self.by.as_deref().is_some_and(|by| e.human() != Some(by)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{DecisionEntry, Event, Recorded};

    fn decision(agent: &str, tier: Tier, rule: &str, time_ms: i64) -> Entry {
        Entry::new(
            time_ms,
            "gw",
            "t",
            Event::Decision(Box::new(DecisionEntry {
                id: "a".into(),
                agent: agent.into(),
                operator: None,
                call_digest: String::new(),
                action: Recorded::Digest {
                    action_sha256: String::new(),
                    targets: 0,
                },
                policy: String::new(),
                decision: tier,
                rules: vec![rule.into()],
                reason: String::new(),
                status: "denied".into(),
                approval: None,
            })),
        )
    }

    #[test]
    fn every_condition_must_hold() {
        let e = decision("kiro", Tier::Deny, "no-teardown", 100);
        assert!(Filter::default().matches(&e));
        let f = Filter {
            agent: Some("kiro".into()),
            decision: Some(Tier::Deny),
            rule: Some("no-teardown".into()),
            since_ms: Some(100),
            until_ms: Some(101),
            kind: Some("decision".into()),
            tenant: Some("t".into()),
            by: None,
        };
        assert!(f.matches(&e));
        for broken in [
            Filter {
                agent: Some("other".into()),
                ..f.clone()
            },
            Filter {
                decision: Some(Tier::Allow),
                ..f.clone()
            },
            Filter {
                rule: Some("other".into()),
                ..f.clone()
            },
            Filter {
                since_ms: Some(101),
                ..f.clone()
            },
            Filter {
                until_ms: Some(100),
                ..f.clone()
            },
            Filter {
                kind: Some("vote".into()),
                ..f.clone()
            },
            Filter {
                tenant: Some("u".into()),
                ..f.clone()
            },
            Filter {
                by: Some("alice".into()),
                ..f.clone()
            },
        ] {
            assert!(!broken.matches(&e), "{broken:?}");
        }
    }

    #[test]
    fn decision_conditions_exclude_other_kinds() {
        let vote = Entry::new(
            5,
            "gw",
            "t",
            Event::Vote {
                id: "a".into(),
                approver: "alice".into(),
                groups: vec![],
                approve: true,
                comment: String::new(),
                status: "approved".into(),
            },
        );
        assert!(
            !Filter {
                decision: Some(Tier::Allow),
                ..Filter::default()
            }
            .matches(&vote)
        );
        assert!(
            Filter {
                by: Some("alice".into()),
                ..Filter::default()
            }
            .matches(&vote)
        );
        assert!(Filter::check_kind("vote").is_ok());
        assert!(Filter::check_kind("votes").is_err());
        assert!(Filter::parse_tier("block").is_err());
    }
}
