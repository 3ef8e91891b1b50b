//! The vocabulary of airlock.
//!
//! An [`Action`] is what an agent is about to do, normalised: who is acting, what the
//! effect is, on which targets, how much it touches and why. A [`Decision`] is what the
//! policy says about it. Everything else in airlock (classifiers, the gateway, the
//! ledger) produces or consumes these two types, so they are plain serde data with a
//! generated JSON Schema and no behaviour beyond ordering and display.
//!
//! This crate is pure: no I/O, no clock, no globals.

mod action;
mod decision;

pub use action::{Action, Effect, EffectSet, Magnitude, Target, What, Who, Why};
pub use decision::{
    ApprovalRequirement, ApprovalRule, Decision, Mode, Observed, Placement, PolicyRef, Tier,
};

/// JSON Schema of [`Action`], as served by `airlock schema action`.
pub fn action_schema() -> schemars::Schema {
    schemars::schema_for!(Action)
}

/// JSON Schema of [`Decision`], as served by `airlock schema decision`.
pub fn decision_schema() -> schemars::Schema {
    schemars::schema_for!(Decision)
}
