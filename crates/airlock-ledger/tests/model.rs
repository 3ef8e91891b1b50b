//! A state machine: random sequences of append / sign / crash / failed fsync /
//! restart / prove / receipt / verify, run against the ledger (on [`MemFs`]) and
//! against a model (`airlock_tlog::MemoryTree` of the acknowledged entries).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;

use airlock_ledger::fs::{Fault, MemFs, Torn};
use airlock_ledger::{Error, Ledger, verify_with};
use airlock_tlog::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, verify_receipt};
use common::*;
use proptest::prelude::*;

const DIR: &str = "/m";

#[derive(Clone, Debug)]
enum Op {
    Append(Vec<Vec<u8>>),
    Sign,
    /// The next sync fails: the ledger must stop.
    FailSync,
    /// Power loss: unsynced bytes lost, partly kept, or garbage.
    Crash(u8, u64),
    Restart,
    Prove(u16, u16),
    Consistency(u16, u16),
    Receipt(u16),
    Verify,
    /// Prune below a boundary (retention): somewhere up to the signed size, or
    /// (sometimes) past it, which is refused.
    Prune(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..40)
            .prop_map(Op::Append),
        2 => Just(Op::Sign),
        1 => Just(Op::FailSync),
        1 => (0u8..3, any::<u64>()).prop_map(|(t, s)| Op::Crash(t, s)),
        1 => Just(Op::Restart),
        2 => (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Op::Prove(a, b)),
        2 => (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Op::Consistency(a, b)),
        2 => any::<u16>().prop_map(Op::Receipt),
        1 => Just(Op::Verify),
        1 => any::<u16>().prop_map(Op::Prune),
    ]
}

struct Model {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
    signed: u64,
    stopped: bool,
    /// Appends answered with an error: each may or may not be in the ledger.
    unsure: Vec<Vec<u8>>,
    /// Entries `0..pruned` have no bytes any more; their hashes remain.
    pruned: u64,
}

impl Model {
    fn push(&mut self, e: Vec<u8>) {
        self.tree.push(leaf_hash(&e)).unwrap();
        self.entries.push(e);
    }

