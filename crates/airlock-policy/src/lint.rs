//! Checks on the compiled policy that need the whole picture: rules that can never
//! match, rules fully shadowed by an earlier rule, and exceptions that have expired.
//!
//! The shadowing test is conservative: it only reports a rule when it can prove that
//! every action the rule matches is matched by an earlier enforced rule that gives a
//! tier at least as strict (and, for `approve`, requires at least as much).

use airlock_model::{Effect, Mode, Tier};

use crate::compile::*;
use crate::diag::Diagnostic;
use crate::glob::GlobList;

pub(crate) fn lint(p: &Compiled, now: i64) -> Vec<Diagnostic> {
    let mut out = p.warnings.clone();
    for (j, r) in p.rules.iter().enumerate() {
        let key = format!("rules[{j}]");
        if let Some(why) = never_matches(p, r) {
            out.push(Diagnostic::error(
                r.at,
                &key,
                format!("rule `{}` can never match: {why}", r.id),
            ));
            continue;
        }
        if r.mode != Mode::Enforce {
            continue;
        }
        for i in shadow_candidates(p, j) {
            let earlier = &p.rules[i];
            if shadows(p, i, earlier, j, r) {
                out.push(Diagnostic::error(
                    r.at,
                    &key,
                    format!(
                        "rule `{}` can never change a decision: every action it matches is also matched by rule `{}` (line {}), which gives `{}`; remove it, narrow the earlier rule, or move the exception into `unless`",
                        r.id, earlier.id, earlier.at.line(), earlier.tier
                    ),
                ));
                break;
            }
        }
    }
    for (i, x) in p.exceptions.iter().enumerate() {
        if x.expires <= now {
            out.push(Diagnostic::warning(
                x.at,
                format!("exceptions[{i}]"),
                format!("exception `{}` (ticket {}) expired at {}; it grants nothing any more, remove it", x.id, x.ticket, x.expires_text),
            ));
        }
    }
    out
}

/// Earlier rules that could possibly cover rule `j`, in policy order.
///
/// A rule can only be covered by a rule whose index keys it requires too: covering
/// needs every literal the wider rule is filed under (operation, agent id or label,
/// target name, label or kind, tool) to be required by the narrower rule, and a
/// general rule to match every effect the narrower one does. So the candidates are
/// the buckets `j`'s own literals would look up, plus one general list; loading a
/// 10,000-rule policy stays fast instead of comparing every pair.
fn shadow_candidates(p: &Compiled, j: usize) -> Vec<usize> {
    let ix = &p.index;
    let c = &p.rules[j].when;
    let mut out: Vec<u32> = Vec::new();
    let mut take = |bucket: Option<&Vec<Entry>>| {
        out.extend(
            bucket
                .into_iter()
                .flatten()
                .map(|e| e.rule)
                .filter(|&i| (i as usize) < j),
        );
    };
    let agent_ids: Vec<&str> = c
        .agent
        .as_ref()
        .and_then(|a| a.ids.as_ref())
        .and_then(GlobList::literals)
        .unwrap_or_default();
    let agent_labels: Vec<(&str, &str)> = c
        .agent
        .iter()
        .flat_map(|a| {
            a.labels
                .iter()
                .filter_map(|(k, g)| g.literal().map(|v| (k.as_str(), v)))
        })
        .collect();
    let in_labels =
        |ix: &LabelIndex, labels: &[(&str, &str)], take: &mut dyn FnMut(Option<&Vec<Entry>>)| {
            for (k, v) in labels {
                take(ix.get(*k).and_then(|m| m.get(*v)));
            }
        };
    for op in c
        .ops
        .as_ref()
        .and_then(GlobList::literals)
        .into_iter()
        .flatten()
    {
        if let Some(b) = ix.by_op.get(op) {
            take(Some(&b.any_agent));
            for id in &agent_ids {
                take(b.by_agent.get(*id));
            }
            in_labels(&b.by_label, &agent_labels, &mut take);
        }
    }
    for id in &agent_ids {
        take(ix.by_agent.get(*id));
    }
    in_labels(&ix.by_label, &agent_labels, &mut take);
    if let Some(sel) = c.per_target.as_ref().and_then(|pt| pt.sel.as_ref()) {
        for n in sel
            .names
            .as_ref()
            .and_then(GlobList::literals)
            .into_iter()
            .flatten()
        {
            take(ix.by_target_name.get(n));
        }
        let labels: Vec<(&str, &str)> = sel
            .labels
            .iter()
            .filter_map(|(k, g)| g.literal().map(|v| (k.as_str(), v)))
            .collect();
        in_labels(&ix.by_target_label, &labels, &mut take);
        for k in sel
            .kinds
            .as_ref()
            .and_then(GlobList::literals)
            .into_iter()
            .flatten()
        {
            take(ix.by_target_kind.get(k));
        }
    }
    for t in c
        .tools
        .as_ref()
        .and_then(GlobList::literals)
        .into_iter()
        .flatten()
    {
        take(ix.by_tool.get(t));
    }
    // A covering rule matches every effect `j` matches, so it sits in the general
    // list of any one of them.
    if let Some(e) = c.effects.iter().next() {
        take(Some(&ix.general[e as usize]));
    }
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(|i| i as usize).collect()
}

