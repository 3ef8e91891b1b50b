//! airlock's policy language and decision engine.
//!
//! ```text
//! YAML ──parse──▶ PolicyDoc ──compile──▶ Compiled ──lint──▶ Policy
//!                 (source.rs)            (compile.rs)  (lint.rs)
//! Policy + Action + time ──evaluate──▶ Verdict ──render──▶ Decision
//!                          (engine.rs)             (explain.rs)
//! ```
//!
//! A policy is rejected whole or loaded whole: [`Policy::load`] returns every error
//! with its line, column and key, and never a half-loaded policy. Evaluation is a
//! pure function of the policy, the action and the time given; the same inputs
//! always give the same decision.
//!
//! Combining, in one sentence: **the strictest tier among the matching enforced rules
//! wins (deny > approve > log > allow), and when nothing matches the answer is deny.**

mod compile;
pub mod diag;
mod engine;
mod explain;
pub mod glob;
mod lint;
// `description` fields are documentation for whoever reads the YAML; the engine
// never needs them.
#[allow(dead_code)]
mod source;
pub mod testing;

use airlock_model::{Action, Decision, Effect, PolicyRef};
use sha2::{Digest, Sha256};

pub use diag::{Diagnostic, PolicyError, Severity};
pub use engine::{Decider, PlacedBy, PlacedTarget, Verdict};

/// The built-in default policy, used when none is given. Safe for a newcomer.
pub const DEFAULT_POLICY_YAML: &str = include_str!("../policies/default.yaml");
/// The name the built-in default policy is reported under.
pub const DEFAULT_POLICY_FILE: &str = "<built-in default policy>";

/// A validated, compiled policy, ready to decide.
#[derive(Debug, Clone)]
pub struct Policy {
    compiled: compile::Compiled,
    version: String,
    file: String,
}

/// A policy that loaded, with the warnings it loaded with.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub policy: Policy,
    pub warnings: Vec<Diagnostic>,
}

impl Policy {
    /// The effect the policy assigns to `tool` of MCP server `server`, with the
    /// pattern that matched. Exact tool names win over globs; among globs, the first
    /// in the file.
    pub fn mcp_tool_effect(&self, server: &str, tool: &str) -> Option<(Effect, &str)> {
        self.compiled
            .mcp_servers
            .get(server)?
            .tools
            .iter()
            .find(|(g, _)| g.is_match(tool))
            .map(|(g, e)| (*e, g.as_str()))
    }

    /// Whether the policy trusts the annotations of MCP server `server`.
    pub fn mcp_trusts(&self, server: &str) -> bool {
        self.compiled
            .mcp_servers
            .get(server)
            .is_some_and(|s| s.trusted)
    }

    /// Parses, validates and compiles a policy. `file` names it in messages; `now`
    /// is used only to warn about exceptions that have already expired.
    pub fn load(file: &str, source: &str, now: jiff::Timestamp) -> Result<Loaded, PolicyError> {
        let fail = |diagnostics| PolicyError {
            file: file.to_owned(),
            diagnostics,
        };
        let doc: source::PolicyDoc = serde_saphyr::from_str(source)
            .map_err(|e| fail(vec![diag::from_yaml_error(source, &e)]))?;
        let compiled = compile::compile(&doc).map_err(fail)?;
        let findings = lint::lint(&compiled, now.as_second());
        if findings.iter().any(|d| d.severity == Severity::Error) {
            return Err(fail(findings));
        }
        let version = format!("sha256:{:x}", Sha256::digest(source.as_bytes()));
        Ok(Loaded {
            policy: Policy {
                compiled,
                version,
                file: file.to_owned(),
            },
            warnings: findings,
        })
    }

    /// The built-in default policy. It is tested to load; the `Result` is there so
    /// that a broken build fails closed instead of panicking.
    pub fn builtin_default() -> Result<Policy, PolicyError> {
        Policy::load(
            DEFAULT_POLICY_FILE,
            DEFAULT_POLICY_YAML,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .map(|l| l.policy)
    }

    pub fn name(&self) -> &str {
        &self.compiled.name
    }

    /// `sha256:` of the policy source: recorded with every decision.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file the policy was loaded from, as given to [`Policy::load`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Members of an approver group, when the policy lists them (`None` when the
    /// group is unknown or its membership comes from the identity provider).
    pub fn group_members(&self, group: &str) -> Option<&[String]> {
        self.compiled.groups.get(group)?.as_deref()
    }

    /// The human a listed agent acts for (who therefore may not approve its requests).
    pub fn agent_operator(&self, agent: &str) -> Option<&str> {
        self.compiled.agents.get(agent)?.operator.as_deref()
    }

    pub fn rule_count(&self) -> usize {
        self.compiled.rules.len()
    }

    /// The decision, in indices and without any explanation: the fast path.
    pub fn evaluate(&self, action: &Action, now: jiff::Timestamp) -> Verdict {
        engine::evaluate(&self.compiled, action, now.as_second())
    }

    /// The same decision as [`Policy::evaluate`], reached by evaluating every rule
    /// instead of the index's candidates. Slow; it exists so tests can show that the
    /// index never misses a rule.
    pub fn evaluate_exhaustive(&self, action: &Action, now: jiff::Timestamp) -> Verdict {
        engine::evaluate_with(
            &self.compiled,
            action,
            now.as_second(),
            engine::Scan::Exhaustive,
        )
    }

    /// The decision with names, approval requirements and a one-sentence reason.
    pub fn decide(&self, action: &Action, now: jiff::Timestamp) -> Decision {
        let v = self.evaluate(action, now);
        self.render(action, &v)
    }

    /// Turns a verdict into a full [`Decision`].
    pub fn render(&self, action: &Action, v: &Verdict) -> Decision {
        explain::render(self, action, v)
    }

    /// A human-readable trace of how the decision was reached: placements, every
    /// matching rule and exception, and the outcome.
    pub fn trace(&self, action: &Action, now: jiff::Timestamp) -> String {
        explain::trace(self, action, now.as_second())
    }

    /// The id of what decided, as it appears in `Decision::rules`.
    pub fn decider_id(&self, d: Decider) -> String {
        explain::decider_id(&self.compiled, d)
    }

    pub(crate) fn policy_ref(&self) -> PolicyRef {
        PolicyRef {
            name: self.compiled.name.clone(),
            version: self.version.clone(),
        }
    }
}
