//! The witness: cosigns a log's checkpoint only if it is consistent with the
//! last one it cosigned for that log, and records each before answering.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use airlock_ledger::fs::{Fs, LockGuard, OsFs};
use airlock_ledger::{read_text, replace_atomically};
use airlock_tlog::{
    Checkpoint, Hash, Note, VerifierKey, WitnessKey, WitnessSigner, cosign, leaf_hash,
    verify_consistency,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::protocol::{SIZE_CONTENT_TYPE, parse_request};

/// The largest request body accepted (413 beyond): a checkpoint note with its
/// signatures and a 63-hash proof take a few kilobytes.
pub const MAX_BODY: usize = 1 << 20;

/// The name of the state directory's lock file: one witness process per directory.
pub const LOCK_FILE: &str = "LOCK";

/// A log this witness witnesses.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Its origin line.
    pub origin: String,
    /// Its public keys (several during a key rotation): a checkpoint needs a
    /// signature by one of them.
    pub keys: Vec<VerifierKey>,
}

/// How to run a witness.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The witness's key (its name is the name on its cosignatures).
    pub signer: WitnessSigner,
    /// The logs it witnesses; a log configured twice gets the keys of both.
    pub logs: Vec<LogConfig>,
    /// Where it records the last checkpoint it cosigned for each log.
    pub state_dir: PathBuf,
}

/// Why the witness would not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configuration cannot be used.
    #[error("witness configuration: {0}")]
    Config(String),
    /// Another process runs a witness on this state directory.
    #[error(
        "{}: another witness process holds this state directory's lock; one witness per directory (two would lose each other's updates)",
        .0.display()
    )]
    Locked(PathBuf),
    /// The state directory or a state file cannot be read or written.
    #[error("{0}")]
    State(String),
}

/// Why a checkpoint was not cosigned, with the HTTP status the protocol gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The body is not an `add-checkpoint` request (400).
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// The checkpoint is for a log this witness does not witness (404).
    #[error(
        "this witness does not witness the log {origin:?}; its operator adds it with `--log ORIGIN=VKEY`"
    )]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// No signature by a key trusted for the log verifies (403).
    #[error("the checkpoint is not signed by a key this witness trusts for {origin:?}: {reason}")]
    BadSignature {
        /// The log.
        origin: String,
        /// What the note verification said.
        reason: String,
    },
    /// The old size is larger than the checkpoint's: a proof of a rollback (400).
    #[error(
        "old size {old} is larger than the checkpoint's size {size}: a tree never shrinks, so this witness will not cosign it"
    )]
    Rollback {
        /// The old size sent.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size this witness holds (409, the body is the size).
    #[error(
        "this witness holds a checkpoint of {held} entries for this log, not {old}: send a consistency proof from {held}"
    )]
    Conflict {
        /// The size the witness holds.
        held: u64,
        /// The old size sent.
        old: u64,
    },
    /// Another root for the size this witness holds: the log has forked (409).
    #[error(
        "the log {origin:?} has forked: this witness cosigned root {held} for {size} entries, and will not cosign {offered}"
    )]
    Fork {
        /// The log.
        origin: String,
        /// The size.
        size: u64,
        /// The root the witness cosigned.
        held: Hash,
        /// The root offered now.
        offered: Hash,
    },
    /// The consistency proof does not verify (422).
    #[error(
        "the consistency proof from {old} to {size} entries does not verify against the checkpoint this witness holds: {reason}"
    )]
    BadProof {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// The new checkpoint could not be recorded, so it was not cosigned (500).
    #[error("this witness could not record the checkpoint, so it did not cosign it: {0}")]
    Storage(String),
}

