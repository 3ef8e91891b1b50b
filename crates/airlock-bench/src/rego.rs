//! The generated rule set in Rego, for regorus.
//!
//! What a good Rego author would write for thousands of rules: the rules are data,
//! not Rego code, indexed by what an action always has, and one small policy looks
//! up the candidate rules for the input, checks each, and takes the strictest tier:
//!
//! - `by_op_team[op][team]`: rules naming literal operations and a team;
//! - `by_op[op]`: rules naming literal operations, no team;
//! - `by_agent[agent][effect]`, `by_team[team][effect]`, `by_tool[tool][effect]`;
//! - `by_service[service][effect]`: rules about one service's targets, looked up for
//!   each target (a relaxing rule found through one target still checks them all);
//! - `general[effect]`: the rest.
//!
//! The index is exact for operations, teams, agents, services and effects, so an
//! entry's remaining checks are few: those marked `residual` (a tool, `bulk`, an
//! operation pattern) and the per-target conditions (environments and zones as
//! complete true/false maps). Builtin and function calls cost about half a
//! microsecond each on the RVM, so the checks are shaped to make few of them. A
//! rule with several operation patterns becomes one entry per pattern. Several
//! formulations were measured (see BENCHMARKS.md); this is the fastest found.
//!
//! The policy is compiled once to regorus's RVM (its bytecode virtual machine,
//! `languages::rego::compiler::Compiler` → `rvm::RegoVM`), the data set once, and
//! each decision is `set_input` + `execute` on a reused VM. The interpreter path
//! (`CompiledPolicy::eval_with_input`) is kept for comparison.

use std::sync::Arc;

use airlock_model::Tier;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::rvm::program::Program;
use regorus::{CompiledPolicy, Engine, Value};
use serde_json::{Map, Value as Json, json};

use crate::catalog::{Env, ZONES};
use crate::model::PeerInput;
use crate::rules::{GenRule, Generated, OpPat};

/// The Rego policy: the same for every rule count.
pub const POLICY: &str = r#"package airlock

import rego.v1

# Tiers: 0 allow, 1 log, 2 approve, 3 deny. Nothing matches: deny. An action of
# unknown effect never ends below approve.
default base := 3

base := max(tiers) if count(tiers) > 0

default floor := 0

floor := 2 if input.effect == "unknown"

decision := max([base, floor])

# The candidates, from exact index lookups (a missing key gives nothing).
tiers contains r.tier if {
	some r in data.ix.by_op_team[input.op][input.team]
	r.effects[input.effect]
	ok(r)
}

tiers contains r.tier if {
	some r in data.ix.by_op[input.op]
	r.effects[input.effect]
	ok(r)
}

tiers contains r.tier if {
	some r in data.ix.by_agent[input.agent][input.effect]
	ok(r)
}

tiers contains r.tier if {
	some r in data.ix.by_team[input.team][input.effect]
	ok(r)
}

tiers contains r.tier if {
	some r in data.ix.by_tool[input.tool][input.effect]
	ok(r)
}

tiers contains r.tier if {
	some t in input.targets
	some r in data.ix.by_service[t.service][input.effect]
	ok(r)
}

tiers contains r.tier if {
	some r in data.ix.general[input.effect]
	ok(r)
}

# Operation, team, agent, service and effect are exact in the index; an entry marked
# `residual` has conditions on the tool, bulk or an operation pattern (an absent key
# defaults to the input's own value, so it holds).
ok(r) if {
	not r.residual
	targets_ok(r)
}

ok(r) if {
	r.residual
	object.get(r, "tool", input.tool) == input.tool
	object.get(r, "bulk", input.bulk) == input.bulk
	object.get(r, "op_exact", input.op) == input.op
	startswith(input.op, object.get(r, "op_prefix", ""))
	endswith(input.op, object.get(r, "op_suffix", ""))
	targets_ok(r)
}

# Restricting rules (approve, deny) need one fitting target, relaxing ones every
# target.
targets_ok(r) if not r.per_target

targets_ok(r) if {
	r.any
	some t in input.targets
	object.get(r, ["envs", t.env], true)
	object.get(r, ["zones", t.zone], true)
	object.get(r, "service", t.service) == t.service
}

targets_ok(r) if {
	r.per_target
	not r.any
	every t in input.targets {
		object.get(r, ["envs", t.env], true)
		object.get(r, ["zones", t.zone], true)
		object.get(r, "service", t.service) == t.service
	}
}
"#;

