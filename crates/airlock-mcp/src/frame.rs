//! The MCP stdio transport's framing: one JSON-RPC message per line. Lines are
//! read with a bound, so that a peer sending an endless line costs at most the
//! bound in memory: the excess is skipped up to the next newline, never buffered.

use std::io::{self, BufRead};

/// The largest message relayed, in bytes (without its newline).
pub const MAX_MESSAGE: usize = 4 << 20;

#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole line, without its newline (and without a trailing `\r`).
    Line(Vec<u8>),
    /// A line over the bound; its bytes were skipped, this is how many there were.
    TooLong(usize),
    /// The peer closed its end.
    Eof,
}

/// Reads the next non-blank line of at most `max` bytes.
pub fn next_frame(input: &mut impl BufRead, max: usize) -> io::Result<Frame> {
    let mut line = Vec::new();
    let mut seen = 0usize;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            // End of input: a last line without a newline still counts.
            return Ok(finish(line, seen, max).unwrap_or(Frame::Eof));
        }
        let (part, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        seen += part.len();
        if seen <= max {
            line.extend_from_slice(part);
        } else {
            // Over the bound: drop what was kept, count the rest.
            line = Vec::new();
        }
        input.consume(used);
        if ended {
            match finish(line, seen, max) {
                Some(frame) => return Ok(frame),
                None => {
                    // A blank line: not a message; read on.
                    line = Vec::new();
                    seen = 0;
                }
            }
        }
    }
}

fn finish(mut line: Vec<u8>, seen: usize, max: usize) -> Option<Frame> {
    if seen > max {
        return Some(Frame::TooLong(seen));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(Frame::Line(line))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut r = io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        loop {
            let f = next_frame(&mut r, max).unwrap();
            if f == Frame::Eof {
                return out;
            }
            out.push(f);
        }
    }

    #[test]
    fn lines_blank_lines_crlf_and_a_last_line_without_newline() {
        assert_eq!(
            frames(b"{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\":3}", 100),
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"{\"b\":2}".to_vec()),
                Frame::Line(b"{\"c\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_over_the_bound_is_skipped_and_the_next_one_read() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(
            frames(&input, 10),
            vec![Frame::TooLong(50), Frame::Line(b"ok".to_vec())]
        );
    }
}
