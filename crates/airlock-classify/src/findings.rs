//! What a classifier found: the parts of a call, each with its effect and why, the
//! targets it touches, and how many resources.

use airlock_model::{Effect, Target};
use serde::Serialize;

/// One piece of a call: a command of a pipeline, a SQL statement, a resource change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// The source text of the piece (a command, a statement, a resource address).
    pub text: String,
    pub effect: Effect,
    /// Why this effect, in a few words ("`rm -r` deletes files recursively").
    pub why: String,
    /// The piece is unbounded (DELETE without WHERE, `--all`, recursive).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bulk: bool,
    /// The operation, when one is known (`cloudformation:DeleteStack`, `DROP TABLE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The command that does it (`aws`, `psql`, `rm`), when the part comes from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

impl Part {
    pub fn new(text: impl Into<String>, effect: Effect, why: impl Into<String>) -> Part {
        Part {
            text: text.into(),
            effect,
            why: why.into(),
            bulk: false,
            operation: None,
            tool: None,
        }
    }

    pub fn bulk(mut self, bulk: bool) -> Part {
        self.bulk = bulk;
        self
    }

    pub fn operation(mut self, op: impl Into<String>) -> Part {
        self.operation = Some(op.into());
        self
    }
}

/// Everything one classifier found in its input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub parts: Vec<Part>,
    pub targets: Vec<Target>,
    /// Resources affected, when the input says (a plan's resource count, say).
    pub resources: Option<u64>,
}

impl Findings {
    /// A single part that could not be understood: `unknown`, never `read`.
    pub fn unknown(text: impl Into<String>, why: impl Into<String>) -> Findings {
        Findings {
            parts: vec![Part::new(text, Effect::Unknown, why)],
            ..Findings::default()
        }
    }

    pub fn part(&mut self, part: Part) {
        self.parts.push(part);
    }

    /// Adds a target unless it is already listed. The duplicate check is bounded so
    /// that a hostile input naming 100,000 tables stays linear: past a few hundred
    /// targets they are appended as they come (a repeat is harmless, a quadratic
    /// scan is not).
    pub fn target(&mut self, target: Target) {
        const DEDUP_LIMIT: usize = 256;
        if self.targets.len() >= DEDUP_LIMIT || !self.targets.contains(&target) {
            self.targets.push(target);
        }
    }

    pub fn extend(&mut self, other: Findings) {
        self.parts.extend(other.parts);
        for t in other.targets {
            self.target(t);
        }
        self.resources = match (self.resources, other.resources) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        };
    }

    /// The effect of the whole: the most severe part, except that any `unknown` part
    /// makes the whole `unknown` (a piece nobody understood might be anything, and
    /// reporting the known maximum would let a relaxing rule through).
    pub fn effect(&self) -> Effect {
        combine(self.parts.iter().map(|p| p.effect))
    }

    /// The distinct effects of the parts, in order.
    pub fn effects(&self) -> Vec<Effect> {
        let mut v: Vec<Effect> = self.parts.iter().map(|p| p.effect).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn bulk(&self) -> bool {
        self.parts.iter().any(|p| p.bulk)
    }
}

/// Combines effects: `unknown` dominates, otherwise the maximum; nothing at all is
/// `unknown` too (an empty call was not understood either).
pub fn combine(effects: impl IntoIterator<Item = Effect>) -> Effect {
    let mut max: Option<Effect> = None;
    for e in effects {
        if e == Effect::Unknown {
            return Effect::Unknown;
        }
        max = Some(max.map_or(e, |m| m.max(e)));
    }
    max.unwrap_or(Effect::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_dominates_and_nothing_is_unknown() {
        assert_eq!(combine([Effect::Read, Effect::Delete]), Effect::Delete);
        assert_eq!(
            combine([Effect::Permissions, Effect::Unknown]),
            Effect::Unknown
        );
        assert_eq!(combine([]), Effect::Unknown);
    }
}
