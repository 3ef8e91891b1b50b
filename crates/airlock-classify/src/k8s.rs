//! Kubernetes manifests fed to `kubectl apply|create|replace|delete -f`.
//!
//! Input: YAML (one or more documents separated by `---`) or JSON (one object, several
//! concatenated, or a `List`; JSON when the first character that is not white space is
//! `{`, as kubectl decides). A `…List` with `items` stands for its items, flattened.
//!
//! One [`Part`] per object, its text `Kind/name`, its target `k8s:<lowercase kind>` with
//! the name (`metadata.name`, else `metadata.generateName`) and `metadata.namespace` (for
//! a `Namespace`, its own name: the object is the scope). `findings.resources` is the
//! number of objects.
//!
//! Effect:
//! - `delete`, and `replace --force` (which deletes and recreates): `delete`. Deleting a
//!   `Namespace` deletes everything in it, deleting a `CustomResourceDefinition` all its
//!   custom resources: both `bulk`.
//! - `apply`, `create`, `replace`: `write`.
//! - Objects that govern access are `permissions` whatever the verb (removing access is a
//!   change of access too, and `permissions` sits above `delete`): see
//!   [`access_control_kind`]. RBAC (`Role`, `ClusterRole`, `RoleBinding`,
//!   `ClusterRoleBinding`); identities (`ServiceAccount`, a `Secret` of type
//!   `kubernetes.io/service-account-token`, which mints a token, a
//!   `CertificateSigningRequest`); admission control (`Validating`/`MutatingWebhookConfiguration`,
//!   `Validating`/`MutatingAdmissionPolicy` and their bindings: a mutating webhook can
//!   rewrite every pod, and deleting a validating one turns policy enforcement off);
//!   `PodSecurityPolicy` (which privileges pods may take); and any `…NetworkPolicy`
//!   (`NetworkPolicy`, Cilium's and Calico's, `AdminNetworkPolicy`): an allow-list of who
//!   may reach what is access control at the network layer, and loosening it grants
//!   access just as a RoleBinding does. Cloud IAM objects managed from Kubernetes (a
//!   kind starting `IAM`, an API group starting `iam.`) count as well.
//!
//! Unknown, with the reason: input over [`MAX_MANIFEST_BYTES`], YAML or JSON that does not
//! parse (including the parsers' limits: YAML nested beyond 64 levels, JSON beyond 128,
//! alias expansion beyond 50,000 replayed events, duplicate keys), no objects at all, a
//! document that is not an object, an object without `kind` or without a name. Empty
//! documents between `---` are skipped, as kubectl skips them.

use airlock_model::{Effect, Target};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

use crate::{Findings, Part};

/// Manifests larger than this are not read (`unknown`).
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// What kubectl does with the manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Apply,
    Create,
    Replace { force: bool },
    Delete,
}

impl Verb {
    fn operation(self) -> &'static str {
        match self {
            Verb::Apply => "apply",
            Verb::Create => "create",
            Verb::Replace { force: false } => "replace",
            Verb::Replace { force: true } => "replace --force",
            Verb::Delete => "delete",
        }
    }

    /// True when the verb deletes the live object.
    fn removes(self) -> bool {
        matches!(self, Verb::Delete | Verb::Replace { force: true })
    }

    fn does(self) -> &'static str {
        match self {
            Verb::Apply => "creates or updates",
            Verb::Create => "creates",
            Verb::Replace { force: false } => "overwrites",
            Verb::Replace { force: true } => "deletes and recreates",
            Verb::Delete => "deletes",
        }
    }
}

