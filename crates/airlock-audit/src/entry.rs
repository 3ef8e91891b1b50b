use airlock_model::{Action, Tier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The entry format's version; the first field of every entry. Version 1 keeps
/// personal data in the entry (inline); version 2
/// ([`crate::personal::VERSION_SEPARATE`]) keeps salted commitments to it, its
/// values in a side store that can be erased. Both are read.
pub const VERSION: u32 = 1;

/// The largest entry the ledger takes (what a C2SP entry bundle's 16-bit length
/// can say).
pub const MAX_ENTRY: usize = 65_535;

/// One thing that happened, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// [`VERSION`].
    pub v: u32,
    /// When the gateway recorded it, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The gateway (replica) that recorded it.
    pub gateway: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened: one variant per kind of entry, named by the `kind` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// An agent's call, decided.
    Decision(Box<DecisionEntry>),
    /// An approver's vote on a held request, and what it did to the request.
    Vote {
        /// The request (an action or a plan).
        id: String,
        /// Who voted (their credential name).
        approver: String,
        /// The required groups they counted for.
        groups: Vec<String>,
        approve: bool,
        comment: String,
        /// The request's status after the vote: `pending`, `approved` or `rejected`.
        status: String,
    },
    /// A held request or an unused grant ran out: an implicit denial.
    Expiry { id: String },
    /// The kill switch.
    Halt {
        /// `agent`, `zone`, `tenant` or `all`.
        scope: String,
        name: String,
        reason: String,
        by: String,
        /// Held requests and unused grants it rejected.
        rejected: u64,
    },
    /// A halt lifted.
    Resume {
        scope: String,
        name: String,
        by: String,
    },
    /// The policy in force changed.
    Policy {
        /// `sha256:…` of the new policy's source.
        version: String,
        /// The policy it replaced.
        previous: String,
        /// `file` (the watched file changed) or the human who asked for the reload.
        by: String,
    },
    /// An agent key or a human token was issued, rotated or revoked. Never the token.
    Credential {
        change: CredentialChange,
        /// `agent` or `human`.
        principal: String,
        name: String,
        roles: Vec<String>,
        by: String,
    },
    /// A reviewer's verdict on a sampled `log` decision.
    Review {
        id: String,
        reviewer: String,
        wrong: bool,
        comment: String,
    },
    /// Old entries' bytes were pruned from the ledger (retention); their hashes
    /// stay, so every root and proof still holds.
    Prune {
        /// Entries `0..below` were pruned.
        below: u64,
        /// The cutoff asked for: every pruned entry is older than this
        /// (milliseconds since the Unix epoch).
        before_ms: i64,
        /// The human who asked.
        by: String,
    },
    /// Personal data kept apart (entry format 2) was erased from the side store;
    /// every entry, root and proof stays as it was. Never names the subject.
    Erasure {
        /// `subject` (every entry naming a person) or `index` (entries named).
        how: String,
        /// The entries erased, for an erasure by index; empty for one by subject
        /// (listing them would link them to one person).
        indices: Vec<u64>,
        /// How many entries had fields erased.
        entries: u64,
        /// How many fields were erased.
        fields: u64,
        /// The human who asked.
        by: String,
    },
    /// What became of an allowed call, as the agent (or its proxy) reports it.
    Outcome {
        /// The decision's record id.
        id: String,
        /// `executed` or `failed`.
        outcome: String,
        detail: String,
    },
}

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialChange {
    Issued,
    Rotated,
    Revoked,
}

/// An agent's call and what airlock decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// The record id in the service's store (`act_…`); empty when the store could
    /// not record it (the decision is then a fail-closed denial).
    pub id: String,
    pub agent: String,
    /// The human the agent acts for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// SHA-256 (hex) of the raw call as received.
    pub call_digest: String,
    /// The classified Action, or its digest when it is too large for an entry.
    pub action: Recorded,
    /// `sha256:…` of the policy that decided.
    pub policy: String,
    /// The enforced decision.
    pub decision: Tier,
    /// The deciding rules.
    pub rules: Vec<String>,
    /// The one-sentence reason.
    pub reason: String,
    /// What the gateway answered: `allowed`, `denied` or `pending`.
    pub status: String,
    /// The approval (action or plan) this call used, when it used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