    /// After a reopen: what the ledger holds beyond the acknowledged entries
    /// must be a prefix of the unsure ones; it becomes part of the model.
    fn reconcile(&mut self, ledger: &Ledger) -> Result<(), TestCaseError> {
        let n = ledger.size();
        let have = self.entries.len() as u64;
        prop_assert!(
            n >= have,
            "{n} entries after reopening, {have} acknowledged"
        );
        prop_assert!(n <= have + self.unsure.len() as u64, "entries from nowhere");
        let adopted: Vec<_> = self.unsure.drain(..(n - have) as usize).collect();
        for e in adopted {
            self.push(e);
        }
        self.unsure.clear();
        for i in 0..n {
            if i < self.pruned {
                let pruned = matches!(ledger.entry(i), Err(Error::Pruned { .. }));
                prop_assert!(pruned, "entry {} is pruned", i);
            } else {
                prop_assert_eq!(&ledger.entry(i).unwrap(), &self.entries[i as usize]);
            }
        }
        prop_assert!(ledger.pruned().below >= self.pruned, "a prune was lost");
        self.pruned = ledger.pruned().below;
        let signed = ledger.signed().map_or(0, |s| s.checkpoint.size());
        prop_assert!(signed >= self.signed, "a signed checkpoint was lost");
        prop_assert!(signed <= n);
        self.signed = signed;
        self.stopped = false;
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let mut ledger = Some(Ledger::open(DIR, opts.clone()).unwrap());
    let mut m = Model {
        entries: Vec::new(),
        tree: MemoryTree::new(),
        signed: 0,
        stopped: false,
        unsure: Vec::new(),
        pruned: 0,
    };
    for op in ops {
        let l = ledger.as_ref().unwrap();
        match op {
            Op::Append(es) => {
                let pending: Vec<_> = es.iter().map(|e| l.append(e.clone())).collect();
                for (e, p) in es.into_iter().zip(pending) {
                    match p.wait() {
                        Ok(i) => {
                            prop_assert!(!m.stopped, "an append succeeded on a stopped ledger");
                            prop_assert_eq!(i, m.entries.len() as u64);
                            m.push(e);
                        }
                        Err(err) => {
                            prop_assert!(matches!(err, Error::Stopped { .. }), "{err}");
                            m.stopped = true;
                            m.unsure.push(e);
                        }
                    }
                }
            }
            Op::Sign => match l.sign_checkpoint().wait() {
                Ok(s) => {
                    prop_assert!(!m.stopped);
                    prop_assert_eq!(s.checkpoint.size(), m.entries.len() as u64);
                    prop_assert_eq!(*s.checkpoint.root(), m.tree.root());
                    m.signed = s.checkpoint.size();
                }
                Err(err) => {
                    prop_assert!(matches!(err, Error::Stopped { .. }), "{err}");
                    m.stopped = true;
                }
            },
            Op::FailSync => fs.set_fault(Fault::FailSyncOnce),
            Op::Crash(t, seed) => {
                drop(ledger.take());
                let torn = [Torn::Clean, Torn::Prefix, Torn::Garbage][usize::from(t)];
                fs.crash(torn, seed);
                let l = Ledger::open(DIR, opts.clone()).unwrap();
                m.reconcile(&l)?;
                ledger = Some(l);
            }
            Op::Restart => {
                drop(ledger.take());
                fs.set_fault(Fault::None);
                let l = Ledger::open(DIR, opts.clone()).unwrap();
                m.reconcile(&l)?;
                ledger = Some(l);
            }
            Op::Prove(a, b) => {
                let n = m.entries.len() as u64;
                if n > 0 {
                    let size = 1 + u64::from(b) % n;
                    let index = u64::from(a) % size;
                    prop_assert_eq!(
                        l.inclusion_proof(index, size).unwrap(),
                        inclusion_proof(&m.tree, index, size).unwrap()
                    );
                }
            }
            Op::Consistency(a, b) => {
                let n = m.entries.len() as u64;
                if n > 0 {
                    let new = 1 + u64::from(b) % n;
                    let old = 1 + u64::from(a) % new;
                    prop_assert_eq!(
                        l.consistency_proof(old, new).unwrap(),
                        consistency_proof(&m.tree, old, new).unwrap()
                    );
                    prop_assert_eq!(l.root(new).unwrap(), {
                        let mut t = MemoryTree::new();
                        for e in &m.entries[..new as usize] {
                            t.push(leaf_hash(e)).unwrap();
                        }
                        t.root()
                    });
                }
            }
            Op::Receipt(i) => {
                if m.signed > 0 {
                    let index = u64::from(i) % m.signed;
                    if index < m.pruned {
                        prop_assert!(l.receipt(index).is_err(), "a receipt of a pruned entry");
                    } else {
                        let r = l.receipt(index).unwrap();
                        prop_assert_eq!(&r.entry, &m.entries[index as usize]);
                        verify_receipt(&r, &trust).unwrap();
                    }
                } else {
                    prop_assert!(l.receipt(0).is_err());
                }
            }
            Op::Verify => {
                let report = verify_with(&fs, Path::new(DIR), &trust);
                prop_assert_eq!(report.first_bad_index(), None, "{}", report);
                if m.signed > 0 {
                    prop_assert!(report.is_ok(), "{}", report);
                    prop_assert!(report.entries >= m.entries.len() as u64);
                    prop_assert_eq!(report.pruned, m.pruned);
                }
            }
            Op::Prune(b) => {
                // Mostly within the signed entries; one in eight past them.
                let below = if b % 8 == 0 {
                    m.signed + 1 + u64::from(b) % 4
                } else {
                    u64::from(b) % (m.signed + 1)
                };
                match l.prune(below).wait() {
                    Ok(p) => {
                        prop_assert!(!m.stopped, "a prune succeeded on a stopped ledger");
                        prop_assert!(below <= m.signed, "pruned past the signed size");
                        prop_assert_eq!(p.below, below.max(m.pruned));
                        m.pruned = p.below;
                        // Every proof still holds: the hashes are all there.
                        let n = m.entries.len() as u64;
                        if n > 0 {
                            prop_assert_eq!(l.root(n).unwrap(), m.tree.root());
                            prop_assert_eq!(
                                l.inclusion_proof(0, n).unwrap(),
                                inclusion_proof(&m.tree, 0, n).unwrap()
                            );
                        }
                    }
                    Err(Error::Stopped { .. }) => m.stopped = true,
                    // Past the signed size, or a failed hole punch: refused, nothing pruned
                    // beyond what the marker says (a retry completes it).
                    Err(_) => {
                        prop_assert!(l.pruned().below >= m.pruned);
                        m.pruned = l.pruned().below;
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_behaves_like_the_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