/// Classifies one or more YAML or JSON manifests.
pub fn classify_manifests(text: &str, verb: Verb) -> Findings {
    if text.len() > MAX_MANIFEST_BYTES {
        return Findings::unknown(
            format!("manifests ({} bytes)", text.len()),
            format!(
                "the manifests are {} bytes, over the {} MiB limit",
                text.len(),
                MAX_MANIFEST_BYTES / (1024 * 1024)
            ),
        );
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = match parse(text) {
        Ok(docs) => docs,
        Err(why) => return Findings::unknown(snippet(text), why),
    };
    let mut c = Classifier {
        verb,
        findings: Findings::default(),
        objects: 0,
        seen: HashSet::new(),
    };
    for (i, doc) in docs.iter().enumerate() {
        c.document(&format!("document {}", i + 1), doc);
    }
    if c.objects == 0 && c.findings.parts.is_empty() {
        return Findings::unknown(snippet(text), "no Kubernetes objects in the input");
    }
    c.findings.resources = Some(c.objects);
    c.findings
}

fn parse(text: &str) -> Result<Vec<Obj>, String> {
    if text.trim_start().starts_with('{') {
        let mut docs = Vec::new();
        for doc in serde_json::Deserializer::from_str(text).into_iter::<Obj>() {
            docs.push(doc.map_err(|e| format!("malformed JSON manifest: {e}"))?);
        }
        return Ok(docs);
    }
    let options = serde_saphyr::options! {
        with_snippet: false,
        budget: serde_saphyr::budget! {
            // Deeply nested CRD schemas go past the default 64.
            max_depth: 64,
            max_documents: 100_000,
            max_events: 8_000_000,
            max_nodes: 4_000_000,
        },
        // Billion-laughs: a few anchors expanded into millions of nodes.
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 50_000,
        },
    };
    serde_saphyr::from_multiple_with_options::<Obj>(text, options)
        .map_err(|e| format!("malformed YAML manifest: {e}"))
}

struct Classifier {
    verb: Verb,
    findings: Findings,
    objects: u64,
    seen: HashSet<(String, String, Option<String>)>,
}

impl Classifier {
    fn document(&mut self, label: &str, obj: &Obj) {
        if let Some(what) = obj.not_object {
            self.findings.part(Part::new(
                label,
                Effect::Unknown,
                format!("{label} is {what}, not a Kubernetes object"),
            ));
            return;
        }
        let unknown = |c: &mut Classifier, text: String, why: String| {
            c.findings.part(Part::new(text, Effect::Unknown, why));
        };
        let kind = match obj.kind.text() {
            Ok(Some(k)) if !k.trim().is_empty() => k,
            Ok(_) => return unknown(self, label.into(), format!("{label} has no kind")),
            Err(v) => {
                return unknown(
                    self,
                    label.into(),
                    format!("{label}: kind is {v}, not a string"),
                );
            }
        };
        if let Some(items) = obj.items.as_ref().filter(|_| kind.ends_with("List")) {
            for (i, item) in items.iter().enumerate() {
                self.document(&format!("{label} item {}", i + 1), item);
            }
            return;
        }
        self.objects = self.objects.saturating_add(1);
        let what = format!("{kind} in {label}");
        let meta = obj.metadata.as_ref();
        let fields = (
            string_field(meta.map(|m| &m.name), &what, "metadata.name"),
            string_field(
                meta.map(|m| &m.generate_name),
                &what,
                "metadata.generateName",
            ),
            string_field(meta.map(|m| &m.namespace), &what, "metadata.namespace"),
            string_field(Some(&obj.api_version), &what, "apiVersion"),
        );
        let (name, namespace, api_version) = match fields {
            (Err(why), ..) | (_, Err(why), ..) | (_, _, Err(why), _) | (.., Err(why)) => {
                return unknown(self, what, why);
            }
            (Ok(name), Ok(generate), Ok(ns), Ok(api)) => (name.or(generate), ns, api),
        };
        let Some(name) = name else {
            let why = format!("the {what} has no metadata.name or metadata.generateName");
            return unknown(self, what, why);
        };
        let is_namespace = kind.eq_ignore_ascii_case("Namespace");
        let namespace = if is_namespace {
            Some(name.to_string())
        } else {
            namespace.map(str::to_string)
        };
        let text = format!("{kind}/{name}");
        let secret_type = obj.type_.text().ok().flatten();
        let access = access_control_kind(api_version, kind, secret_type);
        let verb = self.verb;
        let bulk = if verb.removes() {
            delete_takes_contents(kind)
        } else {
            None
        };
        let effect = match (access, verb.removes()) {
            (Some(_), _) => Effect::Permissions,
            (None, true) => Effect::Delete,
            (None, false) => Effect::Write,
        };
        let mut why = format!("{} {} {text}", verb.operation(), verb.does());
        if let Some(ns) = namespace.as_deref().filter(|_| !is_namespace) {
            why.push_str(&format!(" in namespace {ns}"));
        }
        if let Some(api) = api_version {
            why.push_str(&format!(" ({api})"));
        }
        for extra in [bulk, access].into_iter().flatten() {
            why.push_str("; ");
            why.push_str(extra);
        }
        self.findings.part(
            Part::new(text, effect, why)
                .bulk(bulk.is_some())
                .operation(verb.operation()),
        );
        let kind = format!("k8s:{}", kind.to_ascii_lowercase());
        // De-duplicated here: `Findings::target` compares against every target so far.
        if self
            .seen
            .insert((kind.clone(), name.to_string(), namespace.clone()))
        {
            self.findings.targets.push(Target {
                kind,
                name: name.to_string(),
                namespace,
                ..Target::default()
            });
        }
    }
}

