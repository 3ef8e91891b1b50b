//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the text of a signed
//! tree head.
//!
//! ```text
//! example.com/behind-the-sofa                    origin
//! 20852163                                       tree size, decimal, no leading zeros
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=   root hash, base64
//! …                                              optional non-empty extension lines
//! ```

use std::fmt;

use crate::hash::Hash;

/// Why a checkpoint text is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A mandatory line is missing.
    #[error("line {line}: missing the {what}")]
    MissingLine {
        /// Line number, from 1.
        line: usize,
        /// Which line.
        what: &'static str,
    },
    /// The origin line is empty.
    #[error("line 1: the origin is empty")]
    EmptyOrigin,
    /// The tree size is not a decimal `u64` without leading zeros.
    #[error("line 2: tree size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root hash is not base64 of 32 bytes.
    #[error("line 3: the root hash is not canonical base64 of 32 bytes")]
    BadRoot,
    /// An extension line is empty.
    #[error("line {0}: extension lines must not be empty")]
    EmptyExtension(usize),
    /// A control character (only newlines end lines).
    #[error("line {line}: control character U+{code:04X}")]
    ControlCharacter {
        /// Line number, from 1.
        line: usize,
        /// The character.
        code: u32,
    },
    /// The text does not end in a newline.
    #[error("the checkpoint does not end in a newline")]
    MissingFinalNewline,
}

/// A checkpoint: which log, how many leaves, which root.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint of `size` leaves with `root`, for the log named `origin`.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(origin, 1)?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (non-empty, one line). Not recommended by the spec:
    /// monitors cannot audit them, and witnesses vouch only for the first three
    /// lines.
    pub fn with_extension(mut self, line: &str) -> Result<Checkpoint, CheckpointError> {
        let number = 4 + self.extensions.len();
        if line.is_empty() {
            return Err(CheckpointError::EmptyExtension(number));
        }
        check_line(line, number)?;
        self.extensions.push(line.to_string());
        Ok(self)
    }

    /// Parses a checkpoint text (the text of its signed note), strictly.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(if text.is_empty() {
                CheckpointError::MissingLine {
                    line: 1,
                    what: "origin",
                }
            } else {
                CheckpointError::MissingFinalNewline
            });
        };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(origin, 1)?;
        let size = lines.next().ok_or(CheckpointError::MissingLine {
            line: 2,
            what: "tree size",
        })?;
        check_line(size, 2)?;
        let size = parse_size(size)?;
        let root = lines.next().ok_or(CheckpointError::MissingLine {
            line: 3,
            what: "root hash",
        })?;
        check_line(root, 3)?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::BadRoot)?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            let number = 4 + i;
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(number));
            }
            check_line(line, number)?;
            extensions.push(line.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint text, every line ending in a newline.
    pub fn to_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}\n{}\n", self.origin, self.size, self.root)?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

fn check_line(line: &str, number: usize) -> Result<(), CheckpointError> {
    match line.chars().find(|c| *c < ' ') {
        Some(c) => Err(CheckpointError::ControlCharacter {
            line: number,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let bad = || CheckpointError::BadSize(text.chars().take(40).collect());
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return Err(bad());
    }
    text.parse::<u64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOFA: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_spec_example_round_trips() {
        let c = Checkpoint::parse(SOFA).unwrap();
        assert_eq!(c.origin(), "example.com/behind-the-sofa");
        assert_eq!(c.size(), 20_852_163);
        assert_eq!(c.to_text(), SOFA);
        let ext = format!("{SOFA}extension one\nextension two\n");
        let c = Checkpoint::parse(&ext).unwrap();
        assert_eq!(c.extensions(), ["extension one", "extension two"]);
        assert_eq!(c.to_text(), ext);
    }

    #[test]
    fn malformed_checkpoints_say_where() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases: &[(String, CheckpointError)] = &[
            (
                String::new(),
                CheckpointError::MissingLine {
                    line: 1,
                    what: "origin",
                },
            ),
            (
                SOFA.trim_end().to_string(),
                CheckpointError::MissingFinalNewline,
            ),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (
                "o\n".into(),
                CheckpointError::MissingLine {
                    line: 2,
                    what: "tree size",
                },
            ),
            (
                "o\n1\n".into(),
                CheckpointError::MissingLine {
                    line: 3,
                    what: "root hash",
                },
            ),
            (
                format!("o\n01\n{root}\n"),
                CheckpointError::BadSize("01".into()),
            ),
            (
                format!("o\n+1\n{root}\n"),
                CheckpointError::BadSize("+1".into()),
            ),
            (
                format!("o\n-0\n{root}\n"),
                CheckpointError::BadSize("-0".into()),
            ),
            (
                format!("o\n 1\n{root}\n"),
                CheckpointError::BadSize(" 1".into()),
            ),
            (
                format!("o\n\n{root}\n"),
                CheckpointError::BadSize(String::new()),
            ),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                CheckpointError::BadSize("18446744073709551616".into()),
            ),
            ("o\n1\nnot base64\n".into(), CheckpointError::BadRoot),
            (format!("o\n1\n{}\n", &root[..40]), CheckpointError::BadRoot),
            (
                format!("o\n1\n{root}\n\n"),
                CheckpointError::EmptyExtension(4),
            ),
            (
                format!("o\n1\n{root}\next\n\n"),
                CheckpointError::EmptyExtension(5),
            ),
            (
                format!("o\t\n1\n{root}\n"),
                CheckpointError::ControlCharacter { line: 1, code: 9 },
            ),
            (
                format!("o\n1\n{root}\ne\rx\n"),
                CheckpointError::ControlCharacter { line: 4, code: 13 },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(text).as_ref(), Err(want), "{text:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n"))
                .unwrap()
                .size(),
            0
        );
        assert_eq!(
            Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n"))
                .unwrap()
                .size(),
            u64::MAX
        );
    }

    #[test]
    fn constructors_refuse_what_would_not_parse() {
        let root = Hash([0; 32]);
        assert!(Checkpoint::new("", 1, root).is_err());
        assert!(Checkpoint::new("a\nb", 1, root).is_err());
        let c = Checkpoint::new("a", 1, root).unwrap();
        assert!(c.clone().with_extension("").is_err());
        assert!(c.clone().with_extension("x\ny").is_err());
        let c = c.with_extension("x").unwrap();
        assert_eq!(Checkpoint::parse(&c.to_text()), Ok(c));
    }
}