pub const ENTRY_POINT: &str = "data.airlock.decision";

/// One rule as a JSON object (absent keys: no condition). `op` is the single
/// operation pattern this entry checks (`None`: the index already matched the
/// operation, or the rule has no operation condition); a rule with several patterns
/// becomes one entry per pattern.
pub fn rule_json(r: &GenRule, op: Option<&OpPat>) -> Json {
    let mut o = Map::new();
    o.insert("id".into(), json!(r.id));
    o.insert("tier".into(), json!(r.tier as u8));
    o.insert(
        "effects".into(),
        Json::Object(
            r.effects
                .iter()
                .map(|e| (e.as_str().to_owned(), Json::Bool(true)))
                .collect(),
        ),
    );
    if r.strict() {
        o.insert("any".into(), json!(true));
    }
    if let Some(t) = &r.team {
        o.insert("team".into(), json!(t));
    }
    if let Some(a) = &r.agent {
        o.insert("agent".into(), json!(a));
    }
    if let Some(t) = &r.tool {
        o.insert("tool".into(), json!(t.to_ascii_lowercase()));
    }
    match op {
        Some(OpPat::Exact(s)) => o.insert("op_exact".into(), json!(s.to_ascii_lowercase())),
        Some(OpPat::Prefix(s)) => o.insert("op_prefix".into(), json!(s.to_ascii_lowercase())),
        Some(OpPat::Suffix(s)) => o.insert("op_suffix".into(), json!(s.to_ascii_lowercase())),
        None => None,
    };
    if r.bulk {
        o.insert("bulk".into(), json!(true));
    }
    if r.bulk || r.tool.is_some() || op.is_some() {
        o.insert("residual".into(), json!(true));
    }
    if r.per_target() {
        o.insert("per_target".into(), json!(true));
    }
    // Complete maps (every environment; every zone and "none"), true or false, so
    // that `object.get(r, ["envs", t.env], true)` is the whole check.
    if !r.envs.is_empty() {
        let m: Map<String, Json> = Env::ALL
            .iter()
            .map(|e| (e.name().to_owned(), json!(r.envs.contains(e))))
            .collect();
        o.insert("envs".into(), Json::Object(m));
    }
    if !r.zones.is_empty() {
        let mut m: Map<String, Json> = ZONES
            .iter()
            .enumerate()
            .map(|(i, z)| (z.0.to_owned(), json!(r.zones.contains(&i))))
            .collect();
        m.insert("none".into(), json!(false));
        o.insert("zones".into(), Json::Object(m));
    }
    if let Some(s) = &r.service {
        o.insert("service".into(), json!(s));
    }
    Json::Object(o)
}

fn push(map: &mut Map<String, Json>, path: &[&str], entry: Json) {
    match path {
        [] => {}
        [last] => {
            if let Json::Array(v) = map
                .entry((*last).to_owned())
                .or_insert_with(|| Json::Array(Vec::new()))
            {
                v.push(entry);
            }
        }
        [first, rest @ ..] => {
            if let Json::Object(m) = map
                .entry((*first).to_owned())
                .or_insert_with(|| Json::Object(Map::new()))
            {
                push(m, rest, entry);
            }
        }
    }
}

/// The rules as indexed data: `{"ix": {...}}`. The index must be exact for the
/// rule's team and agent (the policy does not check them again), so a rule naming
/// an agent together with a team or literal operations is refused.
pub fn data_json(g: &Generated) -> Result<Json, String> {
    let mut ix: Map<String, Json> = Map::new();
    for name in [
        "by_op_team",
        "by_op",
        "by_agent",
        "by_team",
        "by_tool",
        "by_service",
        "general",
    ] {
        ix.insert(name.into(), Json::Object(Map::new()));
    }
    let mut put = |index: &str, path: &[&str], entry: Json| {
        if let Some(Json::Object(m)) = ix.get_mut(index) {
            push(m, path, entry);
        }
    };
    for r in &g.rules {
        if r.agent.is_some() && (r.team.is_some() || r.literal_ops().is_some()) {
            return Err(format!("rule {}: no exact index for its agent", r.id));
        }
        if let Some(ops) = r.literal_ops() {
            let entry = rule_json(r, None);
            for op in &ops {
                match &r.team {
                    Some(team) => put("by_op_team", &[op, team], entry.clone()),
                    None => put("by_op", &[op], entry.clone()),
                }
            }
            continue;
        }
        let entries: Vec<Json> = if r.ops.is_empty() {
            vec![rule_json(r, None)]
        } else {
            r.ops.iter().map(|p| rule_json(r, Some(p))).collect()
        };
        for e in &r.effects {
            let e = e.as_str();
            let (index, key) = match (&r.agent, &r.team, &r.tool, &r.service) {
                (Some(a), _, _, _) => ("by_agent", Some(a.as_str())),
                (None, Some(t), _, _) => ("by_team", Some(t.as_str())),
                (None, None, Some(t), _) => ("by_tool", Some(t.as_str())),
                (None, None, None, Some(s)) => ("by_service", Some(s.as_str())),
                (None, None, None, None) => ("general", None),
            };
            for entry in &entries {
                match key {
                    Some(k) => put(index, &[k, e], entry.clone()),
                    None => put(index, &[e], entry.clone()),
                }
            }
        }
    }
    Ok(json!({ "ix": ix }))
}