/// A field that must be a string when present: `Ok(None)` when absent or empty.
fn string_field<'a>(
    s: Option<&'a Scalar>,
    what: &str,
    name: &str,
) -> Result<Option<&'a str>, String> {
    match s.map(Scalar::text) {
        Some(Err(v)) => Err(format!(
            "the {what}: {name} is {v}, not a string (kubectl would refuse it)"
        )),
        Some(Ok(Some(t))) if !t.is_empty() => Ok(Some(t)),
        _ => Ok(None),
    }
}

/// Why an object of this kind governs access (and so is a `permissions` change), if it
/// does. `api_version` is `group/version` (or `v1` for the core group); `secret_type` is a
/// Secret's top-level `type`.
pub(crate) fn access_control_kind(
    api_version: Option<&str>,
    kind: &str,
    secret_type: Option<&str>,
) -> Option<&'static str> {
    let k = kind.to_ascii_lowercase();
    let why = match k.as_str() {
        "role" | "clusterrole" | "rolebinding" | "clusterrolebinding" => {
            "RBAC decides who can do what"
        }
        "serviceaccount" => "a service account is an identity that RBAC grants to",
        "certificatesigningrequest" => {
            "a certificate signing request asks for a client certificate (an identity)"
        }
        "validatingwebhookconfiguration"
        | "mutatingwebhookconfiguration"
        | "validatingadmissionpolicy"
        | "validatingadmissionpolicybinding"
        | "mutatingadmissionpolicy"
        | "mutatingadmissionpolicybinding" => {
            "admission control decides what may run (a mutating webhook can rewrite any object; removing a validating one turns enforcement off)"
        }
        "podsecuritypolicy" => "pod security policy decides which privileges pods may take",
        "secret" if secret_type == Some("kubernetes.io/service-account-token") => {
            "a service-account token secret mints a credential"
        }
        _ if k.ends_with("networkpolicy") => {
            "network policy decides which workloads may reach which"
        }
        _ => {
            let group = api_version
                .and_then(|a| a.split_once('/'))
                .map(|(g, _)| g.to_ascii_lowercase())
                .unwrap_or_default();
            if k.starts_with("iam") || group.starts_with("iam.") || group.starts_with("rbac.") {
                "a cloud IAM or RBAC object decides who can do what"
            } else {
                return None;
            }
        }
    };
    Some(why)
}

/// Why deleting an object of this kind deletes more than the object, if it does.
pub(crate) fn delete_takes_contents(kind: &str) -> Option<&'static str> {
    if kind.eq_ignore_ascii_case("Namespace") {
        Some("deleting a namespace deletes everything in it")
    } else if kind.eq_ignore_ascii_case("CustomResourceDefinition") {
        Some("deleting a CustomResourceDefinition deletes all its custom resources")
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// What is read of each document: only these fields, leniently (a custom resource may have
// anything at the top level); the rest is skipped without being kept.

#[derive(Default)]
struct Obj {
    /// Set when the document is not a mapping: what it is instead.
    not_object: Option<&'static str>,
    api_version: Scalar,
    kind: Scalar,
    metadata: Option<Meta>,
    items: Option<Vec<Obj>>,
    type_: Scalar,
}

#[derive(Default)]
struct Meta {
    name: Scalar,
    generate_name: Scalar,
    namespace: Scalar,
}

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Obj, D::Error> {
        d.deserialize_any(ObjVisitor)
    }
}

