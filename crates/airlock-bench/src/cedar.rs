//! The generated rule set in Cedar (the `cedar-policy` crate).
//!
//! Each rule is one `permit` policy carrying its tier in an annotation
//! (`@tier("approve")`). The decision is the strictest tier among the satisfied
//! policies, deny when none is: since every policy is a `permit`, Cedar's
//! `reason()` lists exactly the satisfied ones. Cedar evaluates every policy of the
//! set on every request; it has no index.
//!
//! The formulation is idiomatic Cedar: principal `Agent::"id"` in `Team::"t007"`,
//! action `Action::"write"` (the effect), resource `Operation::"s3:putobject"`, and
//! the tool, the operation name, the bulk flag and the placed target (environment,
//! zone, service) in the context. Cedar has no quantifiers over sets, so an action
//! with several targets is one request per target, combined by the host: a
//! restricting rule (approve, deny) counts when satisfied for any target, a relaxing
//! one (allow, log) when satisfied for every target, as in airlock.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use airlock_model::{Effect, Tier};
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId,
    PolicySet, Request, RestrictedExpression,
};

use crate::catalog::ZONES;
use crate::model::{PeerInput, combine};
use crate::rules::{GenRule, Generated, OpPat};

fn lit(s: &str) -> String {
    debug_assert!(!s.contains('"') && !s.contains('\\'));
    format!("\"{s}\"")
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.into_iter().map(lit).collect();
    format!("[{}]", v.join(", "))
}

/// One rule as a Cedar policy.
pub fn policy_source(r: &GenRule) -> String {
    let principal = match (&r.agent, &r.team) {
        (Some(a), _) => format!("principal == Agent::{}", lit(a)),
        (None, Some(t)) => format!("principal in Team::{}", lit(t)),
        (None, None) => "principal".to_owned(),
    };
    let action = if r.any_effect() {
        "action".to_owned()
    } else {
        let v: Vec<String> = r
            .effects
            .iter()
            .map(|e| format!("Action::{}", lit(e.as_str())))
            .collect();
        format!("action in [{}]", v.join(", "))
    };
    let mut when: Vec<String> = Vec::new();
    let literal = r.literal_ops();
    let resource = match literal.as_deref() {
        Some([op]) => format!("resource == Operation::{}", lit(op)),
        Some(ops) => {
            let v: Vec<String> = ops
                .iter()
                .map(|o| format!("Operation::{}", lit(o)))
                .collect();
            when.push(format!("resource in [{}]", v.join(", ")));
            "resource".to_owned()
        }
        None => {
            if !r.ops.is_empty() {
                let v: Vec<String> = r
                    .ops
                    .iter()
                    .map(|p| match p {
                        OpPat::Exact(s) => {
                            format!("context.op == {}", lit(&s.to_ascii_lowercase()))
                        }
                        OpPat::Prefix(s) => {
                            format!("context.op like \"{}*\"", s.to_ascii_lowercase())
                        }
                        OpPat::Suffix(s) => {
                            format!("context.op like \"*{}\"", s.to_ascii_lowercase())
                        }
                    })
                    .collect();
                when.push(if v.len() == 1 {
                    v[0].clone()
                } else {
                    format!("({})", v.join(" || "))
                });
            }
            "resource".to_owned()
        }
    };
    if let Some(t) = &r.tool {
        when.insert(0, format!("context.tool == {}", lit(t)));
    }
    if r.bulk {
        when.push("context.bulk".to_owned());
    }
    match r.envs.as_slice() {
        [] => {}
        [e] => when.push(format!("context.env == {}", lit(e.name()))),
        es => when.push(format!(
            "{}.contains(context.env)",
            set(es.iter().map(|e| e.name()))
        )),
    }
    match r.zones.as_slice() {
        [] => {}
        [z] => when.push(format!(
            "context has zone && context.zone == {}",
            lit(ZONES[*z].0)
        )),
        zs => when.push(format!(
            "context has zone && {}.contains(context.zone)",
            set(zs.iter().map(|&z| ZONES[z].0))
        )),
    }
    if let Some(s) = &r.service {
        when.push(format!(
            "context has service && context.service == {}",
            lit(s)
        ));
    }
    let mut src = String::new();
    let _ = write!(
        src,
        "@id({})\n@tier({})\npermit (\n  {principal},\n  {action},\n  {resource}\n)",
        lit(&r.id),
        lit(r.tier.as_str())
    );
    if !when.is_empty() {
        let _ = write!(src, "\nwhen {{\n  {}\n}}", when.join(" &&\n  "));
    }
    src.push_str(";\n");
    src
}