impl Refusal {
    /// The HTTP status c2sp.org/tlog-witness gives this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::BadRequest(_) | Refusal::Rollback { .. } => StatusCode::BAD_REQUEST,
            Refusal::UnknownLog { .. } => StatusCode::NOT_FOUND,
            Refusal::BadSignature { .. } => StatusCode::FORBIDDEN,
            Refusal::Conflict { .. } | Refusal::Fork { .. } => StatusCode::CONFLICT,
            Refusal::BadProof { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A witness: its key, its logs and what it last cosigned for each. Cheap to
/// clone (shared); requests for one log are serialised, different logs proceed
/// in parallel.
#[derive(Clone)]
pub struct WitnessServer {
    inner: Arc<Inner>,
}

struct Inner {
    signer: WitnessSigner,
    logs: HashMap<String, Log>,
    state_dir: PathBuf,
    fs: OsFs,
    /// The latest cosignature time given: a clock stepping back never makes a
    /// later cosignature look older than an earlier one.
    last_timestamp: AtomicU64,
    _lock: Box<dyn LockGuard>,
}

struct Log {
    keys: Vec<VerifierKey>,
    path: PathBuf,
    /// The last checkpoint cosigned; the lock is held from the size check to the
    /// durable write, so no two requests can both pass the same check.
    latest: Mutex<Option<Checkpoint>>,
}

impl Log {
    fn latest(&self) -> MutexGuard<'_, Option<Checkpoint>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for WitnessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessServer")
            .field("key", &self.key())
            .field("state_dir", &self.inner.state_dir)
            .finish()
    }
}

impl WitnessServer {
    /// Opens the witness: locks the state directory (creating it) and reads the
    /// last checkpoint cosigned for each configured log.
    pub fn open(config: WitnessConfig) -> Result<WitnessServer, OpenError> {
        let fs = OsFs;
        let dir = config.state_dir;
        let state = |e: airlock_ledger::Error| OpenError::State(e.to_string());
        fs.create_dir_all(&dir).map_err(|e| {
            OpenError::State(format!(
                "{}: cannot create the state directory: {e}",
                dir.display()
            ))
        })?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs.sync_dir(parent)
                .map_err(|e| OpenError::State(format!("{}: cannot sync: {e}", parent.display())))?;
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs.try_lock(&lock_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                OpenError::Locked(dir.clone())
            } else {
                OpenError::State(format!("{}: cannot lock: {e}", lock_path.display()))
            }
        })?;
        if config.logs.is_empty() {
            return Err(OpenError::Config(
                "no logs to witness: name each with `--log ORIGIN=VKEY`".into(),
            ));
        }
        let mut logs: HashMap<String, Log> = HashMap::new();
        for log in config.logs {
            Checkpoint::new(&log.origin, 0, Hash::default())
                .map_err(|e| OpenError::Config(format!("origin {:?}: {e}", log.origin)))?;
            if log.keys.is_empty() {
                return Err(OpenError::Config(format!(
                    "the log {:?} has no public key",
                    log.origin
                )));
            }
            if let Some(known) = logs.get_mut(&log.origin) {
                known.keys.extend(log.keys);
                continue;
            }
            let path = dir.join(state_file_name(&log.origin));
            let latest = match read_text(&fs, &path).map_err(state)? {
                None => None,
                Some(text) => Some(read_state(&text, &log.origin).map_err(|e| {
                    OpenError::State(format!(
                        "{}: the witness's record of {:?} is damaged ({e}); restore it from a backup. Deleting it would make this witness trust the log's next checkpoint blindly",
                        path.display(),
                        log.origin
                    ))
                })?),
            };
            logs.insert(
                log.origin,
                Log {
                    keys: log.keys,
                    path,
                    latest: Mutex::new(latest),
                },
            );
        }
        Ok(WitnessServer {
            inner: Arc::new(Inner {
                signer: config.signer,
                logs,
                state_dir: dir,
                fs,
                last_timestamp: AtomicU64::new(0),
                _lock: lock,
            }),
        })
    }

    /// The witness's public key, as logs configure it.
    pub fn key(&self) -> WitnessKey {
        self.inner.signer.key()
    }

    /// The last checkpoint cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> Option<Checkpoint> {
        self.inner.logs.get(origin)?.latest().clone()
    }

    /// Where the record of `origin` is kept.
    pub fn state_path(&self, origin: &str) -> Option<&Path> {
        Some(&self.inner.logs.get(origin)?.path)
    }

    /// Handles an `add-checkpoint` request body: on success the cosignature
    /// lines to answer with, timestamped now (never before an earlier answer).
    /// Blocking (it fsyncs).
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String, Refusal> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .min(i64::MAX as u64);
        let last = self.inner.last_timestamp.fetch_max(now, Ordering::Relaxed);
        self.add_checkpoint_at(body, now.max(last))
    }

    /// [`WitnessServer::add_checkpoint`] at `timestamp` (seconds since the epoch).
    pub fn add_checkpoint_at(&self, body: &[u8], timestamp: u64) -> Result<String, Refusal> {
        let request = parse_request(body).map_err(Refusal::BadRequest)?;
        let note = Note::parse(request.note).map_err(|e| {
            Refusal::BadRequest(format!("the checkpoint is not a signed note: {e}"))
        })?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|e| Refusal::BadRequest(format!("the note is not a checkpoint: {e}")))?;
        let origin = checkpoint.origin();
        let log = self
            .inner
            .logs
            .get(origin)
            .ok_or_else(|| Refusal::UnknownLog {
                origin: origin.to_string(),
            })?;
        note.verify(&log.keys).map_err(|e| Refusal::BadSignature {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        let (old, size) = (request.old_size, checkpoint.size());
        if old > size {
            return Err(Refusal::Rollback { old, size });
        }
        // From the check to the durable write, one request per log at a time.
        let mut latest = log.latest();
        let held = latest.as_ref().map_or(0, Checkpoint::size);
        if old != held {
            return Err(Refusal::Conflict { held, old });
        }
        let bad_proof = |reason: String| Refusal::BadProof { old, size, reason };
        let unchanged = match latest.as_ref() {
            Some(l) if l.size() == size => {
                if l.root() != checkpoint.root() {
                    return Err(Refusal::Fork {
                        origin: origin.to_string(),
                        size,
                        held: *l.root(),
                        offered: *checkpoint.root(),
                    });
                }
                if !request.proof.is_empty() {
                    return Err(bad_proof(format!(
                        "a proof between equal sizes is empty, not {} hashes",
                        request.proof.len()
                    )));
                }
                true
            }
            Some(l) if old > 0 => {
                verify_consistency(old, size, l.root(), checkpoint.root(), &request.proof)
                    .map_err(|e| bad_proof(e.to_string()))?;
                false
            }
            // The first checkpoint of a log (or one after a tree of size 0): the
            // empty tree is a prefix of every tree, there is nothing to prove.
            _ => {
                if !request.proof.is_empty() {
                    return Err(bad_proof(format!(
                        "a proof from size 0 is empty, not {} hashes",
                        request.proof.len()
                    )));
                }
                false
            }
        };
        if !unchanged {
            replace_atomically(&self.inner.fs, &log.path, note.to_string().as_bytes())
                .map_err(|e| Refusal::Storage(e.to_string()))?;
            *latest = Some(checkpoint.clone());
        }
        drop(latest);
        Ok(cosign(&self.inner.signer, &checkpoint, timestamp).line())
    }

    /// The HTTP interface: `POST /add-checkpoint`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self)
    }
}