impl DecisionEntry {
    /// What the ledger records of a call the policy decided: the raw call's digest
    /// (`call_json` as received), the Action, and the decision; `status` is what the
    /// caller was answered (`allowed`, `denied`, `pending`, `asked`).
    pub fn of(
        id: &str,
        call_json: &str,
        action: Action,
        decision: &airlock_model::Decision,
        status: &str,
        approval: Option<&str>,
    ) -> DecisionEntry {
        DecisionEntry {
            id: id.to_owned(),
            agent: action.who.agent.clone(),
            operator: action.who.operator.clone(),
            call_digest: sha256_hex(call_json.as_bytes()),
            action: Recorded::Action(Box::new(action)),
            policy: decision.policy.version.clone(),
            decision: decision.decision,
            rules: decision.rules.clone(),
            reason: decision.reason.clone(),
            status: status.to_owned(),
            approval: approval.map(str::to_owned),
        }
    }
}

/// The Action, whole, or its SHA-256 when the entry would be too large.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Recorded {
    Action(Box<Action>),
    Digest {
        /// SHA-256 (hex) of the Action's JSON as the store holds it.
        action_sha256: String,
        /// How many targets it named.
        targets: usize,
    },
}

/// Why bytes are not an entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("not an airlock ledger entry: {0}")]
    Malformed(String),
    #[error(
        "entry format version {0} is not known to this airlock (it reads versions {VERSION} and {sep}); upgrade airlock to read it",
        sep = crate::personal::VERSION_SEPARATE
    )]
    Version(u32),
    #[error("the entry is {0} bytes, over the ledger's limit of {MAX_ENTRY}")]
    TooLarge(usize),
}

impl Entry {
    /// A new entry of the current version.
    pub fn new(time_ms: i64, gateway: &str, tenant: &str, event: Event) -> Entry {
        Entry {
            v: VERSION,
            time_ms,
            gateway: gateway.to_owned(),
            tenant: tenant.to_owned(),
            event,
        }
    }

    /// The entry's bytes, as the ledger stores them. Free text (reasons,
    /// comments, details) over [`MAX_TEXT`] bytes is kept as its beginning and its
    /// SHA-256 (the whole text stays in the service's store); a decision too large
    /// for the ledger keeps its Action's digest instead of the Action. What still
    /// does not fit is an error.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        if self.event.has_long_text() {
            let mut capped = self.clone();
            capped.event.cap_texts();
            return capped.to_bytes();
        }
        let bytes = serde_json::to_vec(self).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if bytes.len() <= MAX_ENTRY {
            return Ok(bytes);
        }
        if let Event::Decision(d) = &self.event
            && let Recorded::Action(a) = &d.action
        {
            let json = serde_json::to_vec(a).map_err(|e| EntryError::Malformed(e.to_string()))?;
            let mut smaller = self.clone();
            if let Event::Decision(d) = &mut smaller.event {
                d.action = Recorded::Digest {
                    action_sha256: sha256_hex(&json),
                    targets: a.targets.len(),
                };
            }
            let bytes =
                serde_json::to_vec(&smaller).map_err(|e| EntryError::Malformed(e.to_string()))?;
            if bytes.len() <= MAX_ENTRY {
                return Ok(bytes);
            }
            return Err(EntryError::TooLarge(bytes.len()));
        }
        Err(EntryError::TooLarge(bytes.len()))
    }

    /// Reads an entry's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        #[derive(Deserialize)]
        struct Head {
            v: u32,
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if head.v != VERSION && head.v != crate::personal::VERSION_SEPARATE {
            return Err(EntryError::Version(head.v));
        }
        let entry: Entry =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if entry.is_separate() {
            entry.check_separate()?;
        }
        Ok(entry)
    }

    /// The human who acted (voted, halted, resumed, changed the policy or a
    /// credential, reviewed), if a human did.
    pub fn human(&self) -> Option<&str> {
        match &self.event {
            Event::Vote { approver, .. } => Some(approver),
            Event::Halt { by, .. }
            | Event::Resume { by, .. }
            | Event::Policy { by, .. }
            | Event::Credential { by, .. }
            | Event::Prune { by, .. }
            | Event::Erasure { by, .. } => Some(by),
            Event::Review { reviewer, .. } => Some(reviewer),
            Event::Decision(_) | Event::Expiry { .. } | Event::Outcome { .. } => None,
        }
    }

    /// The operator a decision names: the human the agent acts for, if known.
    pub fn operator(&self) -> Option<&str> {
        match &self.event {
            Event::Decision(d) => d.operator.as_deref().or(match &d.action {
                Recorded::Action(a) => a.who.operator.as_deref(),
                Recorded::Digest { .. } => None,
            }),
            _ => None,
        }
    }

    /// The entry's kind, as its `kind` field names it.
    pub fn kind(&self) -> &'static str {
        match &self.event {
            Event::Decision(_) => "decision",
            Event::Vote { .. } => "vote",
            Event::Expiry { .. } => "expiry",
            Event::Halt { .. } => "halt",
            Event::Resume { .. } => "resume",
            Event::Policy { .. } => "policy",
            Event::Credential { .. } => "credential",
            Event::Review { .. } => "review",
            Event::Outcome { .. } => "outcome",
            Event::Prune { .. } => "prune",
            Event::Erasure { .. } => "erasure",
        }
    }
}