/// The whole rule set as one Cedar file (for reading; the peer parses each policy
/// on its own to give it the rule's id).
pub fn policies_source(g: &Generated) -> String {
    g.rules
        .iter()
        .map(policy_source)
        .collect::<Vec<_>>()
        .join("\n")
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, String> {
    let ty = EntityTypeName::from_str(ty).map_err(|e| e.to_string())?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

/// A prepared request: one Cedar request per target, and the entities they use.
pub struct CedarInput {
    requests: Vec<Request>,
    entities: Entities,
    effect: Effect,
}

pub struct CedarPeer {
    authorizer: Authorizer,
    policies: PolicySet,
    /// From each policy's `@tier` annotation.
    tiers: HashMap<PolicyId, Tier>,
}

fn parse_tier(s: &str) -> Option<Tier> {
    [Tier::Allow, Tier::Log, Tier::Approve, Tier::Deny]
        .into_iter()
        .find(|t| t.as_str() == s)
}

impl CedarPeer {
    pub fn new(g: &Generated) -> Result<CedarPeer, String> {
        let mut policies = PolicySet::new();
        for r in &g.rules {
            let p = Policy::parse(Some(PolicyId::new(&r.id)), policy_source(r))
                .map_err(|e| format!("{}: {e}\n{}", r.id, policy_source(r)))?;
            policies.add(p).map_err(|e| e.to_string())?;
        }
        let mut tiers = HashMap::new();
        for p in policies.policies() {
            let t = p
                .annotation("tier")
                .and_then(parse_tier)
                .ok_or_else(|| format!("policy {} has no valid @tier", p.id()))?;
            tiers.insert(p.id().clone(), t);
        }
        Ok(CedarPeer {
            authorizer: Authorizer::new(),
            policies,
            tiers,
        })
    }

    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// Builds the requests and entities for one action (outside the timed loop).
    pub fn prepare(&self, i: &PeerInput) -> Result<CedarInput, String> {
        let principal = uid("Agent", &i.agent)?;
        let parents: HashSet<EntityUid> = match &i.team {
            Some(t) => HashSet::from([uid("Team", t)?]),
            None => HashSet::new(),
        };
        let entities =
            Entities::from_entities([Entity::new_no_attrs(principal.clone(), parents)], None)
                .map_err(|e| e.to_string())?;
        let action = uid("Action", i.effect.as_str())?;
        let resource = uid("Operation", &i.op)?;
        let mut requests = Vec::new();
        for t in &i.targets {
            let mut ctx = vec![
                (
                    "tool".to_owned(),
                    RestrictedExpression::new_string(i.tool.clone()),
                ),
                (
                    "op".to_owned(),
                    RestrictedExpression::new_string(i.op.clone()),
                ),
                ("bulk".to_owned(), RestrictedExpression::new_bool(i.bulk)),
                (
                    "env".to_owned(),
                    RestrictedExpression::new_string(t.env.name().to_owned()),
                ),
            ];
            if let Some(z) = t.zone {
                ctx.push((
                    "zone".to_owned(),
                    RestrictedExpression::new_string(ZONES[z].0.to_owned()),
                ));
            }
            if let Some(s) = &t.service {
                ctx.push((
                    "service".to_owned(),
                    RestrictedExpression::new_string(s.clone()),
                ));
            }
            let context = Context::from_pairs(ctx).map_err(|e| e.to_string())?;
            let req = Request::new(
                principal.clone(),
                action.clone(),
                resource.clone(),
                context,
                None,
            )
            .map_err(|e| e.to_string())?;
            requests.push(req);
        }
        Ok(CedarInput {
            requests,
            entities,
            effect: i.effect,
        })
    }

    /// The tier for a prepared action: what is timed.
    pub fn decide(&self, input: &CedarInput) -> Tier {
        match input.requests.as_slice() {
            [req] => {
                let resp = self
                    .authorizer
                    .is_authorized(req, &self.policies, &input.entities);
                combine(
                    resp.diagnostics()
                        .reason()
                        .filter_map(|id| self.tiers.get(id).copied()),
                    input.effect,
                )
            }
            reqs => {
                // Per policy: on how many targets it was satisfied.
                let mut hits: HashMap<PolicyId, usize> = HashMap::new();
                for req in reqs {
                    let resp = self
                        .authorizer
                        .is_authorized(req, &self.policies, &input.entities);
                    for id in resp.diagnostics().reason() {
                        *hits.entry(id.clone()).or_default() += 1;
                    }
                }
                combine(
                    hits.iter().filter_map(|(id, &n)| {
                        let t = *self.tiers.get(id)?;
                        let restricts = !t.is_permissive();
                        (restricts || n == reqs.len()).then_some(t)
                    }),
                    input.effect,
                )
            }
        }
    }

    /// [`Self::decide`], failing when Cedar reported evaluation errors (a policy that
    /// errors is skipped by Cedar, which would silently change the answer).
    pub fn decide_checked(&self, input: &CedarInput) -> Result<Tier, String> {
        for req in &input.requests {
            let resp = self
                .authorizer
                .is_authorized(req, &self.policies, &input.entities);
            let errors: Vec<String> = resp.diagnostics().errors().map(|e| e.to_string()).collect();
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
        }
        Ok(self.decide(input))
    }
}
