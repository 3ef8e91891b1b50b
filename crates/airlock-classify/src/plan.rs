//! Terraform / OpenTofu plan JSON (`terraform show -json <planfile>`) → resource changes.
//!
//! One [`Part`] per resource change that does something, its text the resource address:
//!
//! | `change.actions`                           | effect  | operation        | counted as  |
//! |--------------------------------------------|---------|------------------|-------------|
//! | `["delete"]`                               | delete  | `delete`         | deleted     |
//! | `["delete","create"]`                      | delete  | `replace`        | replaced    |
//! | `["create","delete"]` (create first)       | delete  | `replace`        | replaced    |
//! | `["create"]`                               | write   | `create`         | created     |
//! | `["update"]`                               | write   | `update`         | updated     |
//! | `["forget"]` (removed from state only)     | write   | `forget`         | forgotten   |
//! | `["create","forget"]`                      | write   | `replace-forget` | forgotten   |
//! | `["no-op"]` with `importing`               | write   | `import`         | imported    |
//! | `["no-op"]` with `previous_address`        | write   | `move`           | moved       |
//! | `["no-op"]` otherwise                      | no part |                  |             |
//! | `["read"]` on a data source                | read    | `read`           | not counted |
//!
//! Replacement counts as delete: the object is destroyed (the December 2025 incident was a
//! production environment deleted and recreated). A resource type that governs access
//! (IAM, RBAC, policies, firewall rules: [`access_control_type`]) raises create, update,
//! delete and replace to `permissions`; forget, import and move stay `write` (they touch the
//! state only). A delete or replace of a container that takes its contents with it (a
//! Kubernetes namespace, a bucket with `force_destroy`, a project, a resource group) is
//! `bulk`.
//!
//! `findings.resources` is the number of **managed resource instances the plan changes**:
//! deleted + replaced + created + updated + forgotten + imported + moved, each instance
//! once (a replacement is one, not two). Data-source reads, outputs, deferred changes and
//! provider actions are not counted.
//!
//! Also read: `output_changes` (a changed root output is a `write` part `output.<name>`,
//! no target; an output whose planned value equals the one already in `prior_state` is not
//! a change, which is how Terraform 0.12 reports unchanged outputs as `create`),
//! `action_invocations` (provider actions run arbitrary operations: `unknown`),
//! `deferred_changes` and `deferred_action_invocations` (not applied by this plan: `read`
//! parts that say what they would do), `action_reason`, `replace_paths`, `deposed`,
//! `importing` (all mentioned in the why). `resource_drift` is ignored: it already
//! happened outside Terraform and applying the plan does not do it. A plan that changes
//! nothing is one `read` part, `no changes`.
//!
//! Targets: kind `terraform:<resource type>`, name the address, and `account` / `region` /
//! `namespace` where the resource's own values say so without guessing (an AWS `arn` or
//! `region`; a Google `project` / `region`; an Azure `location` and `/subscriptions/<id>/`
//! id; a Kubernetes `metadata.namespace`), else a constant `region` / `project` /
//! `subscription_id` / single `allowed_account_ids` in the resource's own provider
//! configuration. When the before and after values disagree (a replacement that moves a
//! resource), both are targets.
//!
//! Unknown, never a guess: input over [`MAX_PLAN_BYTES`]; malformed JSON, including nesting
//! beyond serde_json's recursion limit of 128 in what is read (what is skipped is skipped
//! without recursion); JSON that is not a plan (not an object, no `format_version`, a state
//! rather than a plan, fields of the wrong type, a duplicated field); a `format_version`
//! other than 0.x or 1.x; a resource change without address, type or actions; an unknown
//! action string or combination (or `read` on a managed resource, anything but `read` or
//! `no-op` on a data source); an unknown resource mode.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use airlock_model::{Effect, Target};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::{Findings, Part};

/// Plans larger than this are not read (`unknown`).
pub const MAX_PLAN_BYTES: usize = 64 * 1024 * 1024;

/// Classifies a plan given as JSON text (`terraform show -json <planfile>`).
pub fn classify_plan(json: &str) -> Findings {
    if json.len() > MAX_PLAN_BYTES {
        return Findings::unknown(
            format!("plan JSON ({} bytes)", json.len()),
            format!(
                "the plan JSON is {} bytes, over the {} MiB limit",
                json.len(),
                MAX_PLAN_BYTES / (1024 * 1024)
            ),
        );
    }
    // serde would also read a struct from a JSON array, field by field: a plan is an object.
    if !json.trim_start().starts_with('{') {
        let what = match json.trim_start().chars().next() {
            None => "empty",
            Some('[') => "an array",
            Some('"') => "a string",
            Some(c) if c == '-' || c.is_ascii_digit() => "a number",
            Some('t' | 'f') => "a boolean or not JSON",
            Some('n') => "null or not JSON",
            Some(_) => "not JSON",
        };
        return Findings::unknown(
            snippet(json),
            format!("not a Terraform plan: the input is {what}, not a JSON object"),
        );
    }
    let plan: Plan = match serde_json::from_str(json) {
        Ok(plan) => plan,
        Err(e) => return Findings::unknown(snippet(json), parse_error(&e)),
    };
    if let Err(why) = plan.check() {
        return Findings::unknown(snippet(json), why);
    }
    Classifier::new(&plan).run()
}

// ---------------------------------------------------------------------------------------
// The plan, as far as it is read. Unknown fields are ignored (a plan has many); values that
// are not needed are skipped without being kept in memory.

#[derive(Deserialize)]
struct Plan {
    format_version: Option<String>,
    planned_values: Option<IgnoredAny>,
    resource_changes: Option<Vec<ResourceChange>>,
    deferred_changes: Option<Vec<DeferredChange>>,
    output_changes: Option<BTreeMap<String, OutputChange>>,
    action_invocations: Option<Vec<ActionInvocation>>,
    deferred_action_invocations: Option<Vec<DeferredAction>>,
    prior_state: Option<PriorState>,
    configuration: Option<Configuration>,
    /// Present in a state (`terraform show -json` without a plan), absent in a plan.
    values: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ResourceChange {
    address: Option<String>,
    previous_address: Option<String>,
    module_address: Option<String>,
    mode: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    name: Option<String>,
    provider_name: Option<String>,
    deposed: Option<String>,
    change: Option<Change>,
    action_reason: Option<String>,
}

#[derive(Deserialize)]
struct Change {
    actions: Option<Vec<String>>,
    before: Option<Attrs>,
    after: Option<Attrs>,
    replace_paths: Option<Vec<Vec<Value>>>,
    importing: Option<Importing>,
}

#[derive(Deserialize)]
struct Importing {
    id: Option<String>,
    identity: Option<Value>,
    unknown: Option<bool>,
}

#[derive(Deserialize)]
struct DeferredChange {
    reason: Option<String>,
    resource_change: Option<ResourceChange>,
}

#[derive(Deserialize)]
struct OutputChange {
    actions: Option<Vec<String>>,
    after: Option<Value>,
    after_unknown: Option<Value>,
}

#[derive(Deserialize)]
struct ActionInvocation {
    address: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    provider_name: Option<String>,
    lifecycle_action_trigger: Option<LifecycleTrigger>,
    invoke_action_trigger: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct LifecycleTrigger {
    triggering_resource_address: Option<String>,
    action_trigger_event: Option<String>,
}

#[derive(Deserialize)]
struct DeferredAction {
    reason: Option<String>,
    action_invocation: Option<ActionInvocation>,
}

#[derive(Deserialize)]
struct PriorState {
    values: Option<StateValues>,
}

#[derive(Deserialize)]
struct StateValues {
    outputs: Option<BTreeMap<String, StateOutput>>,
}

#[derive(Deserialize)]
struct StateOutput {
    value: Option<Value>,
}

#[derive(Deserialize)]
struct Configuration {
    provider_config: Option<BTreeMap<String, ProviderConfig>>,
    root_module: Option<ConfigModule>,
}

#[derive(Deserialize)]
struct ProviderConfig {
    name: Option<String>,
    expressions: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct ConfigModule {
    resources: Option<Vec<ConfigResource>>,
    module_calls: Option<BTreeMap<String, ModuleCall>>,
}

#[derive(Deserialize)]
struct ModuleCall {
    module: Option<ConfigModule>,
}

#[derive(Deserialize)]
struct ConfigResource {
    mode: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    name: Option<String>,
    provider_config_key: Option<String>,
}

/// The few attributes of a `before` / `after` object that say where a resource is, or how
/// much goes with it. Anything else (and a value that is not an object) is skipped.
#[derive(Default)]
struct Attrs {
    region: Option<Value>,
    arn: Option<Value>,
    project: Option<Value>,
    location: Option<Value>,
    id: Option<Value>,
    metadata: Option<Value>,
    manifest: Option<Value>,
    namespace: Option<Value>,
    force_destroy: Option<Value>,
    type_: Option<Value>,
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Attrs, D::Error> {
        d.deserialize_any(AttrsVisitor)
    }
}

struct AttrsVisitor;

impl<'de> Visitor<'de> for AttrsVisitor {
    type Value = Attrs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of resource attributes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs, A::Error> {
        let mut a = Attrs::default();
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "region" => &mut a.region,
                "arn" => &mut a.arn,
                "project" => &mut a.project,
                "location" => &mut a.location,
                "id" => &mut a.id,
                "metadata" => &mut a.metadata,
                "manifest" => &mut a.manifest,
                "namespace" => &mut a.namespace,
                "force_destroy" => &mut a.force_destroy,
                "type" => &mut a.type_,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Value>()?);
        }
        Ok(a)
    }

