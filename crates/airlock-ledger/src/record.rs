//! The records of the entries file: `len (u32 BE) ‖ entry ‖ check (8 bytes)`, where
//! `check` is the first 8 bytes of the entry's RFC 6962 leaf hash.
//!
//! The file may end with zero bytes after its last record: space the writer
//! fills ahead of its appends ([`PREALLOCATE`]), so that a batch overwrites
//! allocated blocks and its `fdatasync` need not commit a new file size. All
//! zeros is never a record (the check of an empty entry is not zero), and it
//! counts as the end only when every byte after it is zero too.

use airlock_tlog::{Hash, leaf_hash};

use crate::fs::LogFile;

/// The largest entry, in bytes: 64 KiB − 1, the most a C2SP entry bundle's
/// 16-bit length prefix can say.
pub const MAX_ENTRY: usize = u16::MAX as usize;

/// Bytes of a record around its entry: the length and the check value.
pub const OVERHEAD: usize = 4 + CHECK;

/// Bytes of the check value.
pub const CHECK: usize = 8;

/// Bytes of zeros the writer writes past its last record when it runs out of
/// filled space.
pub const PREALLOCATE: usize = 1 << 20;

/// Appends the record of `entry` (whose leaf hash is `leaf`) to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, entry: &[u8], leaf: &Hash) {
    out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
    out.extend_from_slice(entry);
    out.extend_from_slice(&leaf.0[..CHECK]);
}

/// Why the bytes at an offset are not a whole, valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// The file ends inside the record (a torn write, or a truncation).
    Short,
    /// The length field is larger than [`MAX_ENTRY`].
    Length(u32),
    /// The check value does not match the entry's leaf hash.
    Check,
}

impl Bad {
    pub(crate) fn describe(self) -> String {
        match self {
            Bad::Short => "the file ends inside the record".into(),
            Bad::Length(n) => {
                format!("the length field says {n} bytes, more than the {MAX_ENTRY}-byte limit")
            }
            Bad::Check => "the check value does not match the entry's leaf hash".into(),
        }
    }
}

/// One record read back.
pub(crate) struct Record<'a> {
    pub entry: &'a [u8],
    pub leaf: Hash,
    /// Bytes of the whole record.
    pub len: usize,
}

/// Parses the record at the start of `buf`. `Bad::Short` when `buf` ends inside it.
pub(crate) fn parse(buf: &[u8]) -> Result<Record<'_>, Bad> {
    let Some(head) = buf.get(..4) else {
        return Err(Bad::Short);
    };
    let n = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if n as usize > MAX_ENTRY {
        return Err(Bad::Length(n));
    }
    let n = n as usize;
    let Some(entry) = buf.get(4..4 + n) else {
        return Err(Bad::Short);
    };
    let Some(check) = buf.get(4 + n..4 + n + CHECK) else {
        return Err(Bad::Short);
    };
    let leaf = leaf_hash(entry);
    if leaf.0[..CHECK] != *check {
        return Err(Bad::Check);
    }
    Ok(Record {
        entry,
        leaf,
        len: 4 + n + CHECK,
    })
}

/// A missing file, read as empty.
pub(crate) struct NoFile;

