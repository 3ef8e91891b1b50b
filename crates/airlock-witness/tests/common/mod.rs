//! What the witness tests share: a witness served over real HTTP on 127.0.0.1 in
//! its own runtime, a log held in memory that signs checkpoints and proves
//! consistency, and a plain HTTP client.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use airlock_tlog::{
    Checkpoint, Hash, MemoryTree, Note, SignerKey, VerifierKey, WitnessSigner, consistency_proof,
    leaf_hash, tree_root,
};
use airlock_witness::protocol::encode_request;
use airlock_witness::{LogConfig, WitnessConfig, WitnessServer, serve};

pub const ORIGIN: &str = "airlock.example.com/ledger/test";

pub fn witness_signer(name: &str, seed: u8) -> WitnessSigner {
    WitnessSigner::from_seed(name, &[seed; 32]).unwrap()
}

pub fn log_key(origin: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(origin, &[seed; 32]).unwrap()
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "airlock-witness-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A witness serving on a free port of 127.0.0.1, in a runtime of its own:
/// dropping it stops it (every connection included) and releases its state
/// directory.
pub struct RunningWitness {
    pub server: WitnessServer,
    pub addr: std::net::SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningWitness {
    pub fn start(state_dir: &Path, signer: WitnessSigner, logs: Vec<LogConfig>) -> RunningWitness {
        let server = WitnessServer::open(WitnessConfig {
            signer,
            logs,
            state_dir: state_dir.to_path_buf(),
        })
        .unwrap();
        Self::serve_on(server, "127.0.0.1:0")
    }

    pub fn serve_on(server: WitnessServer, addr: &str) -> RunningWitness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(serve(listener, server.clone()));
        RunningWitness {
            server,
            addr,
            runtime: Some(runtime),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// POSTs `body` to `/add-checkpoint`: (status, content type, body).
    pub fn post(&self, body: &[u8]) -> (u16, String, String) {
        post(&format!("{}/add-checkpoint", self.url()), body)
    }
}

impl Drop for RunningWitness {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

pub fn post(url: &str, body: &[u8]) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut r = agent.post(url).send(body).unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.body_mut().read_to_string().unwrap();
    (status, ct, text)
}

/// A log kept in memory: entries `"<tag> <i>"`, checkpoints signed by its key.
pub struct TestLog {
    pub origin: String,
    pub key: SignerKey,
    pub tree: MemoryTree,
    tag: String,
}

impl TestLog {
    pub fn new(origin: &str, seed: u8) -> TestLog {
        TestLog::with_tag(origin, seed, "entry")
    }

    /// A log whose entries differ from another's with another tag: a fork.
    pub fn with_tag(origin: &str, seed: u8, tag: &str) -> TestLog {
        TestLog {
            origin: origin.to_string(),
            // A key name has no spaces; an origin may.
            key: log_key(&origin.replace(' ', "_"), seed),
            tree: MemoryTree::new(),
            tag: tag.to_string(),
        }
    }

    pub fn config(&self) -> LogConfig {
        LogConfig {
            origin: self.origin.clone(),
            keys: vec![self.key.verifier()],
        }
    }

    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// Grows the log to `size` entries.
    pub fn grow_to(&mut self, size: u64) {
        while self.tree.size() < size {
            let i = self.tree.size();
            self.tree
                .push(leaf_hash(format!("{} {i}", self.tag).as_bytes()))
                .unwrap();
        }
    }

    pub fn root(&self, size: u64) -> Hash {
        tree_root(&self.tree, size).unwrap()
    }

    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(&self.origin, size, self.root(size)).unwrap()
    }

    /// The checkpoint of `size` entries, signed by the log's key.
    pub fn note(&self, size: u64) -> String {
        self.note_signed_by(size, &self.key)
    }

    pub fn note_signed_by(&self, size: u64, key: &SignerKey) -> String {
        let mut note = Note::new(self.checkpoint(size).to_text()).unwrap();
        note.sign(key);
        note.to_string()
    }

    /// The consistency proof from `old` to `new` (empty from 0 or between equals).
    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old == new {
            Vec::new()
        } else {
            consistency_proof(&self.tree, old, new).unwrap()
        }
    }

    /// An honest add-checkpoint request from `old` to `new`.
    pub fn request(&self, old: u64, new: u64) -> String {
        encode_request(old, &self.proof(old, new), &self.note(new))
    }
}
