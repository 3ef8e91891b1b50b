//! The `add-checkpoint` wire format (c2sp.org/tlog-witness), both directions.
//!
//! ```text
//! request:  old <size>\n              the size the witness last cosigned (0: none)
//!           <base64 hash>\n …         the consistency proof from it, ≤ 63 lines
//!           \n
//!           <the signed checkpoint note>
//! answers:  200  — <witness name> <base64(key ID ‖ timestamp ‖ signature)>\n …
//!           409  <size>\n  (Content-Type: text/x.tlog.size): the size it holds
//! ```

use airlock_tlog::Hash;

/// Consistency proof lines a request may carry (the spec's limit: a proof has at
/// most 63 hashes in a tree of `u64` leaves).
pub const MAX_PROOF_LINES: usize = 63;

/// The content type of a 409 answer's body: the size the witness holds.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRequest<'a> {
    /// The size of the checkpoint the client believes the witness holds.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, unparsed.
    pub note: &'a [u8],
}

/// Writes a request body.
pub fn encode_request(old_size: u64, proof: &[Hash], checkpoint_note: &str) -> String {
    let mut body = String::with_capacity(16 + 45 * proof.len() + checkpoint_note.len());
    body.push_str(&format!("old {old_size}\n"));
    for h in proof {
        body.push_str(&h.to_base64());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint_note);
    body
}

/// Parses a request body, strictly: any deviation is an error that says what the
/// body should look like.
pub fn parse_request(body: &[u8]) -> Result<AddRequest<'_>, String> {
    let mut rest = body;
    let mut next_line = |what: &str| -> Result<&[u8], String> {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(format!(
                "the body ends before {what}: a request is `old <size>`, the consistency proof (one base64 hash per line), an empty line, then the signed checkpoint, every line ending in a newline"
            ));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    let first = next_line("the end of the `old <size>` line")?;
    let old_size = parse_old_line(first)?;
    let mut proof = Vec::new();
    loop {
        let line = next_line("the empty line before the checkpoint")?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines (or no empty line before the checkpoint)"
            ));
        }
        let hash = std::str::from_utf8(line)
            .ok()
            .and_then(|l| Hash::from_base64(l).ok())
            .ok_or_else(|| {
                format!(
                    "consistency proof line {} is not a hash (44 characters of base64); an empty line must separate the proof from the checkpoint",
                    proof.len() + 1
                )
            })?;
        proof.push(hash);
    }
    if rest.is_empty() {
        return Err("the signed checkpoint is missing after the empty line".into());
    }
    Ok(AddRequest {
        old_size,
        proof,
        note: rest,
    })
}

fn parse_old_line(line: &[u8]) -> Result<u64, String> {
    let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    let bad = || {
        format!(
            "the first line must be `old <size>` (a decimal without leading zeros), not {shown:?}"
        )
    };
    let digits = line.strip_prefix(b"old ").ok_or_else(bad)?;
    parse_decimal(digits).ok_or_else(bad)
}

/// A decimal `u64` without leading zeros (but `0`).
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits.len() > 1 && digits[0] == b'0')
    {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_request_round_trips() {
        let proof = [Hash([1; 32]), Hash([2; 32])];
        let note = "o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— o AAAA\n";
        let body = encode_request(3, &proof, note);
        let r = parse_request(body.as_bytes()).unwrap();
        assert_eq!(r.old_size, 3);
        assert_eq!(r.proof, proof);
        assert_eq!(r.note, note.as_bytes());
        let r = parse_request(b"old 0\n\nx").unwrap();
        assert_eq!((r.old_size, r.proof.len(), r.note), (0, 0, &b"x"[..]));
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        for (body, says) in [
            (&b""[..], "ends before"),
            (b"old 1", "ends before"),
            (b"new 1\n\nx", "first line must be `old <size>`"),
            (b"old 01\n\nx", "first line"),
            (b"old -1\n\nx", "first line"),
            (b"old 18446744073709551616\n\nx", "first line"),
            (b"old 1\nnot a hash\n\nx", "proof line 1 is not a hash"),
            (b"old 1\n", "ends before the empty line"),
            (b"old 1\n\n", "checkpoint is missing"),
        ] {
            let e = parse_request(body).unwrap_err();
            assert!(e.contains(says), "{body:?}: {e}");
        }
        let mut long = String::from("old 1\n");
        for _ in 0..64 {
            long.push_str(&Hash([0; 32]).to_base64());
            long.push('\n');
        }
        long.push_str("\nx");
        assert!(
            parse_request(long.as_bytes())
                .unwrap_err()
                .contains("more than 63")
        );
    }
}