    // Terraform's values are objects; anything else carries nothing we read.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Attrs, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Attrs::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
    fn visit_unit<E>(self) -> Result<Attrs, E> {
        Ok(Attrs::default())
    }
}

impl Plan {
    /// Is this a plan at all, and one whose format this classifier reads?
    fn check(&self) -> Result<(), String> {
        let Some(version) = self.format_version.as_deref() else {
            return Err("not a Terraform plan: no format_version".into());
        };
        let major = version.split('.').next().unwrap_or_default();
        if major != "0" && major != "1" {
            return Err(format!(
                "unsupported plan format_version {version:?} (this classifier reads 0.x and 1.x)"
            ));
        }
        if self.planned_values.is_none() && self.resource_changes.is_none() {
            return Err(if self.values.is_some() {
                "not a Terraform plan: it has values but no planned_values (a state, not a plan)"
                    .into()
            } else {
                "not a Terraform plan: no planned_values and no resource_changes".into()
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Actions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    DeleteCreate,
    CreateDelete,
    Forget,
    CreateForget,
}

const ACTION_WORDS: [&str; 6] = ["no-op", "create", "read", "update", "delete", "forget"];

fn parse_actions(actions: &[String]) -> Result<Action, String> {
    let words: Vec<&str> = actions.iter().map(String::as_str).collect();
    Ok(match words.as_slice() {
        ["no-op"] => Action::NoOp,
        ["create"] => Action::Create,
        ["read"] => Action::Read,
        ["update"] => Action::Update,
        ["delete"] => Action::Delete,
        ["delete", "create"] => Action::DeleteCreate,
        ["create", "delete"] => Action::CreateDelete,
        ["forget"] => Action::Forget,
        ["create", "forget"] => Action::CreateForget,
        _ => {
            let list = format!("{words:?}");
            return Err(match words.iter().find(|w| !ACTION_WORDS.contains(w)) {
                Some(word) => format!("unknown action {word:?} in {list}"),
                None if words.is_empty() => "empty action list".into(),
                None => format!("unknown combination of actions {list}"),
            });
        }
    })
}

// ---------------------------------------------------------------------------------------
// The classifier.

/// Where a resource is: the scope fields of its target.
#[derive(Debug, Clone, Default, PartialEq)]
struct Scope {
    account: Option<String>,
    region: Option<String>,
    namespace: Option<String>,
}

impl Scope {
    fn fill_from(&mut self, other: &Scope) {
        if self.account.is_none() {
            self.account.clone_from(&other.account);
        }
        if self.region.is_none() {
            self.region.clone_from(&other.region);
        }
        if self.namespace.is_none() {
            self.namespace.clone_from(&other.namespace);
        }
    }

    /// True when both say something different about the same field.
    fn conflicts(&self, other: &Scope) -> bool {
        fn differ(a: &Option<String>, b: &Option<String>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        differ(&self.account, &other.account)
            || differ(&self.region, &other.region)
            || differ(&self.namespace, &other.namespace)
    }
}

struct Classifier<'p> {
    plan: &'p Plan,
    findings: Findings,
    seen_targets: HashSet<(String, String, Scope2)>,
    changed: u64,
    /// (module path, mode, type, name) → provider_config_key, built on first use.
    provider_keys: Option<HashMap<(String, String, String, String), String>>,
}

/// Hashable form of a [`Scope`] for target de-duplication.
type Scope2 = (Option<String>, Option<String>, Option<String>);

impl<'p> Classifier<'p> {
    fn new(plan: &'p Plan) -> Classifier<'p> {
        Classifier {
            plan,
            findings: Findings::default(),
            seen_targets: HashSet::new(),
            changed: 0,
            provider_keys: None,
        }
    }

    fn run(mut self) -> Findings {
        let plan = self.plan;
        for rc in plan.resource_changes.iter().flatten() {
            self.resource_change(rc);
        }
        for (name, oc) in plan.output_changes.iter().flatten() {
            self.output_change(name, oc);
        }
        for ai in plan.action_invocations.iter().flatten() {
            self.action_invocation(ai);
        }
        for dc in plan.deferred_changes.iter().flatten() {
            self.deferred_change(dc);
        }
        for da in plan.deferred_action_invocations.iter().flatten() {
            let address = da
                .action_invocation
                .as_ref()
                .and_then(|a| a.address.as_deref())
                .unwrap_or("action invocation");
            self.findings.part(
                Part::new(
                    address,
                    Effect::Read,
                    format!(
                        "deferred, not run by this plan{}: {address}",
                        reason_suffix(da.reason.as_deref())
                    ),
                )
                .operation("deferred"),
            );
        }
        if self.findings.parts.is_empty() {
            self.findings.part(
                Part::new("no changes", Effect::Read, "the plan changes nothing")
                    .operation("no-op"),
            );
        }
        self.findings.resources = Some(self.changed);
        self.findings
    }

    fn resource_change(&mut self, rc: &ResourceChange) {
        let Some(address) = rc.address.as_deref().filter(|a| !a.is_empty()) else {
            let text = rc.type_.as_deref().unwrap_or("resource change");
            self.findings.part(Part::new(
                text,
                Effect::Unknown,
                "a resource change without an address",
            ));
            return;
        };
        let Some(rtype) = rc.type_.as_deref().filter(|t| !t.is_empty()) else {
            self.unknown(address, format!("no resource type for {address}"));
            return;
        };
        let Some(change) = rc.change.as_ref() else {
            self.unknown(address, format!("no change for {address}"));
            return;
        };
        let Some(actions) = change.actions.as_deref() else {
            self.unknown(address, format!("no change.actions for {address}"));
            return;
        };
        let action = match parse_actions(actions) {
            Ok(a) => a,
            Err(why) => {
                self.unknown(address, format!("{why} for {address}"));
                return;
            }
        };
        match rc.mode.as_deref() {
            None | Some("managed") => self.managed(rc, address, rtype, change, action),
            Some("data") => match action {
                Action::NoOp => {}
                Action::Read => {
                    let why = format!(
                        "data source read: {address}{}",
                        reason_suffix(rc.action_reason.as_deref())
                    );
                    self.findings
                        .part(Part::new(address, Effect::Read, why).operation("read"));
                    self.targets(rc, rtype, change);
                }
                other => self.unknown(
                    address,
                    format!("unexpected action {other:?} for the data source {address}"),
                ),
            },
            Some(mode) => self.unknown(
                address,
                format!("unknown resource mode {mode:?} for {address}"),
            ),
        }
    }

    fn managed(
        &mut self,
        rc: &ResourceChange,
        address: &str,
        rtype: &str,
        change: &Change,
        action: Action,
    ) {
        let importing = change.importing.as_ref();
        let moved_from = rc.previous_address.as_deref().filter(|p| *p != address);
        // The object the change concerns: before for what is destroyed, after for what is made.
        let attrs = change.after.as_ref().or(change.before.as_ref());
        let access = access_reason(rtype, attrs, change.before.as_ref());
        let raise = |e: Effect| {
            if access.is_some() {
                Effect::Permissions
            } else {
                e
            }
        };
        let (effect, op, mut why) = match action {
            Action::NoOp => {
                if let Some(imp) = importing {
                    (
                        Effect::Write,
                        "import",
                        format!("imported into state{}", import_note(imp)),
                    )
                } else if let Some(prev) = moved_from {
                    (Effect::Write, "move", format!("moved in state from {prev}"))
                } else {
                    return;
                }
            }
            Action::Read => {
                self.unknown(
                    address,
                    format!("a managed resource cannot be planned for read: {address}"),
                );
                return;
            }
            Action::Create => (raise(Effect::Write), "create", "created".to_string()),
            Action::Update => (
                raise(Effect::Write),
                "update",
                "updated in place".to_string(),
            ),
            Action::Delete => (raise(Effect::Delete), "delete", "deleted".to_string()),
            Action::DeleteCreate => (
                raise(Effect::Delete),
                "replace",
                "replaced (delete then create)".to_string(),
            ),
            Action::CreateDelete => (
                raise(Effect::Delete),
                "replace",
                "replaced (create then delete)".to_string(),
            ),
            Action::Forget => (
                Effect::Write,
                "forget",
                "removed from state without being destroyed (forget)".to_string(),
            ),
            Action::CreateForget => (
                raise(Effect::Write),
                "replace-forget",
                "replaced (create the new object, forget the old one without destroying it)"
                    .to_string(),
            ),
        };
        why.push_str(": ");
        why.push_str(address);
        if let Some(key) = rc.deposed.as_deref() {
            why.push_str(&format!(" (deposed object {key})"));
        }
        // What the operation itself does not already say.
        if let Some(prev) = moved_from.filter(|_| op != "move") {
            why.push_str(&format!("; moved from {prev}"));
        }
        if let Some(imp) = importing.filter(|_| op != "import") {
            why.push_str(&format!("; imported{}", import_note(imp)));
        }
        why.push_str(&reason_suffix(rc.action_reason.as_deref()));
        if let Some(paths) = change.replace_paths.as_deref().filter(|p| !p.is_empty()) {
            why.push_str(&format!("; replacement forced by {}", paths_text(paths)));
        }
        let destroys = matches!(
            action,
            Action::Delete | Action::DeleteCreate | Action::CreateDelete
        );
        let bulk = if destroys {
            bulk_reason(rtype, change.before.as_ref())
        } else {
            None
        };
        if let Some(b) = bulk {
            why.push_str("; ");
            why.push_str(b);
        }
        if effect == Effect::Permissions
            && let Some(a) = access
        {
            why.push_str("; ");
            why.push_str(a);
        }
        self.findings.part(
            Part::new(address, effect, why)
                .bulk(bulk.is_some())
                .operation(op),
        );
        self.changed = self.changed.saturating_add(1);
        self.targets(rc, rtype, change);
    }

    fn output_change(&mut self, name: &str, oc: &OutputChange) {
        let text = format!("output.{name}");
        let Some(actions) = oc.actions.as_deref() else {
            self.unknown(&text, format!("no actions for {text}"));
            return;
        };
        let action = match parse_actions(actions) {
            Ok(a) => a,
            Err(why) => {
                self.unknown(&text, format!("{why} for {text}"));
                return;
            }
        };
        let op = match action {
            Action::NoOp | Action::Read => return,
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            // Not produced for outputs; still a change of the output in state.
            _ => "update",
        };
        if matches!(action, Action::Create | Action::Update) && self.output_unchanged(name, oc) {
            return;
        }
        let verb = match op {
            "create" => "created",
            "delete" => "removed",
            _ => "changed",
        };
        self.findings.part(
            Part::new(
                text.clone(),
                Effect::Write,
                format!("root output {verb} in state: {text}"),
            )
            .operation(op),
        );
    }

    /// True when the planned output value is known and equal to the one already in state.
    fn output_unchanged(&self, name: &str, oc: &OutputChange) -> bool {
        if oc.after_unknown.as_ref().is_some_and(has_true) {
            return false;
        }
        let Some(prior) = self
            .plan
            .prior_state
            .as_ref()
            .and_then(|s| s.values.as_ref())
            .and_then(|v| v.outputs.as_ref())
            .and_then(|o| o.get(name))
        else {
            return false;
        };
        prior.value == oc.after
    }

    fn action_invocation(&mut self, ai: &ActionInvocation) {
        let address = ai.address.as_deref().unwrap_or("action invocation");
        let atype = ai.type_.as_deref().unwrap_or("unknown");
        let mut why = format!(
            "invokes the provider action {atype}{}: a provider action runs arbitrary operations and declares no effect",
            ai.provider_name
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        if let Some(t) = &ai.lifecycle_action_trigger {
            why.push_str(&format!(
                "; triggered by {} of {}",
                t.action_trigger_event.as_deref().unwrap_or("an event"),
                t.triggering_resource_address
                    .as_deref()
                    .unwrap_or("a resource")
            ));
        } else if ai.invoke_action_trigger.is_some() {
            why.push_str("; invoked directly (-invoke)");
        }
        self.findings
            .part(Part::new(address, Effect::Unknown, why).operation("invoke"));
        self.push_target(
            format!("terraform:action:{atype}"),
            address.to_string(),
            Scope::default(),
        );
    }

    fn deferred_change(&mut self, dc: &DeferredChange) {
        let rc = dc.resource_change.as_ref();
        let address = rc
            .and_then(|r| r.address.as_deref())
            .unwrap_or("deferred change");
        let would = rc
            .and_then(|r| r.change.as_ref())
            .and_then(|c| c.actions.as_deref())
            .map(|a| format!(" (would {})", a.join(" then ")))
            .unwrap_or_default();
        let why = format!(
            "deferred, not applied by this plan{would}{}: {address}",
            dc.reason
                .as_deref()
                .map(|r| format!("; reason {r}"))
                .unwrap_or_default()
        );
        self.findings
            .part(Part::new(address, Effect::Read, why).operation("deferred"));
    }

    fn unknown(&mut self, text: &str, why: String) {
        self.findings.part(Part::new(text, Effect::Unknown, why));
    }

    // -- Targets ---------------------------------------------------------------------------

    fn targets(&mut self, rc: &ResourceChange, rtype: &str, change: &Change) {
        let Some(address) = rc.address.as_deref() else {
            return;
        };
        let provider = provider_short(rc.provider_name.as_deref(), rtype);
        let before = change
            .before
            .as_ref()
            .map(|a| scope_of(&provider, rtype, a));
        let after = change.after.as_ref().map(|a| scope_of(&provider, rtype, a));
        let mut scopes = match (before, after) {
            (Some(b), Some(a)) if a.conflicts(&b) => {
                let mut a2 = a.clone();
                a2.fill_from(&b);
                let mut b2 = b;
                b2.fill_from(&a);
                vec![b2, a2]
            }
            (Some(b), Some(mut a)) => {
                a.fill_from(&b);
                vec![a]
            }
            (Some(s), None) | (None, Some(s)) => vec![s],
            (None, None) => vec![Scope::default()],
        };
        if scopes
            .iter()
            .any(|s| s.region.is_none() || s.account.is_none())
        {
            let from_config = self.provider_scope(rc, &provider);
            for s in &mut scopes {
                s.fill_from(&from_config);
            }
        }
        for s in scopes {
            self.push_target(format!("terraform:{rtype}"), address.to_string(), s);
        }
    }

    fn push_target(&mut self, kind: String, name: String, s: Scope) {
        let key = (
            kind.clone(),
            name.clone(),
            (s.account.clone(), s.region.clone(), s.namespace.clone()),
        );
        if !self.seen_targets.insert(key) {
            return;
        }
        // De-duplicated above: `Findings::target` would compare against every target.
        self.findings.targets.push(Target {
            kind,
            name,
            account: s.account,
            region: s.region,
            namespace: s.namespace,
            ..Target::default()
        });
    }

    /// The constant region / account of the provider configuration the resource uses.
    fn provider_scope(&mut self, rc: &ResourceChange, provider: &str) -> Scope {
        let Some(config) = self.plan.configuration.as_ref() else {
            return Scope::default();
        };
        let Some(module) = module_path(rc.module_address.as_deref().unwrap_or("")) else {
            return Scope::default();
        };
        let keys = self
            .provider_keys
            .get_or_insert_with(|| provider_key_index(config));
        let lookup = (
            module,
            rc.mode.clone().unwrap_or_else(|| "managed".into()),
            rc.type_.clone().unwrap_or_default(),
            rc.name.clone().unwrap_or_default(),
        );
        let Some(pc) = keys
            .get(&lookup)
            .and_then(|k| config.provider_config.as_ref()?.get(k))
        else {
            return Scope::default();
        };
        // The configuration must be for the resource's own provider.
        if pc.name.as_deref() != Some(provider) {
            return Scope::default();
        }
        let Some(exprs) = pc.expressions.as_ref() else {
            return Scope::default();
        };
        let constant = |key: &str| -> Option<&Value> { exprs.get(key)?.get("constant_value") };
        let constant_str = |key: &str| non_empty(constant(key));
        let mut s = Scope::default();
        match provider {
            "aws" => {
                s.region = constant_str("region");
                if let Some(Value::Array(ids)) = constant("allowed_account_ids")
                    && let [one] = ids.as_slice()
                {
                    s.account = non_empty(Some(one));
                }
            }
            "google" | "google-beta" => {
                s.account = constant_str("project");
                s.region = constant_str("region");
            }
            "azurerm" | "azapi" => s.account = constant_str("subscription_id"),
            _ => {}
        }
        s
    }
}

fn provider_key_index(config: &Configuration) -> HashMap<(String, String, String, String), String> {
    fn walk(
        m: &ConfigModule,
        path: &str,
        out: &mut HashMap<(String, String, String, String), String>,
    ) {
        for r in m.resources.iter().flatten() {
            if let (Some(t), Some(n), Some(k)) = (&r.type_, &r.name, &r.provider_config_key) {
                let mode = r.mode.clone().unwrap_or_else(|| "managed".into());
                out.insert((path.to_string(), mode, t.clone(), n.clone()), k.clone());
            }
        }
        for (name, call) in m.module_calls.iter().flatten() {
            if let Some(child) = &call.module {
                let p = if path.is_empty() {
                    format!("module.{name}")
                } else {
                    format!("{path}.module.{name}")
                };
                walk(child, &p, out);
            }
        }
    }
    let mut out = HashMap::new();
    if let Some(root) = &config.root_module {
        walk(root, "", &mut out);
    }
    out
}

/// `module.a[0].module.b["k"]` → `module.a.module.b` (the configuration's path); `None`
/// when the address does not read as a module path.
fn module_path(addr: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = addr;
    while !rest.is_empty() {
        rest = rest.strip_prefix("module.")?;
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str("module.");
        out.push_str(name);
        rest = &rest[end..];
        if rest.starts_with('[') {
            rest = skip_index(rest)?;
        }
        if !rest.is_empty() {
            rest = rest.strip_prefix('.')?;
            if rest.is_empty() {
                return None;
            }
        }
    }
    Some(out)
}

/// Skips a `[...]` instance key (a number or a quoted string with `\` escapes).
fn skip_index(s: &str) -> Option<&str> {
    let mut chars = s.char_indices().skip(1);
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        match (in_string, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => in_string = false,
            (false, '"') => in_string = true,
            (false, ']') => return Some(&s[i + 1..]),
            _ => {}
        }
    }
    None
}

/// `registry.terraform.io/hashicorp/aws` → `aws`; without a provider name, the type's
/// prefix (`aws_instance` → `aws`).
fn provider_short(provider_name: Option<&str>, rtype: &str) -> String {
    match provider_name
        .and_then(|p| p.rsplit('/').next())
        .filter(|p| !p.is_empty())
    {
        Some(p) => p.to_string(),
        None => rtype.split('_').next().unwrap_or_default().to_string(),
    }
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Where the resource's own values say it is.
fn scope_of(provider: &str, rtype: &str, a: &Attrs) -> Scope {
    let mut s = Scope::default();
    match provider {
        "aws" => {
            if let Some(arn) = non_empty(a.arn.as_ref()) {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                if let ["arn", _partition, _service, region, account, _resource] = parts.as_slice()
                {
                    if !region.is_empty() {
                        s.region = Some((*region).to_string());
                    }
                    if !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) {
                        s.account = Some((*account).to_string());
                    }
                }
            }
            if s.region.is_none() {
                s.region = non_empty(a.region.as_ref());
            }
        }
        "google" | "google-beta" => {
            s.account = non_empty(a.project.as_ref());
            s.region = non_empty(a.region.as_ref());
        }
        "azurerm" | "azapi" => {
            s.region = non_empty(a.location.as_ref());
            if let Some(id) = non_empty(a.id.as_ref()) {
                let mut segs = id.split('/');
                if segs.next() == Some("")
                    && segs
                        .next()
                        .is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"))
                    && let Some(sub) = segs.next().filter(|s| !s.is_empty())
                {
                    s.account = Some(sub.to_string());
                }
            }
        }
        "kubernetes" => {
            let is_namespace = matches!(rtype, "kubernetes_namespace" | "kubernetes_namespace_v1");
            if let Some(meta) = a.metadata.as_ref() {
                // A block list (`metadata[0]`) in most resources, an object in a few.
                let meta = match meta {
                    Value::Array(items) => items.first(),
                    other => Some(other),
                };
                let key = if is_namespace { "name" } else { "namespace" };
                s.namespace = non_empty(meta.and_then(|m| m.get(key)));
            }
            if let Some(manifest) = a.manifest.as_ref() {
                let kind = manifest.get("kind").and_then(Value::as_str);
                let key = if kind == Some("Namespace") {
                    "name"
                } else {
                    "namespace"
                };
                s.namespace = non_empty(manifest.get("metadata").and_then(|m| m.get(key)));
            }
        }
        "helm" => s.namespace = non_empty(a.namespace.as_ref()),
        _ => {}
    }
    s
}

// ---------------------------------------------------------------------------------------
// What a resource type is.

/// Why a change to this resource is a `permissions` change, if it is one: it governs who
/// or what may do or reach what (IAM, RBAC, resource policies, firewall rules).
fn access_reason(
    rtype: &str,
    attrs: Option<&Attrs>,
    before: Option<&Attrs>,
) -> Option<&'static str> {
    if rtype == "kubernetes_manifest" {
        for a in [attrs, before].into_iter().flatten() {
            if let Some(m) = a.manifest.as_ref() {
                let api = m.get("apiVersion").and_then(Value::as_str);
                let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
                let stype = m.get("type").and_then(Value::as_str);
                if let Some(why) = crate::k8s::access_control_kind(api, kind, stype) {
                    return Some(why);
                }
            }
        }
        return None;
    }
    if matches!(rtype, "kubernetes_secret" | "kubernetes_secret_v1") {
        let token = [attrs, before].into_iter().flatten().any(|a| {
            a.type_.as_ref().and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
        });
        return token.then_some("a service-account token secret mints a credential");
    }
    access_control_type(rtype)
        .then_some("the resource governs access (IAM, RBAC, policy or firewall)")
}

/// Resource types that govern access: IAM, RBAC, resource policies, grants, memberships,
/// identities, firewall rules. Broad on purpose: a false `permissions` costs an approval,
/// a missed one lets a privilege change through as a plain write.
pub fn access_control_type(rtype: &str) -> bool {
    const EXACT: &[&str] = &[
        "aws_lambda_permission",
        "aws_s3_bucket_public_access_block",
        "aws_s3_account_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_security_group",
        "aws_default_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_network_acl",
        "aws_default_network_acl",
        "aws_network_acl_rule",
        "aws_network_acl_association",
        "azurerm_user_assigned_identity",
        "azurerm_federated_identity_credential",
        "azurerm_network_security_group",
        "azurerm_network_security_rule",
        "google_service_account",
        "google_service_account_key",
        "google_compute_firewall",
        "kubernetes_service_account",
        "kubernetes_validating_webhook_configuration",
        "kubernetes_mutating_webhook_configuration",
        "kubernetes_certificate_signing_request",
        "kubernetes_pod_security_policy",
    ];
    const PREFIXES: &[&str] = &[
        "aws_iam_",
        "aws_ssoadmin_",
        "aws_identitystore_",
        "aws_ram_",
        "azuread_",
        "google_compute_firewall_",
    ];
    const SUFFIXES: &[&str] = &[
        "_policy",
        "_policy_attachment",
        "_role",
        "_role_binding",
        "_role_assignment",
        "_role_definition",
        "_membership",
        "_collaborator",
        "_permission",
        "_permissions",
        "_grant",
        "_grants",
        "_acl",
        "_user",
    ];
    // `_policy` types that are not about access.
    const NOT_ACCESS: &[&str] = &[
        "scaling",
        "lifecycle",
        "retention",
        "snapshot",
        "cache_policy",
        "origin_request_policy",
        "response_headers_policy",
        "placement",
        "routing_policy",
        "ssl_negotiation",
        "load_balancer_policy",
        "cookie_stickiness",
    ];
    let t = rtype
        .strip_suffix("_v1")
        .or_else(|| rtype.strip_suffix("_v2"))
        .unwrap_or(rtype);
    EXACT.contains(&t)
        || PREFIXES.iter().any(|p| t.starts_with(p))
        || t.contains("_iam_")
        || (SUFFIXES.iter().any(|s| t.ends_with(s)) && !NOT_ACCESS.iter().any(|n| t.contains(n)))
}

/// Why destroying this resource takes more than itself, if it does.
fn bulk_reason(rtype: &str, before: Option<&Attrs>) -> Option<&'static str> {
    match rtype {
        "kubernetes_namespace" | "kubernetes_namespace_v1" => {
            return Some("deleting a namespace deletes everything in it");
        }
        "google_project" => return Some("deleting a project deletes everything in it"),
        "azurerm_resource_group" => {
            return Some("deleting a resource group deletes everything in it");
        }
        _ => {}
    }
    let before = before?;
    if rtype == "kubernetes_manifest" {
        let kind = before
            .manifest
            .as_ref()
            .and_then(|m| m.get("kind"))
            .and_then(Value::as_str)?;
        return crate::k8s::delete_takes_contents(kind);
    }
    (before.force_destroy == Some(Value::Bool(true)))
        .then_some("force_destroy deletes its contents with it")
}

// ---------------------------------------------------------------------------------------
// Text.

fn reason_suffix(reason: Option<&str>) -> String {
    let Some(reason) = reason.filter(|r| !r.is_empty()) else {
        return String::new();
    };
    let phrase = match reason {
        "replace_because_cannot_update" => "an attribute that cannot be updated changes",
        "replace_because_tainted" => "the object is tainted",
        "replace_by_request" => "replacement was requested (-replace)",
        "replace_by_triggers" => "replace_triggered_by fired",
        "delete_because_no_resource_config" => "the resource is no longer in the configuration",
        "delete_because_wrong_repetition" => "the resource's count/for_each changed form",
        "delete_because_count_index" => "its count index is out of range",
        "delete_because_each_key" => "its for_each key is gone",
        "delete_because_no_module" => "its module is no longer in the configuration",
        "delete_because_no_move_target" => "its moved target does not exist",
        "read_because_config_unknown" => "its configuration is unknown until apply",
        "read_because_dependency_pending" => "a dependency has pending changes",
        "read_because_check_nested" => "it is nested in a check block",
        _ => "",
    };
    if phrase.is_empty() {
        format!("; action_reason {reason}")
    } else {
        format!("; action_reason {reason} ({phrase})")
    }
}

fn import_note(imp: &Importing) -> String {
    if let Some(id) = imp.id.as_deref().filter(|i| !i.is_empty()) {
        format!(" (id {id})")
    } else if let Some(identity) = imp.identity.as_ref() {
        let mut s = identity.to_string();
        truncate(&mut s, 120);
        format!(" (identity {s})")
    } else if imp.unknown == Some(true) {
        " (id unknown until apply)".to_string()
    } else {
        String::new()
    }
}

fn paths_text(paths: &[Vec<Value>]) -> String {
    let mut out: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| {
            p.iter()
                .map(|step| match step {
                    Value::String(s) => s.clone(),
                    other => format!("[{other}]"),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    if paths.len() > 3 {
        out.push(format!("{} more", paths.len() - 3));
    }
    out.join(", ")
}

fn has_true(v: &Value) -> bool {
    // Iterative: values are already depth-limited by the parser, but stay cheap anyway.
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Bool(true) => return true,
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    false
}

fn parse_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => format!("not a Terraform plan: {e}"),
        Category::Syntax | Category::Eof | Category::Io => format!("malformed plan JSON: {e}"),
    }
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
}

/// The first 80 characters of the input, for an `unknown` part's text.
fn snippet(text: &str) -> String {
    let mut s: String = text.trim_start().chars().take(80).collect();
    if s.len() < text.trim_start().len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/terraform-plans/", $name))
        };
    }

    /// (deleted, replaced, created, updated), counted from the parts' operations.
    fn counts(f: &Findings) -> (usize, usize, usize, usize) {
        let n = |op: &str| {
            f.parts
                .iter()
                .filter(|p| p.operation.as_deref() == Some(op) && !p.text.starts_with("output."))
                .count()
        };
        (n("delete"), n("replace"), n("create"), n("update"))
    }

    fn target<'a>(f: &'a Findings, name: &str) -> &'a Target {
        f.targets
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no target {name} in {:#?}", f.targets))
    }

    fn ops(f: &Findings) -> Vec<(&str, Effect, &str)> {
        f.parts
            .iter()
            .map(|p| {
                (
                    p.text.as_str(),
                    p.effect,
                    p.operation.as_deref().unwrap_or(""),
                )
            })
            .collect()
    }

    /// A plan with the given resource changes (and extra top-level fields).
    fn plan(changes: Value, extra: Value) -> String {
        let mut p = json!({
            "format_version": "1.2",
            "terraform_version": "1.9.0",
            "planned_values": {"root_module": {}},
            "resource_changes": changes,
        });
        if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
            p.extend(extra);
        }
        p.to_string()
    }

