//! Personal data kept outside the leaf, so that it can be erased without
//! touching the tree.
//!
//! An append-only log cannot forget: every byte of a leaf is bound into every
//! later root. In the **separate** mode, an entry (format [`VERSION_SEPARATE`])
//! holds, in place of each personal-data field, a salted commitment
//! `pd:sha256:HEX` = SHA-256(`airlock personal data v1\n` ‖ salt ‖ value), with
//! a fresh random salt of [`SALT_LEN`] bytes per field (so a short value such as
//! a name cannot be found by hashing guesses). The value and its salt live in an
//! erasable side store beside the ledger; erasing them leaves the leaf, every
//! root and every proof as they were.
//!
//! # Which fields are personal data
//!
//! Identities of humans, and free text a human (or an agent on a human's behalf)
//! wrote, in which anybody may be named:
//!
//! | entry | identities | free text |
//! |---|---|---|
//! | decision | `operator`, `action.who.operator` | `reason`, `action.why.reason`, `action.why.alternatives.N`, `action.why.rollback`, `action.who.workdir` (home directories name people) |
//! | vote | `approver` | `comment` |
//! | halt | `by` | `reason` |
//! | resume, policy, prune, erasure | `by` | |
//! | credential | `by`, and `name` when `principal` is `human` | |
//! | review | `reviewer` | `comment` |
//! | outcome | | `detail` |
//!
//! Not personal data, kept in the leaf: agent ids (non-human identities),
//! tenants, gateways, rule names, policy versions, record ids, digests, the
//! Action's tool, operation, effect and targets (what was done to which
//! resource is what the audit is for), groups and roles. Absent optional fields
//! stay absent; an empty text is committed like any other.
//!
//! This module is pure: the salts are given by the caller.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::entry::{Entry, EntryError, Event, Recorded, VERSION};

/// The entry format whose personal-data fields hold commitments.
pub const VERSION_SEPARATE: u32 = 2;

/// The salt of one commitment, in bytes.
pub const SALT_LEN: usize = 32;

/// How a commitment starts in an entry.
pub const COMMITMENT_PREFIX: &str = "pd:sha256:";

/// Domain separation: a commitment is never the hash of anything else.
const DOMAIN: &[u8] = b"airlock personal data v1\n";

/// The commitment to `value` under `salt`: `pd:sha256:` and 64 hex digits.
pub fn commitment(salt: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(salt);
    h.update(value.as_bytes());
    let mut s = String::with_capacity(COMMITMENT_PREFIX.len() + 64);
    s.push_str(COMMITMENT_PREFIX);
    for b in h.finalize() {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Whether `s` has the form of a commitment.
pub fn is_commitment(s: &str) -> bool {
    s.strip_prefix(COMMITMENT_PREFIX).is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// What a personal-data field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A human's identity: matched whole by an erasure of that subject.
    Identity,
    /// Free text: matched by an erasure when it names the subject as a word.
    Text,
}

/// The kind of the personal-data field named `field` (a path such as
/// `approver` or `action.why.reason`).
pub fn field_kind(field: &str) -> FieldKind {
    match field {
        "operator" | "action.who.operator" | "approver" | "by" | "reviewer" | "name" => {
            FieldKind::Identity
        }
        _ => FieldKind::Text,
    }
}

/// Whether a personal-data value names `subject`: an identity equal to it, or a
/// text holding it as a word (case-insensitive; a word is bounded by anything
/// that is not a letter, digit, `_`, `-`, `.` or `@`). An empty subject names
/// nothing.
pub fn names_subject(field: &str, value: &str, subject: &str) -> bool {
    let subject = subject.trim();
    if subject.is_empty() {
        return false;
    }
    match field_kind(field) {
        FieldKind::Identity => value == subject,
        FieldKind::Text => {
            let hay = value.to_lowercase();
            let needle = subject.to_lowercase();
            let part = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@');
            let mut from = 0;
            while let Some(at) = hay.get(from..).and_then(|h| h.find(&needle)) {
                let start = from + at;
                let end = start + needle.len();
                let before = hay[..start].chars().next_back();
                let after = hay[end..].chars().next();
                // A trailing full stop ends a sentence, not the name.
                let after_ok = match after {
                    None => true,
                    Some('.') => hay[end + 1..].chars().next().is_none_or(|c| !part(c)),
                    Some(c) => !part(c),
                };
                if before.is_none_or(|c| !part(c)) && after_ok {
                    return true;
                }
                from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
            }
            false
        }
    }
}

/// One personal-data value taken out of an entry: what the side store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The field's path in the entry (`approver`, `action.why.reason`, …).
    pub field: String,
    /// The commitment the entry holds in its place.
    pub commitment: String,
    pub salt: [u8; SALT_LEN],
    pub value: String,
}

/// The side store, as [`Entry::reveal`] asks it: a commitment's salt and value,
/// or `None` when they were erased.
pub type Lookup<'a> = dyn Fn(&str) -> Option<(Vec<u8>, String)> + 'a;

/// What became of a personal-data field when an entry was read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldState {
    /// The side store's value matches the commitment: shown.
    Shown,
    /// The side store has no value for it: erased.
    Erased,
    /// There is no side store (a copy of the ledger without its personal data).
    Withheld,
    /// The side store's value does not match the commitment: the store was
    /// altered. The commitment is kept in the entry; the value is not shown.
    Tampered,
}