/// Serves `witness` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: WitnessServer,
) -> std::io::Result<()> {
    axum::serve(listener, witness.router()).await
}

async fn add_checkpoint(
    State(witness): State<WitnessServer>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than {MAX_BODY} bytes; an add-checkpoint request is a few kilobytes"
                ),
            );
        }
        Err(e) => return text(e.status(), e.body_text()),
    };
    // The record is fsynced: off the async workers.
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await;
    match result {
        Ok(Ok(lines)) => text(StatusCode::OK, lines),
        Ok(Err(Refusal::Conflict { held, .. })) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{held}\n"),
        )
            .into_response(),
        Ok(Err(refusal)) => text(refusal.status(), refusal.to_string()),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request failed inside the witness: {e}"),
        ),
    }
}

fn text(status: StatusCode, mut message: String) -> Response {
    if !message.ends_with('\n') {
        message.push('\n');
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Reads a log's record: the checkpoint note as the log sent it.
fn read_state(text: &str, origin: &str) -> Result<Checkpoint, String> {
    let note = Note::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| e.to_string())?;
    if checkpoint.origin() != origin {
        return Err(format!(
            "it holds a checkpoint of {:?}",
            checkpoint.origin()
        ));
    }
    Ok(checkpoint)
}

/// The file name of a log's record: the origin with every byte but `a-z`, `0-9`,
/// `.`, `-` and `_` written `%XX` (so that two origins never share a file, even
/// on a case-insensitive file system), and `.checkpoint` after it; a long one is
/// cut and completed with a hash of the whole origin.
pub fn state_file_name(origin: &str) -> String {
    let mut name = String::with_capacity(origin.len() + 11);
    for b in origin.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_') {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.len() > 160 {
        // Cut at a character boundary (every character here is ASCII).
        name.truncate(96);
        name.push('~');
        name.push_str(&leaf_hash(origin.as_bytes()).to_hex()[..32]);
    }
    name.push_str(".checkpoint");
    name
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn state_file_names_are_safe_and_distinct() {
        assert_eq!(
            state_file_name("example.com/log"),
            "example.com%2Flog.checkpoint"
        );
        assert_eq!(state_file_name("Log"), "%4Cog.checkpoint");
        assert_eq!(state_file_name(".."), "...checkpoint");
        assert_ne!(state_file_name("a/b"), state_file_name("a%2Fb"));
        assert_ne!(state_file_name("A"), state_file_name("a"));
        let long = "x".repeat(500);
        let name = state_file_name(&long);
        assert!(name.len() < 200, "{name}");
        assert_ne!(name, state_file_name(&format!("{long}y")));
        for origin in ["a\u{7f}b", "é", "a b", "con", "x.checkpoint.tmp"] {
            let n = state_file_name(origin);
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"%.-_~".contains(&b)),
                "{n}"
            );
        }
    }
}