impl LogFile for NoFile {
    fn len(&self) -> std::io::Result<u64> {
        Ok(0)
    }
    fn read_exact_at(&self, _: u64, _: &mut [u8]) -> std::io::Result<()> {
        Err(std::io::ErrorKind::UnexpectedEof.into())
    }
    fn write_all_at(&self, _: u64, _: &[u8]) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate(&self, _: u64) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// The length of the record at the start of `buf`, from its length field only
/// (no hashing): to step over records.
pub(crate) fn skip(buf: &[u8]) -> Result<usize, Bad> {
    let Some(head) = buf.get(..4) else {
        return Err(Bad::Short);
    };
    let n = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if n as usize > MAX_ENTRY {
        return Err(Bad::Length(n));
    }
    let len = n as usize + OVERHEAD;
    if buf.len() < len {
        return Err(Bad::Short);
    }
    Ok(len)
}

/// Reads a log file sequentially in large chunks and yields its records. `F` is
/// a borrowed file (`&dyn LogFile`) or an owned one (`Box<dyn LogFile>`, for a
/// reader that outlives the function that opened the file).
pub(crate) struct Scanner<F> {
    file: F,
    file_len: u64,
    buf: Vec<u8>,
    /// Offset in the file of `buf[0]`.
    buf_offset: u64,
    /// Position in `buf` of the next record.
    pos: usize,
    /// Bytes valid in `buf`.
    filled: usize,
}

const CHUNK: usize = 4 << 20;

impl<F> Scanner<F>
where
    F: std::ops::Deref,
    F::Target: LogFile,
{
    pub(crate) fn new(file: F, start: u64, file_len: u64) -> Scanner<F> {
        Scanner {
            file,
            file_len,
            buf: Vec::new(),
            buf_offset: start,
            pos: 0,
            filled: 0,
        }
    }

    /// The offset of the next record.
    pub(crate) fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// The next record, `Ok(None)` at the exact end of the file, `Err(Bad)` (with
    /// the scanner left at the bad record) when the bytes there are not a record.
    pub(crate) fn next_record(&mut self) -> std::io::Result<Result<Option<Record<'_>>, Bad>> {
        if self.offset() >= self.file_len {
            return Ok(Ok(None));
        }
        // Make sure a whole record (up to the largest) is in the buffer, or the
        // rest of the file.
        if self.filled - self.pos < MAX_ENTRY + OVERHEAD {
            self.refill()?;
        }
        match parse(&self.buf[self.pos..self.filled]) {
            Ok(r) => {
                let len = r.len;
                let start = self.pos;
                self.pos += len;
                // Re-borrow from the buffer for the caller.
                let entry = &self.buf[start + 4..start + len - CHECK];
                Ok(Ok(Some(Record {
                    entry,
                    leaf: r.leaf,
                    len,
                })))
            }
            Err(bad) => {
                // Space the writer zero-filled ahead of its appends is the end of
                // the records, not damage: only if every byte to the end is zero.
                if self.rest_is_zero()? {
                    self.file_len = self.offset();
                    return Ok(Ok(None));
                }
                Ok(Err(bad))
            }
        }
    }

    /// Whether every byte from the next record's offset to the end of the file
    /// is zero.
    fn rest_is_zero(&mut self) -> std::io::Result<bool> {
        if self.buf[self.pos..self.filled].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        let mut at = self.buf_offset + self.filled as u64;
        let mut chunk = vec![0u8; 64 * 1024];
        while at < self.file_len {
            let n = (self.file_len - at).min(chunk.len() as u64) as usize;
            self.file.read_exact_at(at, &mut chunk[..n])?;
            if chunk[..n].iter().any(|b| *b != 0) {
                return Ok(false);
            }
            at += n as u64;
        }
        Ok(true)
    }

    fn refill(&mut self) -> std::io::Result<()> {
        // Move the unread rest to the front, then read as much as fits.
        let rest = self.filled - self.pos;
        self.buf.copy_within(self.pos..self.filled, 0);
        self.buf_offset += self.pos as u64;
        self.pos = 0;
        self.filled = rest;
        let file_left = self
            .file_len
            .saturating_sub(self.buf_offset + self.filled as u64);
        // CHUNK holds the largest record; small files get a small buffer.
        let want = (self.filled as u64 + file_left).min(CHUNK as u64) as usize;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let n = (self.buf.len() - self.filled).min(file_left as usize);
        if n > 0 {
            self.file.read_exact_at(
                self.buf_offset + self.filled as u64,
                &mut self.buf[self.filled..self.filled + n],
            )?;
            self.filled += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_named() {
        let mut out = Vec::new();
        encode(&mut out, b"hello", &leaf_hash(b"hello"));
        assert_eq!(out.len(), 5 + OVERHEAD);
        let r = parse(&out)
            .map_err(|_| ())
            .unwrap_or_else(|()| panic!("parse"));
        assert_eq!(r.entry, b"hello");
        assert_eq!(r.len, out.len());
        assert_eq!(parse(&out[..out.len() - 1]).err(), Some(Bad::Short));
        assert_eq!(parse(&out[..3]).err(), Some(Bad::Short));
        let mut flipped = out.clone();
        flipped[6] ^= 1;
        assert_eq!(parse(&flipped).err(), Some(Bad::Check));
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0];
        assert_eq!(parse(&huge).err(), Some(Bad::Length(u32::MAX)));
        // Zeros are not a record: the empty entry's check value is not zero.
        assert_eq!(parse(&[0; 12]).err(), Some(Bad::Check));
    }
}
