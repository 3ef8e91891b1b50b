//! The ledger's side of c2sp.org/tlog-witness over HTTP: [`HttpWitness`].

use std::time::Duration;

use airlock_ledger::{AddCheckpoint, Witness, WitnessError};
use airlock_tlog::{Hash, Note, NoteSignature, WitnessKey, verify_cosignatures};

use crate::protocol::{SIZE_CONTENT_TYPE, encode_request, parse_decimal};

/// How long one `add-checkpoint` call may take, connection included, unless
/// [`HttpWitness::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers larger than this are refused: a few signature lines are expected.
const MAX_ANSWER: u64 = 64 * 1024;

/// A witness reached over HTTP(S) at its submission prefix.
///
/// Blocking (ureq): the ledger calls it from its signer thread. A cosignature is
/// returned only after it verifies with the witness's key; lines by other keys
/// in the answer are ignored, as the spec asks.
#[derive(Debug, Clone)]
pub struct HttpWitness {
    url: String,
    key: WitnessKey,
    agent: ureq::Agent,
}

impl HttpWitness {
    /// The witness with public key `key` whose submission prefix is `prefix`
    /// (`https://witness.example/`; requests go to `<prefix>/add-checkpoint`).
    pub fn new(prefix: &str, key: WitnessKey) -> Result<HttpWitness, WitnessError> {
        if !(prefix.starts_with("http://") || prefix.starts_with("https://")) {
            return Err(WitnessError(format!(
                "witness URL {prefix:?} must start with http:// or https://"
            )));
        }
        Ok(HttpWitness {
            url: format!("{}/add-checkpoint", prefix.trim_end_matches('/')),
            key,
            agent: agent(DEFAULT_TIMEOUT),
        })
    }

    /// The same witness with another timeout per call.
    pub fn with_timeout(mut self, timeout: Duration) -> HttpWitness {
        self.agent = agent(timeout);
        self
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

impl Witness for HttpWitness {
    fn key(&self) -> WitnessKey {
        self.key.clone()
    }

    fn location(&self) -> String {
        self.url.clone()
    }

    fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        checkpoint_note: &str,
    ) -> Result<AddCheckpoint, WitnessError> {
        let note = Note::parse(checkpoint_note.as_bytes()).map_err(|e| {
            WitnessError(format!("the checkpoint to send is not a signed note: {e}"))
        })?;
        let body = encode_request(old_size, proof, checkpoint_note);
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body.as_bytes())
            .map_err(|e| WitnessError(format!("cannot reach the witness: {e}")))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| WitnessError(format!("unreadable answer (HTTP {status}): {e}")))?;
        match status {
            200 => cosignatures(&note, &self.key, &answer).map(AddCheckpoint::Cosigned),
            409 if content_type.starts_with(SIZE_CONTENT_TYPE) => answer
                .strip_suffix('\n')
                .and_then(|s| parse_decimal(s.as_bytes()))
                .map(|size| AddCheckpoint::Conflict { size })
                .ok_or_else(|| {
                    WitnessError(format!(
                        "a conflict answer must be a size and a newline, not {:?}",
                        shorten(&answer)
                    ))
                }),
            _ => Err(WitnessError(format!(
                "refused (HTTP {status}): {}",
                shorten(answer.trim_end())
            ))),
        }
    }
}

/// The witness's cosignatures in a 200 answer, verified: the answer's lines are
/// appended to the checkpoint text and read as a note (as the spec suggests).
fn cosignatures(
    note: &Note,
    key: &WitnessKey,
    answer: &str,
) -> Result<Vec<NoteSignature>, WitnessError> {
    if answer.is_empty()
        || !answer.ends_with('\n')
        || answer.split_terminator('\n').any(|l| !l.starts_with("— "))
    {
        return Err(WitnessError(format!(
            "the answer is not signature lines (`— <name> <base64>`, each ending in a newline): {:?}",
            shorten(answer)
        )));
    }
    let signed = Note::parse(format!("{}\n{answer}", note.text()).as_bytes())
        .map_err(|e| WitnessError(format!("the answer's signature lines are malformed: {e}")))?;
    let verified = verify_cosignatures(&signed, std::slice::from_ref(key))
        .map_err(|e| WitnessError(format!("the answer was refused: {e}")))?;
    if verified.is_empty() {
        return Err(WitnessError(format!(
            "the answer holds no cosignature by the witness key {key}"
        )));
    }
    Ok(signed
        .signatures()
        .iter()
        .filter(|s| s.name() == key.name() && s.key_id() == key.key_id())
        .cloned()
        .collect())
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}