/// The input document for one action.
pub fn input_json(i: &PeerInput) -> Json {
    let targets: Vec<Json> = i
        .targets
        .iter()
        .map(|t| {
            let mut o = Map::new();
            o.insert("env".into(), json!(t.env.name()));
            o.insert("zone".into(), json!(t.zone.map_or("none", |z| ZONES[z].0)));
            o.insert("service".into(), json!(t.service));
            Json::Object(o)
        })
        .collect();
    let mut o = Map::new();
    o.insert("agent".into(), json!(i.agent));
    o.insert("team".into(), json!(i.team));
    o.insert("tool".into(), json!(i.tool));
    o.insert("op".into(), json!(i.op));
    o.insert("effect".into(), json!(i.effect.as_str()));
    o.insert("bulk".into(), json!(i.bulk));
    o.insert("targets".into(), Json::Array(targets));
    Json::Object(o)
}

pub fn input_value(i: &PeerInput) -> Value {
    Value::from(input_json(i))
}

fn tier_of(v: &Value) -> Result<Tier, String> {
    let n = v.as_u64().map_err(|e| format!("{e}: {v}"))?;
    [Tier::Allow, Tier::Log, Tier::Approve, Tier::Deny]
        .get(n as usize)
        .copied()
        .ok_or_else(|| format!("not a tier: {n}"))
}

pub struct RegoPeer {
    vm: RegoVM,
    compiled: CompiledPolicy,
    program: Arc<Program>,
}

impl RegoPeer {
    pub fn new(g: &Generated) -> Result<RegoPeer, String> {
        RegoPeer::with_source(g, POLICY)
    }

    /// A peer running another formulation of the policy over the same data (for
    /// experiments).
    pub fn with_source(g: &Generated, policy: &str) -> Result<RegoPeer, String> {
        let data = Value::from(data_json(g)?);
        let mut engine = Engine::new();
        engine.add_data(data.clone()).map_err(|e| e.to_string())?;
        engine
            .add_policy("airlock.rego".into(), policy.into())
            .map_err(|e| e.to_string())?;
        let compiled = engine
            .compile_with_entrypoint(&ENTRY_POINT.into())
            .map_err(|e| e.to_string())?;
        let program =
            Compiler::compile_from_policy(&compiled, &[ENTRY_POINT]).map_err(|e| e.to_string())?;
        let mut vm = RegoVM::new();
        vm.load_program(program.clone());
        // The default cap (25,000 instructions) stops a decision that scans a few
        // hundred candidate rules.
        vm.set_max_instructions(100_000_000);
        vm.set_data(data).map_err(|e| e.to_string())?;
        Ok(RegoPeer {
            vm,
            compiled,
            program,
        })
    }

    pub fn instruction_count(&self) -> usize {
        self.program.instructions.len()
    }

    /// The tier on the RVM: what is timed.
    pub fn decide(&mut self, input: &Value) -> Result<Tier, String> {
        self.vm.set_input(input.clone());
        let v = self.vm.execute().map_err(|e| e.to_string())?;
        tier_of(&v)
    }

    /// The tier on regorus's interpreter over the compiled policy.
    pub fn decide_interpreted(&self, input: &Value) -> Result<Tier, String> {
        let v = self
            .compiled
            .eval_with_input(input.clone())
            .map_err(|e| e.to_string())?;
        tier_of(&v)
    }
}
