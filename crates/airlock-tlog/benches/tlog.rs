//! The ledger's hot paths (issue 6 targets in brackets):
//!
//! - `inclusion/verify_1e9`: verify an inclusion proof in a tree of 10^9 leaves
//!   (a 30-hash proof) [≤ 100 µs];
//! - `frontier/append_*`: leaf hash + frontier append, the core of full-log
//!   verification, per entry size [≥ 1,000,000 entries/s per core];
//! - `receipt/verify_*`: a whole receipt at 10^9 leaves, with the log signature
//!   and with one witness cosignature [≤ 100 µs];
//! - `note/open_checkpoint`: parse and verify a signed checkpoint.
//!
//!     CARGO_TARGET_DIR=/tmp/target-tlog cargo bench -p airlock-tlog --bench tlog
//!
//! The proof at 10^9 is synthetic (hashes of counters) with the root that chain
//! leads to, computed here the way RFC 9162 §2.1.3.2 walks it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmarks: a panic is a failure

use std::hint::black_box;
use std::time::Duration;

use airlock_tlog::{
    Checkpoint, Frontier, Hash, LogTrust, Note, Receipt, SignerKey, WitnessSigner, cosign,
    inclusion_proof_len, leaf_hash, node_hash, verify_inclusion, verify_receipt,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const BILLION: u64 = 1_000_000_000;

/// A proof of the right length for `index` in a tree of `size`, and the root it
/// leads to.
fn synthetic_proof(index: u64, size: u64, leaf: &Hash) -> (Vec<Hash>, Hash) {
    let proof: Vec<Hash> = (0..inclusion_proof_len(index, size) as u64)
        .map(|i| leaf_hash(&i.to_be_bytes()))
        .collect();
    let (mut fnode, mut snode, mut r) = (index, size - 1, *leaf);
    for p in &proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (proof, r)
}

fn inclusion(c: &mut Criterion) {
    let index = 765_432_109;
    let leaf = leaf_hash(b"an entry of the ledger");
    let (proof, root) = synthetic_proof(index, BILLION, &leaf);
    assert_eq!(proof.len(), 30);
    verify_inclusion(index, BILLION, &leaf, &proof, &root).unwrap();
    c.bench_function("inclusion/verify_1e9", |b| {
        b.iter(|| verify_inclusion(index, BILLION, black_box(&leaf), &proof, &root))
    });
}

fn frontier(c: &mut Criterion) {
    let mut g = c.benchmark_group("frontier");
    for size in [32usize, 256, 1024] {
        let entries: Vec<Vec<u8>> = (0..4096u32)
            .map(|i| {
                let mut e = vec![0u8; size];
                e[..4].copy_from_slice(&i.to_be_bytes());
                e
            })
            .collect();
        g.throughput(Throughput::Elements(entries.len() as u64));
        g.bench_function(format!("append_{size}B"), |b| {
            b.iter_batched_ref(
                Frontier::new,
                |f| {
                    for e in &entries {
                        f.push(leaf_hash(e)).unwrap();
                    }
                    black_box(f.root())
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn receipts(c: &mut Criterion) {
    let log = SignerKey::from_seed("airlock.example.com/ledger/prod", &[1; 32]).unwrap();
    let witness = WitnessSigner::from_seed("witness.example.org/w1", &[2; 32]).unwrap();
    let entry = vec![b'x'; 512];
    let index = 765_432_109;
    let (proof, root) = synthetic_proof(index, BILLION, &leaf_hash(&entry));
    let checkpoint = Checkpoint::new("airlock.example.com/ledger/prod", BILLION, root).unwrap();
    let mut note = Note::new(checkpoint.to_text()).unwrap();
    note.sign(&log);
    let signed = note.to_string();
    note.add_signature(cosign(&witness, &checkpoint, 1_795_000_000));
    let cosigned = note.to_string();

    let plain = Receipt {
        entry: entry.clone(),
        index,
        proof: proof.clone(),
        checkpoint: signed.clone(),
        extra: None,
    };
    let witnessed = Receipt {
        checkpoint: cosigned,
        ..plain.clone()
    };
    let trust = LogTrust::new(checkpoint.origin(), vec![log.verifier()]);
    let trust_w = trust.clone().with_witnesses(vec![witness.key()], 1);
    verify_receipt(&plain, &trust).unwrap();
    verify_receipt(&witnessed, &trust_w).unwrap();

    let mut g = c.benchmark_group("receipt");
    g.bench_function("verify_1e9_log_signature", |b| {
        b.iter(|| verify_receipt(black_box(&plain), &trust))
    });
    g.bench_function("verify_1e9_with_1_cosignature", |b| {
        b.iter(|| verify_receipt(black_box(&witnessed), &trust_w))
    });
    let json = witnessed.to_json();
    g.bench_function("parse_json_and_verify_1e9_with_1_cosignature", |b| {
        b.iter(|| verify_receipt(&Receipt::from_json(black_box(&json)).unwrap(), &trust_w))
    });
    g.finish();
    c.bench_function("note/open_checkpoint", |b| {
        b.iter(|| trust.verify_checkpoint(black_box(signed.as_bytes())))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = inclusion, frontier, receipts
}
criterion_main!(benches);