/// Free text longer than this is kept in an entry as its beginning and digest.
pub const MAX_TEXT: usize = 4096;

impl Event {
    fn texts(&mut self) -> Vec<&mut String> {
        match self {
            Event::Decision(d) => vec![&mut d.reason],
            Event::Vote { comment, .. } | Event::Review { comment, .. } => vec![comment],
            Event::Halt { reason, .. } => vec![reason],
            Event::Outcome { detail, .. } => vec![detail],
            Event::Expiry { .. }
            | Event::Resume { .. }
            | Event::Policy { .. }
            | Event::Credential { .. }
            | Event::Prune { .. }
            | Event::Erasure { .. } => Vec::new(),
        }
    }

    fn has_long_text(&self) -> bool {
        self.clone().texts().iter().any(|t| t.len() > MAX_TEXT)
    }

    fn cap_texts(&mut self) {
        for t in self.texts() {
            if t.len() > MAX_TEXT {
                *t = capped(t);
            }
        }
    }
}

/// The first kilobyte of a long text, its length and its SHA-256: short enough
/// for any entry, and still bound to the whole text the store keeps.
fn capped(s: &str) -> String {
    let mut end = 1024.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} bytes in all, sha256:{})",
        &s[..end],
        s.len(),
        sha256_hex(s.as_bytes())
    )
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_model::{Effect, Target, What, Who};

    fn action(targets: usize) -> Action {
        Action {
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
            targets: (0..targets)
                .map(|i| Target {
                    kind: "aws:cloudformation:stack".into(),
                    name: format!("stack-{i:06}"),
                    ..Target::default()
                })
                .collect(),
            magnitude: Default::default(),
            why: Default::default(),
        }
    }

    fn decision(targets: usize) -> Entry {
        Entry::new(
            1_800_000_000_000,
            "gw-1",
            "default",
            Event::Decision(Box::new(DecisionEntry {
                id: "act_1".into(),
                agent: "kiro".into(),
                operator: Some("dave@example.com".into()),
                call_digest: sha256_hex(b"{}"),
                action: Recorded::Action(Box::new(action(targets))),
                policy: "sha256:00".into(),
                decision: Tier::Deny,
                rules: vec!["no-environment-teardown".into()],
                reason: "no".into(),
                status: "denied".into(),
                approval: None,
            })),
        )
    }

    #[test]
    fn an_entry_round_trips_and_encodes_the_same_bytes_every_time() {
        let e = decision(3);
        let bytes = e.to_bytes().unwrap();
        assert_eq!(bytes, e.clone().to_bytes().unwrap());
        let back = Entry::parse(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(r#"{"v":1,"time_ms":1800000000000,"gateway":"gw-1","tenant":"default","kind":"decision","#), "{text}");
    }

    #[test]
    fn a_decision_too_large_for_an_entry_keeps_the_actions_digest() {
        let e = decision(5_000);
        let bytes = e.to_bytes().unwrap();
        assert!(bytes.len() <= MAX_ENTRY);
        let Event::Decision(d) = Entry::parse(&bytes).unwrap().event else {
            panic!("not a decision")
        };
        let Event::Decision(original) = &e.event else {
            unreachable!()
        };
        let Recorded::Action(a) = &original.action else {
            unreachable!()
        };
        assert_eq!(
            d.action,
            Recorded::Digest {
                action_sha256: sha256_hex(&serde_json::to_vec(a).unwrap()),
                targets: 5_000
            }
        );
    }

    #[test]
    fn long_texts_keep_their_beginning_and_digest() {
        let comment = format!("é{}", "x".repeat(70_000));
        let e = Entry::new(
            0,
            "gw",
            "t",
            Event::Review {
                id: "x".into(),
                reviewer: "r".into(),
                wrong: true,
                comment: comment.clone(),
            },
        );
        let bytes = e.to_bytes().unwrap();
        assert!(bytes.len() < 2 * MAX_TEXT);
        let Event::Review { comment: kept, .. } = Entry::parse(&bytes).unwrap().event else {
            panic!("not a review")
        };
        assert!(kept.starts_with("éxxx"), "{kept}");
        assert!(
            kept.ends_with(&format!(
                "(70002 bytes in all, sha256:{})",
                sha256_hex(comment.as_bytes())
            )),
            "{kept}"
        );
        // Short texts are kept as they are.
        let short = Entry::new(
            0,
            "gw",
            "t",
            Event::Halt {
                scope: "tenant".into(),
                name: String::new(),
                reason: "x".repeat(MAX_TEXT),
                by: "a".into(),
                rejected: 0,
            },
        );
        assert_eq!(Entry::parse(&short.to_bytes().unwrap()).unwrap(), short);
    }

    #[test]
    fn what_still_does_not_fit_is_refused() {
        let e = Entry::new(
            0,
            "gw",
            "t",
            Event::Credential {
                change: CredentialChange::Issued,
                principal: "human".into(),
                name: "n".into(),
                roles: vec!["group:x".repeat(100); 1000],
                by: "admin".into(),
            },
        );
        assert!(matches!(e.to_bytes(), Err(EntryError::TooLarge(_))));
    }

    #[test]
    fn unknown_versions_and_malformed_bytes_are_errors() {
        assert!(matches!(
            Entry::parse(br#"{"v":3,"kind":"expiry"}"#),
            Err(EntryError::Version(3))
        ));
        assert!(matches!(
            Entry::parse(b"not json"),
            Err(EntryError::Malformed(_))
        ));
        assert!(matches!(
            Entry::parse(br#"{"v":1,"time_ms":0,"gateway":"g","tenant":"t","kind":"nonsense"}"#),
            Err(EntryError::Malformed(_))
        ));
    }

    #[test]
    fn every_kind_parses_back() {
        let events = [
            Event::Vote {
                id: "a".into(),
                approver: "alice".into(),
                groups: vec!["oncall".into()],
                approve: true,
                comment: "ok".into(),
                status: "approved".into(),
            },
            Event::Expiry { id: "a".into() },
            Event::Halt {
                scope: "agent".into(),
                name: "kiro".into(),
                reason: "runaway".into(),
                by: "alice".into(),
                rejected: 3,
            },
            Event::Resume {
                scope: "agent".into(),
                name: "kiro".into(),
                by: "alice".into(),
            },
            Event::Policy {
                version: "sha256:1".into(),
                previous: "sha256:0".into(),
                by: "file".into(),
            },
            Event::Credential {
                change: CredentialChange::Rotated,
                principal: "agent".into(),
                name: "kiro".into(),
                roles: vec![],
                by: "admin".into(),
            },
            Event::Review {
                id: "a".into(),
                reviewer: "bob".into(),
                wrong: false,
                comment: String::new(),
            },
            Event::Outcome {
                id: "a".into(),
                outcome: "executed".into(),
                detail: String::new(),
            },
            Event::Prune {
                below: 1000,
                before_ms: 1_700_000_000_000,
                by: "admin".into(),
            },
            Event::Erasure {
                how: "index".into(),
                indices: vec![3, 7],
                entries: 2,
                fields: 4,
                by: "admin".into(),
            },
        ];
        for event in events {
            let e = Entry::new(5, "gw", "t", event);
            let back = Entry::parse(&e.to_bytes().unwrap()).unwrap();
            assert_eq!(back.kind(), e.kind());
            assert_eq!(back, e);
        }
    }
}