    fn rc(address: &str, rtype: &str, actions: &[&str], before: Value, after: Value) -> Value {
        json!({
            "address": address,
            "mode": "managed",
            "type": rtype,
            "name": address.rsplit('.').next().unwrap(),
            "provider_name": format!("registry.terraform.io/hashicorp/{}", rtype.split('_').next().unwrap()),
            "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
        })
    }

    // -- The real plans (hashicorp/terraform-json test data, MPL-2.0) ----------------------

    #[test]
    fn fixture_basic() {
        let f = classify_plan(fixture!("basic__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 7, 0));
        assert_eq!(f.resources, Some(7));
        assert!(!f.bulk());
        // The data source read is a read part with its own target.
        assert!(ops(&f).contains(&("data.null_data_source.baz", Effect::Read, "read")));
        assert_eq!(
            target(&f, "data.null_data_source.baz").kind,
            "terraform:null_data_source"
        );
        let t = target(&f, "module.foo.null_resource.aliased");
        assert_eq!(t.kind, "terraform:null_resource");
        assert_eq!((t.account.as_deref(), t.region.as_deref()), (None, None));
        // Outputs whose value is already in state are not changes; computed ones are.
        let outputs: Vec<&str> = f
            .parts
            .iter()
            .filter(|p| p.text.starts_with("output."))
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(
            outputs,
            [
                "output.interpolated",
                "output.interpolated_deep",
                "output.referenced",
                "output.referenced_deep"
            ]
        );
        assert_eq!(f.targets.len(), 8);
    }

    #[test]
    fn fixture_basic_0_15() {
        let f = classify_plan(fixture!("basic__plan-0.15.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 1, 0));
        assert_eq!(f.resources, Some(1));
        assert_eq!(
            target(&f, "test_instance.test").kind,
            "terraform:test_instance"
        );
        // The output is reported as `create` but its value is already in the prior state.
        assert!(!f.parts.iter().any(|p| p.text.starts_with("output.")));
    }

    #[test]
    fn fixture_110_and_120_basic() {
        for text in [
            fixture!("110_basic__plan.json"),
            fixture!("110_sensitive_values__plan.json"),
            fixture!("120_basic__plan.json"),
        ] {
            let f = classify_plan(text);
            assert_eq!(f.effect(), Effect::Write);
            assert_eq!(counts(&f), (0, 0, 7, 0));
            assert_eq!(f.resources, Some(7));
            assert_eq!(
                target(&f, "null_resource.baz[2]").kind,
                "terraform:null_resource"
            );
            assert_eq!(f.targets.len(), 7);
        }
    }

    #[test]
    fn fixture_has_changes_and_no_changes() {
        // Every resource is a no-op; the outputs are reported as `create` (Terraform 0.12)
        // but their values equal the prior state's: nothing changes.
        for text in [
            fixture!("has_changes__plan.json"),
            fixture!("no_changes__plan.json"),
        ] {
            let f = classify_plan(text);
            assert_eq!(f.effect(), Effect::Read);
            assert_eq!(ops(&f), [("no changes", Effect::Read, "no-op")]);
            assert_eq!(f.resources, Some(0));
            assert!(f.targets.is_empty());
        }
    }

    #[test]
    fn fixture_actions_is_unknown() {
        // A provider action (Terraform 1.14) runs arbitrary operations.
        let f = classify_plan(fixture!("actions__plan.json"));
        assert_eq!(f.effect(), Effect::Unknown);
        assert_eq!(
            ops(&f),
            [("action.bufo_print.success", Effect::Unknown, "invoke")]
        );
        assert!(f.parts[0].why.contains("bufo_print"), "{}", f.parts[0].why);
        assert_eq!(f.resources, Some(0));
        assert_eq!(
            target(&f, "action.bufo_print.success").kind,
            "terraform:action:bufo_print"
        );
    }

    #[test]
    fn fixture_action_reason_replacement_is_delete() {
        let f = classify_plan(fixture!("action_reason__plan.json"));
        assert_eq!(f.effect(), Effect::Delete);
        assert_eq!(counts(&f), (0, 1, 0, 0));
        assert_eq!(f.resources, Some(1));
        let why = &f.parts[0].why;
        assert!(
            why.starts_with("replaced (delete then create): null_resource.example"),
            "{why}"
        );
        assert!(why.contains("replace_because_tainted"), "{why}");
        assert_eq!(
            target(&f, "null_resource.example").kind,
            "terraform:null_resource"
        );
    }

    #[test]
    fn fixture_config_resource_depends_on_replacement() {
        let f = classify_plan(fixture!("config_resource_depends_on__plan.json"));
        assert_eq!(f.effect(), Effect::Delete);
        assert_eq!(counts(&f), (0, 1, 0, 0));
        assert_eq!(f.resources, Some(1));
        assert_eq!(ops(&f), [("null_resource.bar", Effect::Delete, "replace")]);
        // The no-op null_resource.foo is neither a part nor a target.
        assert_eq!(f.targets.len(), 1);
    }

    #[test]
    fn fixture_deep_module() {
        let f = classify_plan(fixture!("deep_module__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 1, 0));
        assert_eq!(f.resources, Some(1));
        assert_eq!(
            target(&f, "module.foo.module.bar.null_resource.baz").kind,
            "terraform:null_resource"
        );
    }

    #[test]
    fn fixture_moved_block_is_a_state_write() {
        let f = classify_plan(fixture!("moved_block__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 0, 0));
        assert_eq!(ops(&f), [("random_id.test2", Effect::Write, "move")]);
        assert!(f.parts[0].why.contains("from random_id.test"));
        assert_eq!(f.resources, Some(1));
        assert_eq!(target(&f, "random_id.test2").kind, "terraform:random_id");
    }

    #[test]
    fn fixture_identity_import_and_update() {
        let f = classify_plan(fixture!("identity__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 0, 1));
        assert_eq!(f.resources, Some(1));
        assert!(f.parts[0].why.contains("imported"), "{}", f.parts[0].why);
        assert_eq!(
            target(&f, "corner_user_identity.user").kind,
            "terraform:corner_user_identity"
        );
    }

    #[test]
    fn fixture_invalid_is_unknown() {
        let f = classify_plan(fixture!("invalid__plan.json"));
        assert_eq!(f.effect(), Effect::Unknown);
        assert_eq!(f.parts.len(), 1);
        assert!(
            f.parts[0]
                .why
                .starts_with("malformed plan JSON: trailing characters at line 676"),
            "{}",
            f.parts[0].why
        );
        assert_eq!(f.resources, None);
    }

    #[test]
    fn fixture_module_depends_on_with_a_data_read() {
        let f = classify_plan(fixture!("013_module_depends_on__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 2, 0));
        assert_eq!(f.resources, Some(2));
        assert_eq!(f.effects(), [Effect::Read, Effect::Write]);
        assert_eq!(
            target(&f, "module.foo.data.null_data_source.data").kind,
            "terraform:null_data_source"
        );
    }

    #[test]
    fn fixture_nested_config_keys_region_from_provider_config() {
        let f = classify_plan(fixture!("nested_config_keys__plan.json"));
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(counts(&f), (0, 0, 1, 0));
        let t = target(&f, "aws_instance.foo");
        assert_eq!(t.kind, "terraform:aws_instance");
        // `provider "aws" { region = "us-east-1" }`; the instance's ARN is not known yet.
        assert_eq!(t.region.as_deref(), Some("us-east-1"));
        assert_eq!(t.account, None);
    }

    #[test]
    fn fixture_other_creates() {
        for (text, n, some) in [
            (fixture!("explicit_null__plan.json"), 3, "null_resource.baz"),
            (
                fixture!("has_checks__plan.json"),
                2,
                "module.files.local_file.foo[\"file2.txt\"]",
            ),
            (fixture!("numerics__plan.json"), 1, "example_resource.test"),
            (
                fixture!("output_depends_on__plan.json"),
                2,
                "null_resource.bar",
            ),
            (
                fixture!("provider_version__plan.json"),
                1,
                "null_resource.foo",
            ),
            (
                fixture!("registry_module__plan.json"),
                1,
                "module.module.null_resource.resource",
            ),
        ] {
            let f = classify_plan(text);
            assert_eq!(f.effect(), Effect::Write, "{some}");
            assert_eq!(counts(&f), (0, 0, n, 0), "{some}");
            assert_eq!(f.resources, Some(n as u64), "{some}");
            assert!(target(&f, some).kind.starts_with("terraform:"));
        }
    }

    // -- Actions ----------------------------------------------------------------------------

    #[test]
    fn each_action_has_its_effect_and_count() {
        let p = plan(
            json!([
                rc(
                    "aws_db_instance.main",
                    "aws_db_instance",
                    &["delete"],
                    json!({"id": "db"}),
                    Value::Null
                ),
                rc(
                    "aws_db_instance.a",
                    "aws_db_instance",
                    &["delete", "create"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "aws_db_instance.b",
                    "aws_db_instance",
                    &["create", "delete"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "aws_s3_bucket.c",
                    "aws_s3_bucket",
                    &["create"],
                    Value::Null,
                    json!({})
                ),
                rc(
                    "aws_s3_bucket.u",
                    "aws_s3_bucket",
                    &["update"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "aws_s3_bucket.n",
                    "aws_s3_bucket",
                    &["no-op"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "aws_s3_bucket.f",
                    "aws_s3_bucket",
                    &["forget"],
                    json!({}),
                    Value::Null
                ),
                rc(
                    "aws_s3_bucket.cf",
                    "aws_s3_bucket",
                    &["create", "forget"],
                    json!({}),
                    json!({})
                ),
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.effect(), Effect::Delete);
        assert_eq!(
            ops(&f),
            [
                ("aws_db_instance.main", Effect::Delete, "delete"),
                ("aws_db_instance.a", Effect::Delete, "replace"),
                ("aws_db_instance.b", Effect::Delete, "replace"),
                ("aws_s3_bucket.c", Effect::Write, "create"),
                ("aws_s3_bucket.u", Effect::Write, "update"),
                ("aws_s3_bucket.f", Effect::Write, "forget"),
                ("aws_s3_bucket.cf", Effect::Write, "replace-forget"),
            ]
        );
        assert_eq!(
            f.parts[1].why,
            "replaced (delete then create): aws_db_instance.a"
        );
        assert_eq!(
            f.parts[2].why,
            "replaced (create then delete): aws_db_instance.b"
        );
        assert_eq!(counts(&f), (1, 2, 1, 1));
        assert_eq!(f.resources, Some(7));
        assert_eq!(f.targets.len(), 7);
        assert!(!f.bulk());
    }

    #[test]
    fn unknown_actions_are_unknown() {
        for (actions, why) in [
            (json!(["destroy"]), "unknown action \"destroy\""),
            (json!([]), "empty action list"),
            (
                json!(["delete", "delete"]),
                "unknown combination of actions",
            ),
            (
                json!(["create", "update"]),
                "unknown combination of actions",
            ),
        ] {
            let p = plan(
                json!([{"address": "a_b.c", "mode": "managed", "type": "a_b", "change": {"actions": actions}}]),
                json!({}),
            );
            let f = classify_plan(&p);
            assert_eq!(f.effect(), Effect::Unknown, "{actions}");
            assert!(f.parts[0].why.starts_with(why), "{}", f.parts[0].why);
            assert!(f.parts[0].why.ends_with("for a_b.c"), "{}", f.parts[0].why);
        }
        // A non-string action is not a plan at all.
        let p = plan(
            json!([{"address": "a", "type": "t", "change": {"actions": [1]}}]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.effect(), Effect::Unknown);
        assert!(
            f.parts[0]
                .why
                .starts_with("not a Terraform plan: invalid type"),
            "{}",
            f.parts[0].why
        );
    }

    #[test]
    fn incomplete_resource_changes_are_unknown() {
        for (change, why) in [
            (
                json!({"mode": "managed", "type": "t", "change": {"actions": ["create"]}}),
                "a resource change without an address",
            ),
            (
                json!({"address": "t.x", "change": {"actions": ["create"]}}),
                "no resource type for t.x",
            ),
            (json!({"address": "t.x", "type": "t"}), "no change for t.x"),
            (
                json!({"address": "t.x", "type": "t", "change": {}}),
                "no change.actions for t.x",
            ),
            (
                json!({"address": "t.x", "type": "t", "mode": "ephemeral", "change": {"actions": ["create"]}}),
                "unknown resource mode \"ephemeral\" for t.x",
            ),
            (
                json!({"address": "t.x", "type": "t", "mode": "managed", "change": {"actions": ["read"]}}),
                "a managed resource cannot be planned for read: t.x",
            ),
            (
                json!({"address": "data.t.x", "type": "t", "mode": "data", "change": {"actions": ["delete"]}}),
                "unexpected action Delete for the data source data.t.x",
            ),
        ] {
            let f = classify_plan(&plan(json!([change]), json!({})));
            assert_eq!(f.effect(), Effect::Unknown);
            assert_eq!(f.parts[0].why, why);
        }
    }

    #[test]
    fn mode_defaults_to_managed_and_data_no_op_is_nothing() {
        let p = plan(
            json!([
                {"address": "t.x", "type": "t", "change": {"actions": ["delete"]}},
                {"address": "data.t.y", "type": "t", "mode": "data", "change": {"actions": ["no-op"]}},
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(ops(&f), [("t.x", Effect::Delete, "delete")]);
    }

    #[test]
    fn data_source_reads_alone_are_read() {
        let p = plan(
            json!([{"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity",
                    "change": {"actions": ["read"], "before": null, "after": {}}, "action_reason": "read_because_config_unknown"}]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.effect(), Effect::Read);
        assert_eq!(f.resources, Some(0));
        assert!(f.parts[0].why.contains("read_because_config_unknown"));
    }

    #[test]
    fn empty_plan_is_no_changes() {
        let f = classify_plan(r#"{"format_version":"1.2","planned_values":{},"complete":true}"#);
        assert_eq!(ops(&f), [("no changes", Effect::Read, "no-op")]);
        assert_eq!(f.resources, Some(0));
    }

    #[test]
    fn import_only_and_forget_are_state_writes() {
        let p = plan(
            json!([
                {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role",
                 "change": {"actions": ["no-op"], "importing": {"id": "admin"}}},
                {"address": "aws_iam_role.g", "mode": "managed", "type": "aws_iam_role",
                 "change": {"actions": ["forget"], "before": {}}},
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        // Importing or forgetting an IAM role changes the state, not the role.
        assert_eq!(
            ops(&f),
            [
                ("aws_iam_role.r", Effect::Write, "import"),
                ("aws_iam_role.g", Effect::Write, "forget")
            ]
        );
        assert_eq!(
            f.parts[0].why,
            "imported into state (id admin): aws_iam_role.r"
        );
        assert_eq!(f.resources, Some(2));
    }

    #[test]
    fn details_go_into_the_why() {
        let p = plan(
            json!([{
                "address": "aws_instance.web", "previous_address": "aws_instance.old", "mode": "managed",
                "type": "aws_instance", "deposed": "00000001",
                "change": {"actions": ["delete", "create"], "replace_paths": [["ami"], ["ebs_block_device", 0, "size"]]},
                "action_reason": "replace_because_cannot_update"
            }, {
                "address": "aws_instance.x", "mode": "managed", "type": "aws_instance",
                "change": {"actions": ["delete"]}, "action_reason": "something_new"
            }]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(
            f.parts[0].why,
            "replaced (delete then create): aws_instance.web (deposed object 00000001); moved from aws_instance.old; \
             action_reason replace_because_cannot_update (an attribute that cannot be updated changes); \
             replacement forced by ami, ebs_block_device.[0].size"
        );
        assert_eq!(
            f.parts[1].why,
            "deleted: aws_instance.x; action_reason something_new"
        );
    }

    #[test]
    fn drift_is_ignored() {
        let p = plan(
            json!([]),
            json!({"resource_drift": [rc("aws_db_instance.main", "aws_db_instance", &["delete"], json!({}), Value::Null)]}),
        );
        let f = classify_plan(&p);
        assert_eq!(ops(&f), [("no changes", Effect::Read, "no-op")]);
    }

    #[test]
    fn deferred_changes_are_not_applied() {
        let p = plan(
            json!([]),
            json!({
                "complete": false,
                "deferred_changes": [{"reason": "provider_config_unknown",
                    "resource_change": rc("aws_db_instance.main", "aws_db_instance", &["delete"], json!({}), Value::Null)}],
                "deferred_action_invocations": [{"reason": "deferred_prereq",
                    "action_invocation": {"address": "action.aws_lambda_invoke.x", "type": "aws_lambda_invoke"}}],
            }),
        );
        let f = classify_plan(&p);
        assert_eq!(f.effect(), Effect::Read);
        assert_eq!(
            ops(&f),
            [
                ("aws_db_instance.main", Effect::Read, "deferred"),
                ("action.aws_lambda_invoke.x", Effect::Read, "deferred")
            ]
        );
        assert_eq!(
            f.parts[0].why,
            "deferred, not applied by this plan (would delete); reason provider_config_unknown: aws_db_instance.main"
        );
        assert_eq!(f.resources, Some(0));
        assert!(f.targets.is_empty());
    }

    #[test]
    fn output_changes() {
        let p = plan(
            json!([]),
            json!({
                "output_changes": {
                    "same": {"actions": ["update"], "before": "a", "after": "a", "after_unknown": false},
                    "new": {"actions": ["create"], "before": null, "after": "x", "after_unknown": false},
                    "gone": {"actions": ["delete"], "before": "x", "after": null, "after_unknown": false},
                    "computed": {"actions": ["update"], "before": "a", "after_unknown": true},
                    "nested_unknown": {"actions": ["create"], "after": {"a": 1}, "after_unknown": {"b": [false, true]}},
                    "noop": {"actions": ["no-op"], "before": "a", "after": "a"},
                    "weird": {"actions": ["explode"]},
                },
                "prior_state": {"values": {"outputs": {
                    "same": {"value": "a"}, "nested_unknown": {"value": {"a": 1}}, "computed": {"value": "a"}
                }}},
            }),
        );
        let f = classify_plan(&p);
        assert_eq!(
            ops(&f),
            [
                ("output.computed", Effect::Write, "update"),
                ("output.gone", Effect::Write, "delete"),
                ("output.nested_unknown", Effect::Write, "create"),
                ("output.new", Effect::Write, "create"),
                ("output.weird", Effect::Unknown, ""),
            ]
        );
        assert!(f.targets.is_empty());
        assert_eq!(f.resources, Some(0));
    }

    #[test]
    fn lifecycle_action_trigger_is_named() {
        let p = plan(
            json!([]),
            json!({"action_invocations": [{"address": "action.aws_lambda_invoke.notify", "type": "aws_lambda_invoke",
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "lifecycle_action_trigger": {"triggering_resource_address": "aws_instance.web", "action_trigger_event": "after_create"}}]}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.effect(), Effect::Unknown);
        assert!(
            f.parts[0]
                .why
                .ends_with("triggered by after_create of aws_instance.web"),
            "{}",
            f.parts[0].why
        );
    }

    // -- Not a plan -------------------------------------------------------------------------

    #[test]
    fn not_a_plan() {
        for (text, why) in [
            (
                "",
                "not a Terraform plan: the input is empty, not a JSON object",
            ),
            ("{", "malformed plan JSON: EOF while parsing an object"),
            (
                "[]",
                "not a Terraform plan: the input is an array, not a JSON object",
            ),
            (
                r#"["1.0", {}, [], null, null, null, null, null, null, null]"#,
                "not a Terraform plan: the input is an array",
            ),
            ("42", "not a Terraform plan: the input is a number"),
            ("\"plan\"", "not a Terraform plan: the input is a string"),
            ("plan", "not a Terraform plan: the input is not JSON"),
            ("{}", "not a Terraform plan: no format_version"),
            (
                r#"{"format_version":"1.0","values":{"root_module":{}}}"#,
                "not a Terraform plan: it has values but no planned_values",
            ),
            (
                r#"{"format_version":"1.0","provider_schemas":{}}"#,
                "not a Terraform plan: no planned_values and no resource_changes",
            ),
            (
                r#"{"format_version":"2.0","planned_values":{}}"#,
                "unsupported plan format_version \"2.0\"",
            ),
            (
                r#"{"format_version":1,"planned_values":{}}"#,
                "not a Terraform plan: invalid type: integer `1`",
            ),
            (
                r#"{"format_version":"1.0","planned_values":{},"resource_changes":{}}"#,
                "not a Terraform plan: invalid type: map",
            ),
            (
                r#"{"format_version":"1.0","planned_values":{},"resource_changes":[],"resource_changes":[]}"#,
                "not a Terraform plan: duplicate field `resource_changes`",
            ),
            (
                "{\"format_version\":\"1.0\",\"planned_values\":{}} x",
                "malformed plan JSON: trailing characters",
            ),
        ] {
            let f = classify_plan(text);
            assert_eq!(f.effect(), Effect::Unknown, "{text}");
            assert_eq!(f.parts.len(), 1);
            assert!(
                f.parts[0].why.starts_with(why),
                "{text}: {}",
                f.parts[0].why
            );
            assert_eq!(f.resources, None);
        }
    }

    #[test]
    fn deep_nesting_is_unknown_not_a_stack_overflow() {
        for depth in [200, 100_000] {
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let p = format!(
                r#"{{"format_version":"1.2","planned_values":{{}},"resource_changes":[{{"address":"t.x","type":"t","change":{{"actions":["create"],"after":{{"region":{deep}}}}}}}]}}"#
            );
            let f = classify_plan(&p);
            assert_eq!(f.effect(), Effect::Unknown);
            assert!(
                f.parts[0].why.contains("recursion limit exceeded"),
                "{}",
                f.parts[0].why
            );
            // A skipped field is skipped without recursion (serde_json ignores values
            // iteratively): no overflow, and nothing in it matters.
            let p = format!(r#"{{"format_version":"1.2","planned_values":{deep}}}"#);
            assert_eq!(classify_plan(&p).effect(), Effect::Read);
        }
        // 100 levels is fine.
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let p = format!(r#"{{"format_version":"1.2","planned_values":{{"x":{ok}}}}}"#);
        assert_eq!(classify_plan(&p).effect(), Effect::Read);
    }

    #[test]
    fn oversized_plan_is_unknown() {
        let big = " ".repeat(MAX_PLAN_BYTES + 1);
        let f = classify_plan(&big);
        assert_eq!(f.effect(), Effect::Unknown);
        assert!(
            f.parts[0].why.contains("over the 64 MiB limit"),
            "{}",
            f.parts[0].why
        );
        assert!(f.parts[0].text.len() < 100);
    }

    #[test]
    fn large_plan_is_fast() {
        let changes: Vec<Value> = (0..20_000)
            .map(|i| {
                rc(
                    &format!("aws_s3_bucket.b{i}"),
                    "aws_s3_bucket",
                    &["delete"],
                    json!({"arn": format!("arn:aws:s3:::b{i}"), "region": "eu-west-1"}),
                    Value::Null,
                )
            })
            .collect();
        let p = plan(Value::Array(changes), json!({}));
        let start = std::time::Instant::now();
        let f = classify_plan(&p);
        assert!(start.elapsed().as_secs() < 10);
        assert_eq!(f.resources, Some(20_000));
        assert_eq!(f.targets.len(), 20_000);
        assert_eq!(f.effect(), Effect::Delete);
    }

    // -- Targets ----------------------------------------------------------------------------

    #[test]
    fn aws_targets_from_arn_and_region() {
        let p = plan(
            json!([
                rc(
                    "aws_db_instance.main",
                    "aws_db_instance",
                    &["delete"],
                    json!({"arn": "arn:aws:rds:us-east-1:123456789012:db:main", "identifier": "main"}),
                    Value::Null
                ),
                rc(
                    "aws_iam_role.r",
                    "aws_iam_role",
                    &["update"],
                    json!({"arn": "arn:aws:iam::123456789012:role/r"}),
                    json!({"arn": "arn:aws:iam::123456789012:role/r"})
                ),
                rc(
                    "aws_s3_bucket.b",
                    "aws_s3_bucket",
                    &["create"],
                    Value::Null,
                    json!({"region": "eu-west-1"})
                ),
                rc(
                    "aws_iam_policy_attachment.p",
                    "aws_iam_policy_attachment",
                    &["create"],
                    Value::Null,
                    json!({"arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
                ),
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        let t = target(&f, "aws_db_instance.main");
        assert_eq!(t.kind, "terraform:aws_db_instance");
        assert_eq!(t.account.as_deref(), Some("123456789012"));
        assert_eq!(t.region.as_deref(), Some("us-east-1"));
        let t = target(&f, "aws_iam_role.r");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (Some("123456789012"), None)
        );
        let t = target(&f, "aws_s3_bucket.b");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (None, Some("eu-west-1"))
        );
        // `aws` is not an account number.
        assert_eq!(target(&f, "aws_iam_policy_attachment.p").account, None);
    }

    #[test]
    fn replacement_that_moves_region_has_both_targets() {
        let p = plan(
            json!([rc(
                "aws_db_instance.main",
                "aws_db_instance",
                &["delete", "create"],
                json!({"arn": "arn:aws:rds:us-east-1:123456789012:db:main"}),
                json!({"region": "eu-west-1"})
            )]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.targets.len(), 2);
        assert_eq!(f.targets[0].region.as_deref(), Some("us-east-1"));
        assert_eq!(f.targets[1].region.as_deref(), Some("eu-west-1"));
        // The account is known from the old ARN and holds for both.
        assert!(
            f.targets
                .iter()
                .all(|t| t.account.as_deref() == Some("123456789012"))
        );
        // When they agree, one target, filled from both sides.
        let p = plan(
            json!([rc(
                "aws_db_instance.main",
                "aws_db_instance",
                &["delete", "create"],
                json!({"arn": "arn:aws:rds:us-east-1:123456789012:db:main"}),
                json!({"region": "us-east-1"})
            )]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(f.targets.len(), 1);
        assert_eq!(f.targets[0].account.as_deref(), Some("123456789012"));
    }

    #[test]
    fn google_azure_kubernetes_helm_targets() {
        let p = plan(
            json!([
                rc("google_sql_database_instance.db", "google_sql_database_instance", &["delete"],
                   json!({"project": "acme-prod", "region": "europe-west1"}), Value::Null),
                {"address": "azurerm_resource_group.rg", "mode": "managed", "type": "azurerm_resource_group",
                 "provider_name": "registry.terraform.io/hashicorp/azurerm",
                 "change": {"actions": ["delete"], "before": {"location": "westeurope",
                    "id": "/subscriptions/0000-1111/resourceGroups/rg"}}},
                rc("kubernetes_deployment_v1.web", "kubernetes_deployment_v1", &["update"],
                   json!({"metadata": [{"name": "web", "namespace": "prod"}]}),
                   json!({"metadata": [{"name": "web", "namespace": "prod"}]})),
                rc("kubernetes_namespace.prod", "kubernetes_namespace", &["delete"],
                   json!({"metadata": [{"name": "prod"}]}), Value::Null),
                rc("kubernetes_manifest.crb", "kubernetes_manifest", &["create"], Value::Null,
                   json!({"manifest": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                          "metadata": {"name": "agent-admin"}}})),
                rc("kubernetes_manifest.cm", "kubernetes_manifest", &["create"], Value::Null,
                   json!({"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "staging"}}})),
                rc("helm_release.app", "helm_release", &["update"], json!({"namespace": "apps"}), json!({"namespace": "apps"})),
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        let t = target(&f, "google_sql_database_instance.db");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (Some("acme-prod"), Some("europe-west1"))
        );
        let t = target(&f, "azurerm_resource_group.rg");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (Some("0000-1111"), Some("westeurope"))
        );
        assert_eq!(
            target(&f, "kubernetes_deployment_v1.web")
                .namespace
                .as_deref(),
            Some("prod")
        );
        assert_eq!(
            target(&f, "kubernetes_namespace.prod").namespace.as_deref(),
            Some("prod")
        );
        assert_eq!(
            target(&f, "kubernetes_manifest.cm").namespace.as_deref(),
            Some("staging")
        );
        assert_eq!(
            target(&f, "helm_release.app").namespace.as_deref(),
            Some("apps")
        );
        let by = |addr: &str| f.parts.iter().find(|p| p.text == addr).unwrap();
        // A resource group and a namespace take their contents with them.
        assert!(by("azurerm_resource_group.rg").bulk);
        assert!(by("kubernetes_namespace.prod").bulk);
        assert!(!by("google_sql_database_instance.db").bulk);
        assert_eq!(by("kubernetes_manifest.crb").effect, Effect::Permissions);
        assert_eq!(by("kubernetes_manifest.cm").effect, Effect::Write);
        assert_eq!(f.effect(), Effect::Permissions);
    }

    #[test]
    fn provider_config_fills_region_and_account_by_module() {
        let p = plan(
            json!([
                {"address": "module.app[0].aws_db_instance.db", "module_address": "module.app[0]", "mode": "managed",
                 "type": "aws_db_instance", "name": "db", "provider_name": "registry.terraform.io/hashicorp/aws",
                 "change": {"actions": ["delete"], "before": {"identifier": "db"}}},
                {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
                 "provider_name": "registry.terraform.io/hashicorp/aws",
                 "change": {"actions": ["create"], "after": {}}},
                {"address": "google_storage_bucket.b", "mode": "managed", "type": "google_storage_bucket", "name": "b",
                 "provider_name": "registry.terraform.io/hashicorp/google",
                 "change": {"actions": ["create"], "after": {}}},
                {"address": "aws_s3_bucket.var", "mode": "managed", "type": "aws_s3_bucket", "name": "var",
                 "provider_name": "registry.terraform.io/hashicorp/aws",
                 "change": {"actions": ["create"], "after": {}}},
            ]),
            json!({"configuration": {
                "provider_config": {
                    "aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"},
                        "allowed_account_ids": {"constant_value": ["123456789012"]}}},
                    "aws.eu": {"name": "aws", "alias": "eu", "expressions": {"region": {"constant_value": "eu-west-1"}}},
                    "aws.var": {"name": "aws", "alias": "var", "expressions": {"region": {"references": ["var.region"]}}},
                    "google": {"name": "google", "expressions": {"project": {"constant_value": "acme"}, "region": {"constant_value": "us-central1"}}},
                },
                "root_module": {
                    "resources": [
                        {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs", "provider_config_key": "aws"},
                        {"address": "aws_s3_bucket.var", "mode": "managed", "type": "aws_s3_bucket", "name": "var", "provider_config_key": "aws.var"},
                        {"address": "google_storage_bucket.b", "mode": "managed", "type": "google_storage_bucket", "name": "b", "provider_config_key": "google"},
                    ],
                    "module_calls": {"app": {"source": "./app", "module": {"resources": [
                        {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db", "provider_config_key": "aws.eu"}
                    ]}}},
                },
            }}),
        );
        let f = classify_plan(&p);
        let t = target(&f, "module.app[0].aws_db_instance.db");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (None, Some("eu-west-1"))
        );
        let t = target(&f, "aws_s3_bucket.logs");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (Some("123456789012"), Some("us-east-1"))
        );
        let t = target(&f, "google_storage_bucket.b");
        assert_eq!(
            (t.account.as_deref(), t.region.as_deref()),
            (Some("acme"), Some("us-central1"))
        );
        // A region from a variable is not guessed.
        let t = target(&f, "aws_s3_bucket.var");
        assert_eq!((t.account.as_deref(), t.region.as_deref()), (None, None));
    }

    #[test]
    fn module_paths() {
        assert_eq!(module_path("").as_deref(), Some(""));
        assert_eq!(module_path("module.a").as_deref(), Some("module.a"));
        assert_eq!(
            module_path(r#"module.a[0].module.b["x.y]\"z"]"#).as_deref(),
            Some("module.a.module.b")
        );
        assert_eq!(module_path("module.a.").as_deref(), None);
        assert_eq!(module_path("module.a[0").as_deref(), None);
        assert_eq!(module_path("aws_instance.x").as_deref(), None);
        assert_eq!(module_path("module.").as_deref(), None);
        assert_eq!(module_path("module.a[0]x").as_deref(), None);
    }

    // -- Access and bulk --------------------------------------------------------------------

    #[test]
    fn access_control_types_are_permissions() {
        for t in [
            "aws_iam_role",
            "aws_iam_role_policy_attachment",
            "aws_s3_bucket_policy",
            "aws_lambda_permission",
            "aws_security_group_rule",
            "aws_vpc_security_group_ingress_rule",
            "aws_organizations_policy",
            "google_project_iam_member",
            "google_storage_bucket_iam_binding",
            "google_service_account_key",
            "google_compute_firewall",
            "azurerm_role_assignment",
            "azuread_application",
            "kubernetes_cluster_role_binding_v1",
            "kubernetes_network_policy",
            "kubernetes_service_account",
            "postgresql_grant",
            "github_team_membership",
            "vault_policy",
        ] {
            assert!(access_control_type(t), "{t}");
        }
        for t in [
            "aws_instance",
            "aws_db_instance",
            "aws_s3_bucket",
            "aws_autoscaling_policy",
            "aws_appautoscaling_policy",
            "aws_ecr_lifecycle_policy",
            "aws_cloudfront_cache_policy",
            "google_sql_database_instance",
            "kubernetes_deployment_v1",
            "null_resource",
            "corner_user_identity",
        ] {
            assert!(!access_control_type(t), "{t}");
        }
        let p = plan(
            json!([
                rc(
                    "aws_iam_role.admin",
                    "aws_iam_role",
                    &["delete", "create"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "kubernetes_secret_v1.tok",
                    "kubernetes_secret_v1",
                    &["create"],
                    Value::Null,
                    json!({"type": "kubernetes.io/service-account-token"})
                ),
                rc(
                    "kubernetes_secret_v1.plain",
                    "kubernetes_secret_v1",
                    &["create"],
                    Value::Null,
                    json!({"type": "Opaque"})
                ),
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        assert_eq!(
            ops(&f),
            [
                ("aws_iam_role.admin", Effect::Permissions, "replace"),
                ("kubernetes_secret_v1.tok", Effect::Permissions, "create"),
                ("kubernetes_secret_v1.plain", Effect::Write, "create"),
            ]
        );
        assert!(
            f.parts[0]
                .why
                .ends_with("governs access (IAM, RBAC, policy or firewall)")
        );
        assert_eq!(counts(&f), (0, 1, 2, 0));
    }

    #[test]
    fn containers_are_bulk_when_destroyed() {
        let p = plan(
            json!([
                rc(
                    "aws_s3_bucket.data",
                    "aws_s3_bucket",
                    &["delete"],
                    json!({"force_destroy": true}),
                    Value::Null
                ),
                rc(
                    "aws_s3_bucket.keep",
                    "aws_s3_bucket",
                    &["delete"],
                    json!({"force_destroy": false}),
                    Value::Null
                ),
                rc(
                    "google_project.p",
                    "google_project",
                    &["delete", "create"],
                    json!({}),
                    json!({})
                ),
                rc(
                    "kubernetes_manifest.crd",
                    "kubernetes_manifest",
                    &["delete"],
                    json!({"manifest": {"kind": "CustomResourceDefinition", "metadata": {"name": "x.example.com"}}}),
                    Value::Null
                ),
                rc(
                    "kubernetes_namespace_v1.ns",
                    "kubernetes_namespace_v1",
                    &["update"],
                    json!({}),
                    json!({})
                ),
            ]),
            json!({}),
        );
        let f = classify_plan(&p);
        let bulk: Vec<bool> = f.parts.iter().map(|p| p.bulk).collect();
        assert_eq!(bulk, [true, false, true, true, false]);
        assert!(
            f.parts[0]
                .why
                .ends_with("force_destroy deletes its contents with it")
        );
    }

    // -- Never panics -----------------------------------------------------------------------

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(s in proptest::prelude::any::<String>()) {
            let f = classify_plan(&s);
            proptest::prop_assert!(!f.parts.is_empty());
        }

        #[test]
        fn arbitrary_plans_never_panic(
            actions in proptest::collection::vec(
                proptest::sample::select(vec!["no-op", "create", "read", "update", "delete", "forget", "x", ""]), 0..3),
            mode in proptest::sample::select(vec!["managed", "data", "list"]),
            address in proptest::prelude::any::<String>(),
            module in proptest::prelude::any::<String>(),
            arn in proptest::prelude::any::<String>(),
            cut in 0usize..400,
        ) {
            let p = plan(
                json!([{"address": address, "module_address": module, "mode": mode, "type": "aws_x",
                        "change": {"actions": actions, "before": {"arn": arn}, "after": {"id": arn}}}]),
                json!({"configuration": {"root_module": {"resources": []}}}),
            );
            let f = classify_plan(&p);
            proptest::prop_assert!(!f.parts.is_empty());
            // Truncated plans are malformed, never read.
            let mut end = cut.min(p.len());
            while !p.is_char_boundary(end) { end -= 1; }
            if end < p.len() {
                proptest::prop_assert_eq!(classify_plan(&p[..end]).effect(), Effect::Unknown);
            }
        }
    }
}
