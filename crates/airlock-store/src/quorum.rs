//! Whether the votes on an approval request meet its requirements: pure, shared by
//! every backend so that they cannot disagree.
//!
//! Approvers must be **distinct humans**: one person counts towards one requirement
//! only, even when they belong to several required groups. Deciding whether the
//! approvals can be spread over the requirements that way is a bipartite matching
//! (approver → one requirement slot of a group they belong to); the sizes are tiny
//! (a few groups, a few approvals each), so a simple augmenting-path search is exact
//! and fast.

use crate::{Requirement, Vote};

/// The state votes put a request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Not enough distinct approvals yet, and nobody rejected.
    Waiting,
    /// Every requirement is met by distinct approvers.
    Approved,
    /// Someone entitled to vote rejected: one rejection is final.
    Rejected,
}

/// Counts the votes. Votes from the same approver after their first are ignored
/// (the store refuses them anyway); a vote counts towards a requirement only if the
/// approver's `groups` include the requirement's group.
pub fn tally(requirements: &[Requirement], votes: &[Vote]) -> Tally {
    let mut seen: Vec<&str> = Vec::new();
    let mut approvers: Vec<&Vote> = Vec::new();
    for v in votes {
        if seen.contains(&v.approver.as_str()) {
            continue;
        }
        seen.push(&v.approver);
        if !v.approve {
            return Tally::Rejected;
        }
        approvers.push(v);
    }
    // One slot per approval needed: slot i belongs to requirement slot_req[i].
    let slot_req: Vec<usize> = requirements
        .iter()
        .enumerate()
        .flat_map(|(i, r)| std::iter::repeat_n(i, r.approvals as usize))
        .collect();
    if slot_req.is_empty() {
        return Tally::Approved;
    }
    if approvers.len() < slot_req.len() {
        return Tally::Waiting;
    }
    // slot → approver index.
    let mut owner: Vec<Option<usize>> = vec![None; slot_req.len()];
    let fits = |a: usize, s: usize| {
        let group = &requirements[slot_req[s]].group;
        approvers[a].groups.iter().any(|g| g == group)
    };
    let mut matched = 0;
    for a in 0..approvers.len() {
        let mut visited = vec![false; slot_req.len()];
        if augment(a, &fits, &mut owner, &mut visited) {
            matched += 1;
            if matched == slot_req.len() {
                return Tally::Approved;
            }
        }
    }
    Tally::Waiting
}

fn augment(
    a: usize,
    fits: &dyn Fn(usize, usize) -> bool,
    owner: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for s in 0..owner.len() {
        if visited[s] || !fits(a, s) {
            continue;
        }
        visited[s] = true;
        let free = match owner[s] {
            None => true,
            Some(other) => augment(other, fits, owner, visited),
        };
        if free {
            owner[s] = Some(a);
            return true;
        }
    }
    false
}

/// "approved by alice, bob": the approvers in a required group, in the order they
/// voted.
pub fn approved_by(requirements: &[Requirement], votes: &[Vote]) -> String {
    let counts = |v: &Vote| {
        v.approve
            && v.groups
                .iter()
                .any(|g| requirements.iter().any(|r| &r.group == g))
    };
    let mut names: Vec<&str> = Vec::new();
    for v in votes.iter().filter(|v| counts(v)) {
        if !names.contains(&v.approver.as_str()) {
            names.push(&v.approver);
        }
    }
    format!("approved by {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(group: &str, approvals: u32) -> Requirement {
        Requirement {
            group: group.into(),
            approvals,
        }
    }

    fn yes(who: &str, groups: &[&str]) -> Vote {
        Vote {
            approver: who.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            approve: true,
            comment: String::new(),
            at_ms: 0,
        }
    }

    #[test]
    fn two_of_a_group_need_two_people() {
        let r = [req("leads", 2)];
        assert_eq!(tally(&r, &[yes("alice", &["leads"])]), Tally::Waiting);
        assert_eq!(
            tally(&r, &[yes("alice", &["leads"]), yes("alice", &["leads"])]),
            Tally::Waiting,
            "the same person twice is one approval"
        );
        assert_eq!(
            tally(&r, &[yes("alice", &["leads"]), yes("bob", &["leads"])]),
            Tally::Approved
        );
    }

    #[test]
    fn one_person_never_fills_two_requirements() {
        let r = [req("leads", 1), req("security", 1)];
        assert_eq!(
            tally(&r, &[yes("alice", &["leads", "security"])]),
            Tally::Waiting
        );
        // The matching is exact: alice must take security for bob to count.
        assert_eq!(
            tally(
                &r,
                &[yes("alice", &["leads", "security"]), yes("bob", &["leads"])]
            ),
            Tally::Approved
        );
    }

    #[test]
    fn votes_outside_the_groups_do_not_count_and_a_rejection_is_final() {
        let r = [req("leads", 1)];
        assert_eq!(tally(&r, &[yes("eve", &["devs"])]), Tally::Waiting);
        let mut no = yes("bob", &["leads"]);
        no.approve = false;
        assert_eq!(tally(&r, &[yes("alice", &["leads"]), no]), Tally::Rejected);
    }
}