fn not_object(what: &'static str) -> Obj {
    Obj {
        not_object: Some(what),
        ..Obj::default()
    }
}

struct ObjVisitor;

impl<'de> Visitor<'de> for ObjVisitor {
    type Value = Obj;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj, A::Error> {
        let mut o = Obj::default();
        let mut seen = [false; 5];
        while let Some(key) = map.next_key::<Key>()? {
            let (i, name) = match key.0.as_deref() {
                Some("apiVersion") => (0, "apiVersion"),
                Some("kind") => (1, "kind"),
                Some("metadata") => (2, "metadata"),
                Some("items") => (3, "items"),
                Some("type") => (4, "type"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(de::Error::custom(format!("duplicate key {name}")));
            }
            match i {
                0 => o.api_version = map.next_value::<Scalar>()?,
                1 => o.kind = map.next_value::<Scalar>()?,
                2 => o.metadata = Some(map.next_value::<Meta>()?),
                3 => o.items = map.next_value::<Items>()?.0,
                _ => o.type_ = map.next_value::<Scalar>()?,
            }
        }
        Ok(o)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_object("a sequence"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Obj, E> {
        Ok(not_object("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Obj, E> {
        Ok(not_object("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Obj, E> {
        Ok(not_object("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Obj, E> {
        Ok(not_object("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Obj, E> {
        Ok(not_object("a string"))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Obj, E> {
        Ok(not_object("binary data"))
    }
    fn visit_unit<E>(self) -> Result<Obj, E> {
        Ok(not_object("null"))
    }
    fn visit_none<E>(self) -> Result<Obj, E> {
        Ok(not_object("null"))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Obj, D::Error> {
        d.deserialize_any(ObjVisitor)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Obj, D::Error> {
        d.deserialize_any(ObjVisitor)
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Meta, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Meta;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("object metadata")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Meta, A::Error> {
                let mut m = Meta::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let slot = match key.0.as_deref() {
                        Some("name") => &mut m.name,
                        Some("generateName") => &mut m.generate_name,
                        Some("namespace") => &mut m.namespace,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if !matches!(slot, Scalar::Absent) {
                        return Err(de::Error::custom("duplicate key in metadata"));
                    }
                    *slot = map.next_value::<Scalar>()?;
                }
                Ok(m)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Meta, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Meta::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_unit<E>(self) -> Result<Meta, E> {
                Ok(Meta::default())
            }
            fn visit_none<E>(self) -> Result<Meta, E> {
                Ok(Meta::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A field that should hold a string: absent (or null), a string, or something else
/// (described, for the reason).
#[derive(Default)]
enum Scalar {
    #[default]
    Absent,
    Str(String),
    Other(String),
}

impl Scalar {
    /// The string, `None` when absent, `Err(description)` when it is not a string.
    fn text(&self) -> Result<Option<&str>, &str> {
        match self {
            Scalar::Absent => Ok(None),
            Scalar::Str(s) => Ok(Some(s)),
            Scalar::Other(v) => Err(v),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            // YAML reads `no`, `n`, `off` as booleans and `0123` as a number, as kubectl's
            // YAML 1.1 parser does; kubectl then refuses them where it needs a string.
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other(format!("the boolean {v}")))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Scalar, E> {
                Ok(Scalar::Other("binary data".into()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Absent)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Absent)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("a sequence".into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("a mapping".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping key: text when it is a string, else `None` (and ignored).
struct Key(Option<String>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        Ok(Key(match Scalar::deserialize(d)? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }))
    }
}

/// A list's `items`: the objects when it is a sequence, else `None`.
struct Items(Option<Vec<Obj>>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Items, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Obj>()? {
                    items.push(item);
                }
                Ok(Items(Some(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_unit<E>(self) -> Result<Items, E> {
                Ok(Items(None))
            }
            fn visit_none<E>(self) -> Result<Items, E> {
                Ok(Items(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The first 80 characters of the input, for an `unknown` part's text.
fn snippet(text: &str) -> String {
    let t = text.trim_start();
    let mut s: String = t.chars().take(80).collect();
    if s.len() < t.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
";

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

    fn t(kind: &str, name: &str, ns: Option<&str>) -> Target {
        Target {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(Into::into),
            ..Target::default()
        }
    }

    #[test]
    fn each_verb_has_its_effect() {
        for (verb, effect, op) in [
            (Verb::Apply, Effect::Write, "apply"),
            (Verb::Create, Effect::Write, "create"),
            (Verb::Replace { force: false }, Effect::Write, "replace"),
            (
                Verb::Replace { force: true },
                Effect::Delete,
                "replace --force",
            ),
            (Verb::Delete, Effect::Delete, "delete"),
        ] {
            let f = classify_manifests(DEPLOYMENT, verb);
            assert_eq!(ops(&f), [("Deployment/web", effect, op)], "{verb:?}");
            assert_eq!(f.targets, [t("k8s:deployment", "web", Some("prod"))]);
            assert_eq!(f.resources, Some(1));
            assert!(!f.bulk());
        }
        let f = classify_manifests(DEPLOYMENT, Verb::Replace { force: true });
        assert_eq!(
            f.parts[0].why,
            "replace --force deletes and recreates Deployment/web in namespace prod (apps/v1)"
        );
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let text = format!(
            "# a bundle\n---\n{DEPLOYMENT}---\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{{port: 80}}]\n...\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{generateName: cfg-, namespace: prod}}\ndata: {{a: b}}\n"
        );
        let f = classify_manifests(&text, Verb::Apply);
        assert_eq!(
            ops(&f),
            [
                ("Deployment/web", Effect::Write, "apply"),
                ("Service/web", Effect::Write, "apply"),
                ("ConfigMap/cfg-", Effect::Write, "apply"),
            ]
        );
        assert_eq!(
            f.targets,
            [
                t("k8s:deployment", "web", Some("prod")),
                t("k8s:service", "web", None),
                t("k8s:configmap", "cfg-", Some("prod")),
            ]
        );
        assert_eq!(f.resources, Some(3));
    }

    #[test]
    fn deleting_a_namespace_or_crd_is_bulk() {
        let text = "\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: databases.example.com
spec:
  group: example.com
";
        let f = classify_manifests(text, Verb::Delete);
        assert_eq!(f.effect(), Effect::Delete);
        assert!(f.parts.iter().all(|p| p.bulk));
        assert_eq!(
            f.parts[0].why,
            "delete deletes Namespace/prod (v1); deleting a namespace deletes everything in it"
        );
        assert!(f.parts[1].why.ends_with("deletes all its custom resources"));
        assert_eq!(
            f.targets,
            [
                t("k8s:namespace", "prod", Some("prod")),
                t(
                    "k8s:customresourcedefinition",
                    "databases.example.com",
                    None
                ),
            ]
        );
        // Replacing by force deletes them too; applying does not.
        assert!(classify_manifests(text, Verb::Replace { force: true }).bulk());
        let f = classify_manifests(text, Verb::Apply);
        assert_eq!(f.effect(), Effect::Write);
        assert!(!f.bulk());
    }

    #[test]
    fn access_control_kinds_are_permissions() {
        let kinds = [
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("v1", "ServiceAccount"),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicyBinding",
            ),
            ("policy/v1beta1", "PodSecurityPolicy"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
            ("cilium.io/v2", "CiliumNetworkPolicy"),
            ("crd.projectcalico.org/v1", "GlobalNetworkPolicy"),
            ("certificates.k8s.io/v1", "CertificateSigningRequest"),
            ("iam.cnrm.cloud.google.com/v1beta1", "IAMPolicyMember"),
            ("iam.aws.upbound.io/v1beta1", "RolePolicyAttachment"),
        ];
        for verb in [
            Verb::Apply,
            Verb::Create,
            Verb::Replace { force: true },
            Verb::Delete,
        ] {
            for (api, kind) in kinds {
                let text = format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n");
                let f = classify_manifests(&text, verb);
                assert_eq!(f.effect(), Effect::Permissions, "{verb:?} {kind}");
                assert_eq!(f.parts[0].operation.as_deref(), Some(verb.operation()));
            }
        }
        let crb = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: agent-admin}\nroleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}\n";
        let f = classify_manifests(crb, Verb::Apply);
        assert_eq!(
            f.parts[0].why,
            "apply creates or updates ClusterRoleBinding/agent-admin (rbac.authorization.k8s.io/v1); RBAC decides who can do what"
        );
        assert_eq!(
            f.targets,
            [t("k8s:clusterrolebinding", "agent-admin", None)]
        );
    }

    #[test]
    fn secrets_are_writes_unless_they_mint_a_token() {
        let token = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tok\n  annotations: {kubernetes.io/service-account.name: deployer}\ntype: kubernetes.io/service-account-token\n";
        assert_eq!(
            classify_manifests(token, Verb::Apply).effect(),
            Effect::Permissions
        );
        let opaque = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ntype: Opaque\nstringData: {password: x}\n";
        assert_eq!(
            classify_manifests(opaque, Verb::Apply).effect(),
            Effect::Write
        );
        assert_eq!(
            classify_manifests(opaque, Verb::Delete).effect(),
            Effect::Delete
        );
    }

    #[test]
    fn json_object_list_and_stream() {
        let one = r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"data"}}"#;
        let f = classify_manifests(one, Verb::Delete);
        assert_eq!(ops(&f), [("StatefulSet/db", Effect::Delete, "delete")]);
        assert_eq!(f.targets, [t("k8s:statefulset", "db", Some("data"))]);

        let list = r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"staging"}},
            {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"staging"}},
            {"apiVersion":"v1","kind":"ServiceList","items":[{"kind":"Service","metadata":{"name":"s","namespace":"staging"}}]}
        ]}"#;
        let f = classify_manifests(list, Verb::Delete);
        assert_eq!(
            ops(&f),
            [
                ("Namespace/staging", Effect::Delete, "delete"),
                ("PersistentVolumeClaim/data", Effect::Delete, "delete"),
                ("Service/s", Effect::Delete, "delete"),
            ]
        );
        assert!(f.parts[0].bulk && !f.parts[1].bulk);
        assert_eq!(f.resources, Some(3));

        let stream = format!("{one}\n{one}\n");
        let f = classify_manifests(&stream, Verb::Apply);
        assert_eq!(f.parts.len(), 2);
        assert_eq!(f.targets.len(), 1);
        assert_eq!(f.resources, Some(2));
    }

    #[test]
    fn yaml_list() {
        let text = "apiVersion: v1\nkind: DeploymentList\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b}\n";
        let f = classify_manifests(text, Verb::Create);
        assert_eq!(
            ops(&f),
            [
                ("Deployment/a", Effect::Write, "create"),
                ("Deployment/b", Effect::Write, "create"),
            ]
        );
        // An empty list is no objects.
        let f = classify_manifests("apiVersion: v1\nkind: List\nitems: []\n", Verb::Delete);
        assert_eq!(f.effect(), Effect::Unknown);
        assert_eq!(f.parts[0].why, "no Kubernetes objects in the input");
    }

    #[test]
    fn custom_resources_with_odd_top_level_fields() {
        // `type`, `items` and `metadata` fields of unexpected shapes do not stop the reading.
        let text = "apiVersion: example.com/v1\nkind: Database\nmetadata:\n  name: main\n  namespace: prod\n  labels: [x]\ntype: {engine: postgres}\nitems: 5\nspec: {size: 10Gi}\n";
        let f = classify_manifests(text, Verb::Delete);
        assert_eq!(ops(&f), [("Database/main", Effect::Delete, "delete")]);
        assert_eq!(f.targets, [t("k8s:database", "main", Some("prod"))]);
        // A kind ending in List without items is an object like any other.
        let f = classify_manifests("kind: PodList\nmetadata: {name: p}\n", Verb::Apply);
        assert_eq!(ops(&f), [("PodList/p", Effect::Write, "apply")]);
    }

    #[test]
    fn unreadable_documents_are_unknown() {
        for (text, why) in [
            ("", "no Kubernetes objects in the input"),
            (
                "   \n# only a comment\n---\n",
                "no Kubernetes objects in the input",
            ),
            (
                "apiVersion: v1\nmetadata: {name: x}\n",
                "document 1 has no kind",
            ),
            (
                "kind: \"\"\nmetadata: {name: x}\n",
                "document 1 has no kind",
            ),
            (
                "kind: [Pod]\nmetadata: {name: x}\n",
                "document 1: kind is a sequence, not a string",
            ),
            (
                "kind: Pod\nmetadata: {name: x, namespace: no}\n",
                "the Pod in document 1: metadata.namespace is the boolean false",
            ),
            (
                "kind: Pod\nmetadata: {name: {a: b}}\n",
                "the Pod in document 1: metadata.name is a mapping",
            ),
            (
                "kind: Pod\napiVersion: 1\nmetadata: {name: x}\n",
                "the Pod in document 1: apiVersion is the number 1",
            ),
            (
                r#"{"kind":"Pod","metadata":{"name":7}}"#,
                "the Pod in document 1: metadata.name is the number 7",
            ),
            (
                "apiVersion: v1\nkind: Pod\n",
                "the Pod in document 1 has no metadata.name or metadata.generateName",
            ),
            (
                "- a\n- b\n",
                "document 1 is a sequence, not a Kubernetes object",
            ),
            (
                "just text\n",
                "document 1 is a string, not a Kubernetes object",
            ),
            ("42\n", "document 1 is a number, not a Kubernetes object"),
            ("kind: Pod\n\tname: x\n", "malformed YAML manifest: "),
            (
                "kind: Pod\nkind: Service\n",
                "malformed YAML manifest: duplicate mapping key",
            ),
            (
                "kind: Pod\nmetadata: {name: a, name: b}\n",
                "malformed YAML manifest: duplicate mapping key",
            ),
            (
                r#"{"kind":"Pod","kind":"Secret","metadata":{"name":"x"}}"#,
                "malformed JSON manifest: duplicate key kind",
            ),
            (
                r#"{"kind":"Pod","metadata":{"name":"x"}"#,
                "malformed JSON manifest: EOF while parsing",
            ),
            (
                r#"{kind: Pod, metadata: {name: x}}"#,
                "malformed JSON manifest: key must be a string",
            ),
        ] {
            let f = classify_manifests(text, Verb::Apply);
            assert_eq!(f.effect(), Effect::Unknown, "{text:?}");
            assert!(
                f.parts.iter().any(|p| p.why.starts_with(why)),
                "{text:?}: {:?}",
                f.parts
            );
        }
        // One bad document among good ones makes the whole unknown, and says which.
        let text = format!("{DEPLOYMENT}---\napiVersion: v1\nmetadata: {{name: x}}\n");
        let f = classify_manifests(&text, Verb::Delete);
        assert_eq!(f.effect(), Effect::Unknown);
        assert_eq!(
            ops(&f),
            [
                ("Deployment/web", Effect::Delete, "delete"),
                ("document 2", Effect::Unknown, "")
            ]
        );
    }

    #[test]
    fn quoted_scalars_are_names() {
        let f = classify_manifests(
            "kind: Namespace\nmetadata: {name: \"123\"}\n---\nkind: ConfigMap\nmetadata: {name: \"no\", namespace: \"n\"}\n",
            Verb::Delete,
        );
        assert_eq!(
            f.targets,
            [
                t("k8s:namespace", "123", Some("123")),
                t("k8s:configmap", "no", Some("n"))
            ]
        );
        // A null namespace is no namespace.
        let f = classify_manifests(
            "kind: Pod\nmetadata: {name: p, namespace: null}\n",
            Verb::Apply,
        );
        assert_eq!(f.targets, [t("k8s:pod", "p", None)]);
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, cur) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            text.push_str(&format!("{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        text.push_str("kind: ConfigMap\nmetadata: {name: lol}\n");
        let start = std::time::Instant::now();
        let f = classify_manifests(&text, Verb::Apply);
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(f.effect(), Effect::Unknown);
        assert!(f.parts[0].why.contains("alias"), "{}", f.parts[0].why);
        // A few aliases are fine.
        let text = "kind: ConfigMap\nmetadata: {name: c, labels: &l {a: b}}\ndata: *l\n";
        assert_eq!(
            classify_manifests(text, Verb::Apply).effect(),
            Effect::Write
        );
    }

    #[test]
    fn deep_nesting_is_unknown_not_a_stack_overflow() {
        for depth in [200, 100_000] {
            let flow = format!(
                "kind: Pod\nmetadata: {{name: x}}\nspec: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_eq!(
                classify_manifests(&flow, Verb::Apply).effect(),
                Effect::Unknown
            );
            let block: String = (0..depth.min(5_000))
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect();
            assert_eq!(
                classify_manifests(&block, Verb::Apply).effect(),
                Effect::Unknown
            );
            let json = format!(
                r#"{{"kind":"Pod","metadata":{{"name":"x"}},"spec":{}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            // Skipped fields are skipped iteratively by serde_json: no overflow either way.
            let _ = classify_manifests(&json, Verb::Apply);
            let json = format!(
                r#"{{"kind":"List","items":{}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_eq!(
                classify_manifests(&json, Verb::Apply).effect(),
                Effect::Unknown
            );
        }
        // 60 levels are fine.
        let deep = format!(
            "kind: CustomResourceDefinition\nmetadata: {{name: x}}\nspec: {}{}\n",
            "[".repeat(60),
            "]".repeat(60)
        );
        assert_eq!(
            classify_manifests(&deep, Verb::Apply).effect(),
            Effect::Write
        );
    }

    #[test]
    fn oversized_input_is_unknown() {
        let big = format!("{DEPLOYMENT}#{}\n", " ".repeat(MAX_MANIFEST_BYTES));
        let f = classify_manifests(&big, Verb::Apply);
        assert_eq!(f.effect(), Effect::Unknown);
        assert!(f.parts[0].why.contains("over the 16 MiB limit"));
    }

    #[test]
    fn many_documents_are_fine() {
        let one = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {a: b}\n---\n";
        let text = one.repeat(5_000);
        let f = classify_manifests(&text, Verb::Apply);
        assert_eq!(f.effect(), Effect::Write);
        assert_eq!(f.resources, Some(5_000));
        assert_eq!(f.targets.len(), 1);
    }

    #[test]
    fn many_distinct_objects_are_fast() {
        let text: String = (0..20_000)
            .map(|i| format!("kind: ConfigMap\nmetadata: {{name: c{i}, namespace: ns}}\n---\n"))
            .collect();
        let start = std::time::Instant::now();
        let f = classify_manifests(&text, Verb::Delete);
        assert!(start.elapsed().as_secs() < 10);
        assert_eq!(f.resources, Some(20_000));
        assert_eq!(f.targets.len(), 20_000);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let text = format!("\u{feff}{DEPLOYMENT}");
        assert_eq!(
            classify_manifests(&text, Verb::Apply).effect(),
            Effect::Write
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(s in proptest::prelude::any::<String>(), force in proptest::prelude::any::<bool>()) {
            for verb in [Verb::Apply, Verb::Create, Verb::Replace { force }, Verb::Delete] {
                let f = classify_manifests(&s, verb);
                proptest::prop_assert!(!f.parts.is_empty());
            }
        }

        #[test]
        fn mutated_manifests_never_panic(cut in 0usize..400, insert in proptest::prelude::any::<char>(), at in 0usize..400) {
            let mut text = format!("{DEPLOYMENT}---\n{{\"x\": [1, {{\"y\": null}}]}}\n");
            let mut i = at.min(text.len());
            while !text.is_char_boundary(i) { i -= 1; }
            text.insert(i, insert);
            let mut end = cut.min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            let f = classify_manifests(&text[..end], Verb::Delete);
            proptest::prop_assert!(!f.parts.is_empty());
            // Whatever it reads, it never calls a delete a read or a write.
            for p in &f.parts {
                proptest::prop_assert!(matches!(p.effect, Effect::Delete | Effect::Permissions | Effect::Unknown));
            }
        }
    }
}
