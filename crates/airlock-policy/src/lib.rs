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

use airlock_model::{Action, ApprovalRequirement, ApprovalRule, Decision, Effect, PolicyRef, Tier};
use sha2::{Digest, Sha256};

pub use diag::{Diagnostic, PolicyError, Severity};
pub use engine::{Decider, PlacedBy, PlacedTarget, Verdict};

/// One limit an action counts against (see [`Policy::limits`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LimitUse {
    pub id: String,
    /// The counter: tenant, limit and whose (`agent:kiro`, `zone:ci`, `tenant`).
    pub key: String,
    pub window_start_ms: i64,
    pub window_ms: i64,
    /// What this action adds (1 action, its resources, its cost in cents).
    pub amount: u64,
    pub max: u64,
    /// `actions`, `resources` or `cents`.
    pub unit: &'static str,
    /// Whose counter, as in the key.
    pub per: String,
    /// The tier an action over the limit gets.
    pub tier: Tier,
    pub message: Option<String>,
    /// What approving needs when `tier` is `approve`.
    pub approval: Option<ApprovalRequirement>,
}

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

    /// Whether the rule `id` (or the built-in `airlock:unlisted-agent`) decides a
    /// call whatever its arguments: it is enforced, has no `unless`, no exception
    /// can waive it, and its conditions name only the agent, the tenant, the tool
    /// and the operation — or also the effect, when `effect_fixed` (the policy maps
    /// the tool's effect, so arguments cannot move it). Targets, magnitude, the
    /// stated reason and time windows all depend on the call. The MCP gateway
    /// leaves out of a tool list the tools such a rule always denies.
    pub fn rule_is_argument_free(&self, id: &str, effect_fixed: bool) -> bool {
        let c = &self.compiled;
        if id == "airlock:unlisted-agent" {
            return c.unlisted == source::UnlistedAgents::Deny;
        }
        let Some((index, rule)) = c.rules.iter().enumerate().find(|(_, r)| r.id == id) else {
            return false;
        };
        let waivable = c
            .exceptions
            .iter()
            .any(|e| e.waive.iter().any(|w| *w as usize == index));
        if rule.mode != airlock_model::Mode::Enforce || rule.unless.is_some() || waivable {
            return false;
        }
        let w = &rule.when;
        let on_the_call_only = w.per_target.is_none()
            && w.bulk.is_none()
            && w.resources_over.is_none()
            && w.cost_over.is_none()
            && w.irreversible.is_none()
            && w.reason.is_none()
            && w.alternatives.is_none()
            && w.rollback.is_none()
            && w.during.is_none()
            && w.outside.is_none();
        on_the_call_only && (w.effects == airlock_model::EffectSet::ALL || effect_fixed)
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

    /// The limits this action counts against at `now`: for each, the counter's key
    /// and window, how much the action adds and the maximum. Counting is the
    /// caller's job (the service does it atomically in its store); this only says
    /// what to count. `tenant` names the counter's tenant.
    pub fn limits(&self, action: &Action, tenant: &str, now: jiff::Timestamp) -> Vec<LimitUse> {
        let p = &self.compiled;
        if p.limits.is_empty() {
            return Vec::new();
        }
        let secs = now.as_second();
        let placements = engine::place(p, action);
        let agent = engine::resolve_agent(p, action);
        let facts = engine::Facts {
            action,
            agent,
            placements: &placements,
            now: secs,
        };
        let now_ms = now.as_millisecond();
        p.limits
            .iter()
            .filter(|l| l.when.matches(p, &facts))
            .map(|l| {
                let whose = match l.per {
                    source::LimitPer::Agent => format!("agent:{}", action.who.agent),
                    source::LimitPer::Zone => format!(
                        "zone:{}",
                        facts
                            .agent
                            .zone
                            .and_then(|z| p.zones.get(usize::from(z)))
                            .map_or("(none)", |z| z.name.as_str())
                    ),
                    source::LimitPer::Tenant => "tenant".to_owned(),
                };
                let window_ms = i64::try_from(l.window_secs)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000)
                    .max(1);
                let (amount, max, unit) = match l.measure {
                    compile::Measure::Actions(n) => (1, n, "actions"),
                    compile::Measure::Resources(n) => (action.resources_affected(), n, "resources"),
                    // An action without an estimate adds nothing it could be shown to cost.
                    compile::Measure::CostCents(n) => (
                        action
                            .magnitude
                            .cost_usd
                            .filter(|c| c.is_finite() && *c > 0.0)
                            .map_or(0, |c| (c * 100.0).ceil() as u64),
                        n,
                        "cents",
                    ),
                };
                LimitUse {
                    id: l.id.clone(),
                    key: format!("{tenant}/{}/{whose}", l.id),
                    window_start_ms: now_ms - now_ms.rem_euclid(window_ms),
                    window_ms,
                    amount,
                    max,
                    unit,
                    per: whose,
                    tier: l.tier,
                    message: l.message.clone(),
                    approval: (l.tier == Tier::Approve)
                        .then_some(p.default_approval.as_ref())
                        .flatten()
                        .map(|a| ApprovalRequirement {
                            requirements: vec![ApprovalRule {
                                group: a.group.clone(),
                                approvals: a.count,
                                rules: vec![format!("limit:{}", l.id)],
                            }],
                            timeout_seconds: a.timeout_secs,
                            on_timeout: Tier::Deny,
                        }),
                }
            })
            .collect()
    }

    /// Whether `decision` puts the action in the most sensitive environment, and if
    /// so, what a first-seen (agent, operation) there gets: `log` or `approve` with
    /// the approval it needs. `None` when the policy does not ask.
    pub fn first_seen(&self, decision: &Decision) -> Option<(Tier, Option<ApprovalRequirement>)> {
        let tier = self.compiled.first_seen?;
        let most_sensitive = self.compiled.envs.first()?.name.as_str();
        if !decision
            .placements
            .iter()
            .any(|p| p.environment == most_sensitive)
        {
            return None;
        }
        let approval = (tier == Tier::Approve)
            .then(|| self.default_approval("airlock:first-seen"))
            .flatten();
        Some((tier, approval))
    }

    /// The approval `defaults.approvals` asks for, on behalf of `rule` (for holds the
    /// service adds: first-seen operations, plans whose steps together need a human).
    /// `None` when the policy names no default approvers.
    pub fn default_approval(&self, rule: &str) -> Option<ApprovalRequirement> {
        self.compiled
            .default_approval
            .as_ref()
            .map(|a| ApprovalRequirement {
                requirements: vec![ApprovalRule {
                    group: a.group.clone(),
                    approvals: a.count,
                    rules: vec![rule.to_owned()],
                }],
                timeout_seconds: a.timeout_secs,
                on_timeout: Tier::Deny,
            })
    }

    /// Spot checks: of every million `log` decisions, how many a human reviews
    /// afterwards (0 when the policy does not ask). The service draws the sample.
    pub fn spot_check_ppm(&self) -> u32 {
        self.compiled.spot_check_ppm
    }

    /// The circuit breaker: how many limit hits within how many seconds halt an
    /// agent, when the policy sets one.
    pub fn circuit_breaker(&self) -> Option<(u64, u64)> {
        self.compiled.breaker
    }

    /// The zone the inventory places a listed agent in.
    pub fn agent_zone(&self, agent: &str) -> Option<&str> {
        let z = self.compiled.agents.get(agent)?.zone?;
        self.compiled
            .zones
            .get(usize::from(z))
            .map(|z| z.name.as_str())
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