impl FieldState {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldState::Shown => "shown",
            FieldState::Erased => "erased",
            FieldState::Withheld => "withheld",
            FieldState::Tampered => "tampered",
        }
    }
}

/// A separate-mode entry with its personal data put back where the side store
/// still holds it (and it matches).
#[derive(Debug, Clone, PartialEq)]
pub struct Revealed {
    /// The entry: each field shown holds its value; every other personal-data
    /// field still holds its commitment.
    pub entry: Entry,
    /// Each personal-data field (path → state), in entry order of paths.
    pub fields: BTreeMap<String, FieldState>,
}

impl Revealed {
    /// The fields whose side value does not match their commitment.
    pub fn tampered(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|(_, s)| **s == FieldState::Tampered)
            .map(|(f, _)| f.as_str())
    }
}

impl Entry {
    /// Every personal-data field of the entry, with its path (see the module
    /// documentation for the list).
    pub(crate) fn personal_fields_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out: Vec<(String, &mut String)> = Vec::new();
        match &mut self.event {
            Event::Decision(d) => {
                if let Some(o) = &mut d.operator {
                    out.push(("operator".into(), o));
                }
                out.push(("reason".into(), &mut d.reason));
                if let Recorded::Action(a) = &mut d.action {
                    if let Some(o) = &mut a.who.operator {
                        out.push(("action.who.operator".into(), o));
                    }
                    if let Some(w) = &mut a.who.workdir {
                        out.push(("action.who.workdir".into(), w));
                    }
                    if let Some(r) = &mut a.why.reason {
                        out.push(("action.why.reason".into(), r));
                    }
                    for (i, alt) in a.why.alternatives.iter_mut().enumerate() {
                        out.push((format!("action.why.alternatives.{i}"), alt));
                    }
                    if let Some(r) = &mut a.why.rollback {
                        out.push(("action.why.rollback".into(), r));
                    }
                }
            }
            Event::Vote {
                approver, comment, ..
            } => {
                out.push(("approver".into(), approver));
                out.push(("comment".into(), comment));
            }
            Event::Halt { reason, by, .. } => {
                out.push(("reason".into(), reason));
                out.push(("by".into(), by));
            }
            Event::Resume { by, .. }
            | Event::Policy { by, .. }
            | Event::Prune { by, .. }
            | Event::Erasure { by, .. } => {
                out.push(("by".into(), by));
            }
            Event::Credential {
                principal,
                name,
                by,
                ..
            } => {
                if principal == "human" {
                    out.push(("name".into(), name));
                }
                out.push(("by".into(), by));
            }
            Event::Review {
                reviewer, comment, ..
            } => {
                out.push(("reviewer".into(), reviewer));
                out.push(("comment".into(), comment));
            }
            Event::Outcome { detail, .. } => out.push(("detail".into(), detail)),
            Event::Expiry { .. } => {}
        }
        out
    }

    /// The entry's personal-data fields and their values (or commitments), by path.
    pub fn personal_fields(&self) -> Vec<(String, String)> {
        let mut copy = self.clone();
        copy.personal_fields_mut()
            .into_iter()
            .map(|(f, v)| (f, v.clone()))
            .collect()
    }

    /// How many salts [`Entry::separate`] needs for this entry.
    pub fn personal_count(&self) -> usize {
        self.personal_fields().len()
    }

    /// Whether the entry keeps its personal data apart (format
    /// [`VERSION_SEPARATE`]).
    pub fn is_separate(&self) -> bool {
        self.v == VERSION_SEPARATE
    }

    /// The entry in the separate format: each personal-data field replaced by its
    /// commitment under the next of `salts` (one per field, [`Entry::personal_count`]
    /// of them, each fresh and random), and what the side store must keep. Only
    /// an entry of the inline format ([`VERSION`]) can be separated.
    pub fn separate(&self, salts: &[[u8; SALT_LEN]]) -> Result<(Entry, Vec<Sealed>), EntryError> {
        if self.v != VERSION {
            return Err(EntryError::Malformed(format!(
                "only an entry of format {VERSION} can be separated; this one is format {}",
                self.v
            )));
        }
        let mut out = self.clone();
        out.v = VERSION_SEPARATE;
        let fields = out.personal_fields_mut();
        if salts.len() < fields.len() {
            return Err(EntryError::Malformed(format!(
                "{} salts given for {} personal-data fields",
                salts.len(),
                fields.len()
            )));
        }
        let mut sealed = Vec::with_capacity(fields.len());
        for ((field, value), salt) in fields.into_iter().zip(salts) {
            let c = commitment(salt, value);
            let plain = std::mem::replace(value, c.clone());
            sealed.push(Sealed {
                field,
                commitment: c,
                salt: *salt,
                value: plain,
            });
        }
        Ok((out, sealed))
    }

    /// Checks that a separate-format entry holds a commitment in every
    /// personal-data field (a plain value there would be personal data in the
    /// tree, where it can never be erased).
    pub(crate) fn check_separate(&self) -> Result<(), EntryError> {
        for (field, value) in self.personal_fields() {
            if !is_commitment(&value) {
                return Err(EntryError::Malformed(format!(
                    "entry format {VERSION_SEPARATE} keeps personal data apart, but its field `{field}` holds a value, not a commitment"
                )));
            }
        }
        Ok(())
    }

    /// The commitments a separate-format entry holds (none for the inline format).
    pub fn commitments(&self) -> Vec<String> {
        if !self.is_separate() {
            return Vec::new();
        }
        self.personal_fields().into_iter().map(|(_, c)| c).collect()
    }

    /// Puts a separate-format entry's personal data back: `lookup(commitment)`
    /// answers the side store's salt and value for it (`None`: erased). Each value
    /// is checked against its commitment; one that does not match is reported as
    /// tampered and not shown. With `lookup` `None` (no side store at all) every
    /// field is withheld. An inline-format entry comes back as it is, with no
    /// fields.
    pub fn reveal(&self, lookup: Option<&Lookup<'_>>) -> Revealed {
        let mut entry = self.clone();
        let mut fields = BTreeMap::new();
        if self.is_separate() {
            for (field, slot) in entry.personal_fields_mut() {
                let state = match lookup {
                    None => FieldState::Withheld,
                    Some(lookup) => match lookup(slot) {
                        None => FieldState::Erased,
                        Some((salt, value)) => {
                            if commitment(&salt, &value) == *slot {
                                *slot = value;
                                FieldState::Shown
                            } else {
                                FieldState::Tampered
                            }
                        }
                    },
                };
                fields.insert(field, state);
            }
        }
        Revealed { entry, fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{CredentialChange, DecisionEntry};
    use airlock_model::{Action, Tier};

    fn salts(n: usize) -> Vec<[u8; SALT_LEN]> {
        (0..n)
            .map(|i| [u8::try_from(i + 1).unwrap(); SALT_LEN])
            .collect()
    }

    fn vote() -> Entry {
        Entry::new(
            7,
            "gw",
            "t",
            Event::Vote {
                id: "act_1".into(),
                approver: "alice".into(),
                groups: vec!["oncall".into()],
                approve: true,
                comment: "Bob asked me to approve this".into(),
                status: "approved".into(),
            },
        )
    }

    fn decision() -> Entry {
        let action: Action = serde_json::from_value(serde_json::json!({
            "who": {"agent": "kiro", "operator": "dave@example.com", "workdir": "/home/dave/src"},
            "what": {"tool": "bash", "operation": "rm", "effect": "delete"},
            "targets": [{"kind": "file", "name": "build"}],
            "why": {"reason": "clean up for dave", "alternatives": ["ask carol", "leave it"]},
        }))
        .unwrap();
        Entry::new(
            9,
            "gw",
            "t",
            Event::Decision(Box::new(DecisionEntry {
                id: "act_2".into(),
                agent: "kiro".into(),
                operator: Some("dave@example.com".into()),
                call_digest: "00".into(),
                action: Recorded::Action(Box::new(action)),
                policy: "sha256:00".into(),
                decision: Tier::Deny,
                rules: vec!["no-rm".into()],
                reason: "rule no-rm denies deleting files".into(),
                status: "denied".into(),
                approval: None,
            })),
        )
    }

    fn lookup_from(sealed: &[Sealed]) -> impl Fn(&str) -> Option<(Vec<u8>, String)> + '_ {
        move |c: &str| {
            sealed
                .iter()
                .find(|s| s.commitment == c)
                .map(|s| (s.salt.to_vec(), s.value.clone()))
        }
    }

    #[test]
    fn a_separated_entry_holds_no_personal_value_and_round_trips_deterministically() {
        for e in [vote(), decision()] {
            let n = e.personal_count();
            let (sep, sealed) = e.separate(&salts(n)).unwrap();
            assert_eq!(sealed.len(), n);
            let bytes = sep.to_bytes().unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(text.starts_with(r#"{"v":2,"#), "{text}");
            for s in &sealed {
                assert!(!text.contains(&s.value), "{} leaked: {text}", s.field);
                assert!(text.contains(&s.commitment));
            }
            // Not personal data: stays in the leaf.
            assert!(text.contains("kiro") || text.contains("oncall"), "{text}");
            // Same salts, same bytes; parsed back, the same entry.
            assert_eq!(e.separate(&salts(n)).unwrap().0.to_bytes().unwrap(), bytes);
            let back = Entry::parse(&bytes).unwrap();
            assert_eq!(back, sep);
            assert_eq!(back.commitments().len(), n);
            // Revealed with the side store: the original entry but for the version.
            let lookup = lookup_from(&sealed);
            let revealed = back.reveal(Some(&lookup));
            let mut expected = e.clone();
            expected.v = VERSION_SEPARATE;
            assert_eq!(revealed.entry, expected);
            assert!(revealed.fields.values().all(|s| *s == FieldState::Shown));
        }
    }

    #[test]
    fn the_personal_fields_are_the_documented_ones() {
        let fields: Vec<String> = decision()
            .personal_fields()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "operator",
                "reason",
                "action.who.operator",
                "action.who.workdir",
                "action.why.reason",
                "action.why.alternatives.0",
                "action.why.alternatives.1"
            ]
        );
        let credential = |principal: &str| {
            Entry::new(
                0,
                "gw",
                "t",
                Event::Credential {
                    change: CredentialChange::Issued,
                    principal: principal.into(),
                    name: "n".into(),
                    roles: vec![],
                    by: "admin".into(),
                },
            )
        };
        let names =
            |e: Entry| -> Vec<String> { e.personal_fields().into_iter().map(|(f, _)| f).collect() };
        assert_eq!(names(credential("human")), ["name", "by"]);
        assert_eq!(names(credential("agent")), ["by"]);
        assert!(names(Entry::new(0, "g", "t", Event::Expiry { id: "a".into() })).is_empty());
    }

    #[test]
    fn erased_withheld_and_tampered_values_are_never_shown_as_true() {
        let e = vote();
        let (sep, sealed) = e.separate(&salts(2)).unwrap();
        // The comment erased: the approver shown, the comment keeps its commitment.
        let kept = vec![sealed[0].clone()];
        let lookup = lookup_from(&kept);
        let r = sep.reveal(Some(&lookup));
        assert_eq!(r.fields["approver"], FieldState::Shown);
        assert_eq!(r.fields["comment"], FieldState::Erased);
        let Event::Vote {
            approver, comment, ..
        } = &r.entry.event
        else {
            unreachable!()
        };
        assert_eq!(approver, "alice");
        assert_eq!(comment, &sealed[1].commitment);
        // No side store: withheld.
        let r = sep.reveal(None);
        assert!(r.fields.values().all(|s| *s == FieldState::Withheld));
        assert_eq!(r.entry, sep);
        // A value swapped in the side store, or its salt changed: tampered.
        let mut altered = sealed.clone();
        altered[0].value = "mallory".into();
        altered[1].salt[0] ^= 1;
        let lookup = lookup_from(&altered);
        let r = sep.reveal(Some(&lookup));
        assert_eq!(r.tampered().collect::<Vec<_>>(), ["approver", "comment"]);
        assert_eq!(r.entry, sep);
    }

    #[test]
    fn salts_make_commitments_unguessable_and_distinct() {
        let a = commitment(&[1; SALT_LEN], "alice");
        assert_ne!(a, commitment(&[2; SALT_LEN], "alice"));
        assert_ne!(a, commitment(&[1; SALT_LEN], "alicf"));
        assert!(is_commitment(&a));
        assert!(!is_commitment("alice"));
        assert!(!is_commitment(&a.to_uppercase()));
        assert!(!is_commitment(&a[..a.len() - 1]));
        // Not the plain SHA-256 of the value.
        assert!(!a.ends_with(&crate::sha256_hex(b"alice")));
    }

    #[test]
    fn a_separate_entry_with_a_plain_value_is_refused() {
        let (sep, _) = vote().separate(&salts(2)).unwrap();
        let text = String::from_utf8(sep.to_bytes().unwrap()).unwrap();
        let Event::Vote { approver, .. } = &sep.event else {
            unreachable!()
        };
        let forged = text.replace(approver.as_str(), "alice");
        assert!(matches!(
            Entry::parse(forged.as_bytes()),
            Err(EntryError::Malformed(m)) if m.contains("approver")
        ));
        // Too few salts, or separating twice: refused.
        assert!(vote().separate(&salts(1)).is_err());
        assert!(sep.separate(&salts(2)).is_err());
    }

    #[test]
    fn inline_entries_are_unchanged_by_reveal() {
        let e = vote();
        let r = e.reveal(None);
        assert_eq!(r.entry, e);
        assert!(r.fields.is_empty());
        assert!(e.commitments().is_empty());
    }

    proptest::proptest! {
        /// Any values, any salts: separated, encoded, parsed and revealed, the
        /// entry is the original (but for its version), and the leaf holds only
        /// commitments where the values were.
        #[test]
        fn separate_then_reveal_is_the_identity(
            approver in "\\PC{0,40}",
            comment in "\\PC{0,200}",
            seed in proptest::prelude::any::<[u8; SALT_LEN]>(),
        ) {
            let e = Entry::new(
                1,
                "gw",
                "t",
                Event::Vote {
                    id: "act".into(),
                    approver,
                    groups: vec![],
                    approve: false,
                    comment,
                    status: "rejected".into(),
                },
            );
            let mut other = seed;
            other[0] ^= 0xff;
            let (sep, sealed) = e.separate(&[seed, other]).unwrap();
            let bytes = sep.to_bytes().unwrap();
            let back = Entry::parse(&bytes).unwrap();
            proptest::prop_assert!(back.personal_fields().iter().all(|(_, v)| is_commitment(v)));
            let lookup = lookup_from(&sealed);
            let revealed = back.reveal(Some(&lookup));
            let mut expected = e.clone();
            expected.v = VERSION_SEPARATE;
            proptest::prop_assert_eq!(revealed.entry, expected);
        }
    }

    #[test]
    fn subjects_match_identities_whole_and_texts_by_word() {
        assert!(names_subject("approver", "alice", "alice"));
        assert!(!names_subject("approver", "alice2", "alice"));
        assert!(!names_subject("by", "Alice", "alice"));
        assert!(names_subject("comment", "Alice asked for it.", "alice"));
        assert!(names_subject("comment", "asked by alice.", "alice"));
        assert!(names_subject("comment", "(alice)", "alice"));
        assert!(!names_subject("comment", "malice", "alice"));
        assert!(!names_subject("comment", "alice.smith@x", "alice"));
        assert!(names_subject(
            "reason",
            "ping alice.smith@x",
            "alice.smith@x"
        ));
        assert!(!names_subject("comment", "anything", "  "));
        assert!(names_subject("comment", "é alice é", "ALICE"));
    }
}
