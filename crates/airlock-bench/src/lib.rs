//! The decision benchmark of issue 3.
//!
//! A deterministic generator ([`rules`]) builds a realistic rule set of N rules
//! (per team, per zone, per operation, per service, and a few global rules) and a
//! realistic mix of Actions ([`actions`]). The rule set is written as an airlock
//! policy ([`yaml`]) and, with the `peers` feature, as Cedar policies ([`cedar`])
//! and as Rego over indexed JSON data ([`rego`]). Before anything is timed,
//! `check_agreement` makes sure the engines give the same tier for every Action.
//!
//! `benches/decide.rs` times decisions with criterion; `benches/latency.rs` times
//! each decision on its own and prints p50/p99/max. `benches/classify.rs` times the
//! classifiers of airlock-classify (shell, SQL, and [`plans`] of 1,000 resources).
//! See BENCHMARKS.md at the root.

pub mod actions;
pub mod catalog;
#[cfg(feature = "peers")]
pub mod cedar;
pub mod latency;
pub mod model;
pub mod plans;
#[cfg(feature = "peers")]
pub mod rego;
pub mod rng;
pub mod rules;
pub mod yaml;

use airlock_model::{Action, Tier};
use airlock_policy::Policy;

/// The rule counts the benchmark runs at.
pub const RULE_COUNTS: [usize; 4] = [10, 100, 1_000, 10_000];

/// The time every decision is made at (no rule depends on it).
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_780_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Everything one rule count needs: the generated rules, the airlock policy and
/// the action mix.
pub struct Scenario {
    pub generated: rules::Generated,
    pub yaml: String,
    pub policy: Policy,
    pub actions: Vec<Action>,
    /// How long `Policy::load` took.
    pub load_time: std::time::Duration,
}

impl Scenario {
    /// Generates and loads the policy of `rule_count` rules.
    pub fn new(rule_count: usize) -> Result<Scenario, String> {
        let generated = rules::generate(rule_count);
        if generated.rules.len() != rule_count {
            return Err(format!(
                "generated {} rules instead of {rule_count}",
                generated.rules.len()
            ));
        }
        let yaml = yaml::policy_yaml(&generated);
        let start = std::time::Instant::now();
        let loaded = Policy::load(&format!("bench-{rule_count}.yaml"), &yaml, now())
            .map_err(|e| e.to_string())?;
        let load_time = start.elapsed();
        if !loaded.warnings.is_empty() {
            return Err(format!("warnings: {:?}", loaded.warnings));
        }
        let actions = actions::actions(&generated, actions::ACTION_COUNT);
        Ok(Scenario {
            generated,
            yaml,
            policy: loaded.policy,
            actions,
            load_time,
        })
    }

    pub fn airlock_tier(&self, a: &Action) -> Tier {
        self.policy.evaluate(a, now()).tier
    }

    /// airlock's tier against the brute-force reference, for every action: the
    /// generator's own check, which needs no peer engine.
    pub fn check_against_reference(&self) {
        for a in &self.actions {
            let input = model::peer_input(a);
            let expected = model::reference_tier(&self.generated, &input);
            let got = self.airlock_tier(a);
            if got != expected {
                panic!(
                    "airlock and the reference disagree at {} rules: airlock {got}, reference {expected}\naction: {a:?}\nairlock trace:\n{}",
                    self.generated.rules.len(),
                    self.policy.trace(a, now())
                );
            }
        }
    }

    /// How many actions end in each tier (allow, log, approve, deny).
    pub fn tier_counts(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for a in &self.actions {
            n[self.airlock_tier(a) as usize] += 1;
        }
        n
    }
}

/// The three engines on one scenario, prepared for timing: each peer's input is
/// built ahead of time, outside any timed loop.
#[cfg(feature = "peers")]
pub struct Peers {
    pub cedar: cedar::CedarPeer,
    pub cedar_inputs: Vec<cedar::CedarInput>,
    pub rego: rego::RegoPeer,
    pub rego_inputs: Vec<regorus::Value>,
}

#[cfg(feature = "peers")]
impl Peers {
    pub fn new(s: &Scenario) -> Result<Peers, String> {
        let cedar = cedar::CedarPeer::new(&s.generated)?;
        let rego = rego::RegoPeer::new(&s.generated)?;
        let inputs: Vec<model::PeerInput> = s.actions.iter().map(model::peer_input).collect();
        let cedar_inputs = inputs
            .iter()
            .map(|i| cedar.prepare(i))
            .collect::<Result<_, _>>()?;
        let rego_inputs = inputs.iter().map(rego::input_value).collect();
        Ok(Peers {
            cedar,
            cedar_inputs,
            rego,
            rego_inputs,
        })
    }
}

/// Checks that airlock, Cedar and Rego give the same tier for every action of the
/// scenario; panics with the action and the answers at the first disagreement.
/// Returns the number of actions checked.
#[cfg(feature = "peers")]
pub fn check_agreement(s: &Scenario, p: &mut Peers) -> usize {
    for (i, a) in s.actions.iter().enumerate() {
        let airlock = s.airlock_tier(a);
        let cedar = p.cedar.decide_checked(&p.cedar_inputs[i]);
        let rego = p.rego.decide(&p.rego_inputs[i]);
        let rego_interp = p.rego.decide_interpreted(&p.rego_inputs[i]);
        let ok = matches!(&cedar, Ok(c) if *c == airlock)
            && matches!(&rego, Ok(r) if *r == airlock)
            && matches!(&rego_interp, Ok(r) if *r == airlock);
        if !ok {
            let input = model::peer_input(a);
            let reference = model::reference_tier(&s.generated, &input);
            panic!(
                "engines disagree at {} rules on action {}:\n  airlock: {airlock}\n  cedar:   {cedar:?}\n  rego (RVM): {rego:?}\n  rego (interpreter): {rego_interp:?}\n  reference: {reference}\naction: {a:?}\npeer input: {input:?}",
                s.generated.rules.len(),
                a.id.as_deref().unwrap_or("?"),
            );
        }
    }
    s.actions.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_policies_load_and_decide_like_the_reference() {
        for n in [10, 100, 1_000] {
            let s = Scenario::new(n).unwrap_or_else(|e| panic!("{n} rules: {e}"));
            assert_eq!(s.policy.rule_count(), n);
            s.check_against_reference();
            let counts = s.tier_counts();
            if n >= 100 {
                assert!(counts.iter().all(|&c| c > 0), "{n} rules: {counts:?}");
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let a = yaml::policy_yaml(&rules::generate(200));
        let b = yaml::policy_yaml(&rules::generate(200));
        assert_eq!(a, b);
        let g = rules::generate(200);
        assert_eq!(actions::actions(&g, 50), actions::actions(&g, 50));
    }

    #[cfg(feature = "peers")]
    #[test]
    fn engines_agree_on_every_action() {
        for n in [10, 100, 1_000] {
            let s = Scenario::new(n).unwrap_or_else(|e| panic!("{n} rules: {e}"));
            let mut p = Peers::new(&s).unwrap_or_else(|e| panic!("{n} rules: {e}"));
            assert_eq!(check_agreement(&s, &mut p), s.actions.len());
        }
    }
}