fn never_matches(p: &Compiled, r: &Rule) -> Option<String> {
    let c = &r.when;
    if r.tier.is_permissive() && c.effects.iter().all(|e| e == Effect::Unknown) {
        return Some(format!(
            "it would `{}` only actions of unknown effect, which never go below `{}`",
            r.tier, p.unknown_floor
        ));
    }
    if c.resources_over == Some(u64::MAX) {
        return Some("no action affects more than the largest possible count".into());
    }
    if let Some(pt) = &c.per_target
        && let Some(plane) = pt.plane
        && !p.zones.iter().any(|z| z.plane == Some(plane))
    {
        return Some(format!("no zone is on the `{}` plane", plane.as_str()));
    }
    if let Some(roles) = c.agent.as_ref().and_then(|a| a.roles.as_ref()) {
        let held = p
            .agents
            .values()
            .any(|a| a.roles.iter().any(|r| roles.contains(r)));
        if !held {
            let names: Vec<&str> = roles
                .iter()
                .map(|r| p.roles[*r as usize].name.as_str())
                .collect();
            return Some(format!(
                "no listed agent holds role {} (unlisted agents hold no roles)",
                names.join(" or ")
            ));
        }
    }
    if let Some(u) = &r.unless
        && is_trivial(u)
    {
        return Some("its `unless` has no conditions, so it excludes every action".into());
    }
    None
}

fn is_trivial(c: &Cond) -> bool {
    c.agent.is_none()
        && c.tenants.is_none()
        && c.tools.is_none()
        && c.ops.is_none()
        && c.effects == airlock_model::EffectSet::ALL
        && c.bulk.is_none()
        && c.per_target.is_none()
        && c.resources_over.is_none()
        && c.cost_over.is_none()
        && c.irreversible.is_none()
        && c.reason.is_none()
        && c.alternatives.is_none()
        && c.rollback.is_none()
        && c.during.is_none()
        && c.outside.is_none()
}

fn shadows(p: &Compiled, i: usize, a: &Rule, j: usize, b: &Rule) -> bool {
    if a.mode != Mode::Enforce || a.tier < b.tier || a.unless.is_some() {
        return false;
    }
    if a.tier == Tier::Approve && b.tier == Tier::Approve {
        match (&a.approval, &b.approval) {
            (Some(x), Some(y))
                if x.group == y.group && x.count >= y.count && x.timeout_secs <= y.timeout_secs => {
            }
            _ => return false,
        }
    }
    // An exception that waives the earlier rule but not this one makes this one count.
    let (i, j) = (i as u32, j as u32);
    if p.exceptions
        .iter()
        .any(|x| x.waive.contains(&i) && !x.waive.contains(&j))
    {
        return false;
    }
    covers(&a.when, &b.when)
}

fn globs_cover(wide: &Option<GlobList>, narrow: &Option<GlobList>) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(n)) => n.is_covered_by(w),
    }
}

fn labels_cover(
    wide: &[(String, crate::glob::Glob)],
    narrow: &[(String, crate::glob::Glob)],
) -> bool {
    wide.iter()
        .all(|(k, g)| narrow.iter().any(|(k2, g2)| k == k2 && g2.is_covered_by(g)))
}

fn mask_covers(wide: Option<u64>, narrow: Option<u64>) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(n)) => n & !w == 0,
    }
}

fn eq_or_free<T: PartialEq>(wide: &Option<T>, narrow: &Option<T>) -> bool {
    wide.is_none() || wide == narrow
}

fn target_covers(w: &TargetSel, n: &TargetSel) -> bool {
    globs_cover(&w.kinds, &n.kinds)
        && globs_cover(&w.names, &n.names)
        && globs_cover(&w.paths, &n.paths)
        && globs_cover(&w.namespaces, &n.namespaces)
        && globs_cover(&w.accounts, &n.accounts)
        && globs_cover(&w.regions, &n.regions)
        && globs_cover(&w.profiles, &n.profiles)
        && globs_cover(&w.hosts, &n.hosts)
        && labels_cover(&w.labels, &n.labels)
        && eq_or_free(&w.workdir, &n.workdir)
}

fn per_target_covers(w: &PerTarget, n: &PerTarget) -> bool {
    n.envs & !w.envs == 0
        && mask_covers(w.zones, n.zones)
        && eq_or_free(&w.plane, &n.plane)
        && eq_or_free(&w.cross_zone, &n.cross_zone)
        && match (&w.sel, &n.sel) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(ws), Some(ns)) => target_covers(ws, ns),
        }
}

/// Every action matching `n` also matches `w`.
pub(crate) fn covers(w: &Cond, n: &Cond) -> bool {
    if !n.effects.is_subset(w.effects) || !eq_or_free(&w.bulk, &n.bulk) {
        return false;
    }
    if !globs_cover(&w.tools, &n.tools)
        || !globs_cover(&w.ops, &n.ops)
        || !globs_cover(&w.tenants, &n.tenants)
    {
        return false;
    }
    let agent_ok = match (&w.agent, &n.agent) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wa), Some(na)) => {
            globs_cover(&wa.ids, &na.ids)
                && labels_cover(&wa.labels, &na.labels)
                && globs_cover(&wa.operators, &na.operators)
                && mask_covers(wa.zones, na.zones)
                && match (&wa.roles, &na.roles) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(wr), Some(nr)) => nr.iter().all(|r| wr.contains(r)),
                }
        }
    };
    if !agent_ok {
        return false;
    }
    let num_ok = match (w.resources_over, n.resources_over) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => b >= a,
    } && match (w.cost_over, n.cost_over) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => b >= a,
    };
    if !num_ok
        || !eq_or_free(&w.irreversible, &n.irreversible)
        || !eq_or_free(&w.reason, &n.reason)
        || !eq_or_free(&w.alternatives, &n.alternatives)
        || !eq_or_free(&w.rollback, &n.rollback)
    {
        return false;
    }
    if w.during.is_some() || w.outside.is_some() {
        return false;
    }
    match (&w.per_target, &n.per_target) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wp), Some(np)) => {
            let quantifiers_ok =
                !(w.quantifier == Quantifier::All && n.quantifier == Quantifier::Any);
            quantifiers_ok && per_target_covers(wp, np)
        }
    }
}
