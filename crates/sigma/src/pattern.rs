//! Sigma's value matching: strings compared without ASCII case unless
//! `cased`, with `*` and `?` wildcards (`\` escapes them and itself), and
//! the matchers the value modifiers make (`contains`, `startswith`,
//! `endswith`, `re`, `cidr`, numbers compared with `lt`..`gte`).
//!
//! Case folding is ASCII only, as SQL `LIKE` does, so that matches agree
//! with pySigma's SQL conversions byte for byte.

use regex::Regex;
use std::net::IpAddr;
use trailguard_detect::intel::{Cidr, IpSet};

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(Vec<u8>),
    /// `?`: one character.
    One,
    /// `*`: any run of characters.
    Any,
}

/// A compiled string pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// No wildcard: whole-value equality.
    Exact {
        text: Vec<u8>,
        cased: bool,
    },
    /// `text*`
    Prefix {
        text: Vec<u8>,
        cased: bool,
    },
    /// `*text`
    Suffix {
        text: Vec<u8>,
        cased: bool,
    },
    /// `*text*`
    Contains {
        text: Vec<u8>,
        cased: bool,
    },
    /// Anything else with wildcards.
    Glob {
        pieces: Vec<Piece>,
        cased: bool,
    },
    /// A regular expression, and a literal every match contains (checked
    /// first: most values are turned away by a substring search).
    Regex(Box<Prefiltered>),
    Cidr(IpSet),
    Number {
        op: Compare,
        value: f64,
    },
}

/// A regular expression and a literal every match contains (checked first:
/// most values are turned away by a substring search).
#[derive(Debug, Clone)]
pub struct Prefiltered {
    re: Regex,
    required: Option<memchr::memmem::Finder<'static>>,
    /// Whether `$` appears: PCRE's `$` (Sigma's flavour) also matches before
    /// a final newline, which Rust's does not, so such values are tried
    /// without it too.
    dollar: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// Splits Sigma string syntax into pieces: `\*`, `\?` and `\\` are literal;
/// any other backslash is itself.
fn pieces(value: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    let mut buf = [0u8; 4];
                    text.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
                }
                _ => text.push(b'\\'),
            },
            '*' | '?' => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                let p = if c == '*' { Piece::Any } else { Piece::One };
                // `**` is `*`.
                if !(p == Piece::Any && out.last() == Some(&Piece::Any)) {
                    out.push(p);
                }
            }
            other => {
                let mut buf = [0u8; 4];
                text.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

fn fold(mut v: Vec<u8>, cased: bool) -> Vec<u8> {
    if !cased {
        v.make_ascii_lowercase();
    }
    v
}

impl Pattern {
    /// A string value in Sigma syntax.
    pub fn string(value: &str, cased: bool) -> Self {
        let p = pieces(value);
        match p.as_slice() {
            [] => Pattern::Exact {
                text: Vec::new(),
                cased,
            },
            [Piece::Text(t)] => Pattern::Exact {
                text: fold(t.clone(), cased),
                cased,
            },
            [Piece::Text(t), Piece::Any] => Pattern::Prefix {
                text: fold(t.clone(), cased),
                cased,
            },
            [Piece::Any, Piece::Text(t)] => Pattern::Suffix {
                text: fold(t.clone(), cased),
                cased,
            },
            [Piece::Any, Piece::Text(t), Piece::Any] => Pattern::Contains {
                text: fold(t.clone(), cased),
                cased,
            },
            [Piece::Any] => Pattern::Glob {
                pieces: vec![Piece::Any],
                cased,
            },
            _ => Pattern::Glob {
                pieces: p
                    .into_iter()
                    .map(|x| match x {
                        Piece::Text(t) => Piece::Text(fold(t, cased)),
                        other => other,
                    })
                    .collect(),
                cased,
            },
        }
    }

    /// A regular expression (already built with its flags).
    pub fn regex(re: Regex, source: &str, case_insensitive: bool) -> Self {
        let required = if case_insensitive {
            None
        } else {
            required_literal(source).map(|lit| memchr::memmem::Finder::new(&lit).into_owned())
        };
        let dollar = source.contains('$');
        Pattern::Regex(Box::new(Prefiltered {
            re,
            required,
            dollar,
        }))
    }

    pub fn cidr(ranges: &[&str]) -> Result<Self, String> {
        let mut cidrs = Vec::new();
        for r in ranges {
            cidrs.push(Cidr::parse(r).ok_or_else(|| format!("'{r}' is not a CIDR range"))?);
        }
        Ok(Pattern::Cidr(IpSet::new(&cidrs)))
    }

    /// Whether a field's text matches.
    pub fn matches(&self, value: &str) -> bool {
        let v = value.as_bytes();
        match self {
            Pattern::Exact { text, cased } => eq(v, text, *cased),
            Pattern::Prefix { text, cased } => {
                v.get(..text.len()).is_some_and(|h| eq(h, text, *cased))
            }
            Pattern::Suffix { text, cased } => v
                .len()
                .checked_sub(text.len())
                .and_then(|start| v.get(start..))
                .is_some_and(|t| eq(t, text, *cased)),
            Pattern::Contains { text, cased } => find(v, text, *cased, 0).is_some(),
            Pattern::Glob { pieces, cased } => glob(v, pieces, *cased),
            Pattern::Regex(re) => {
                re.required.as_ref().is_none_or(|f| f.find(v).is_some())
                    && (re.re.is_match(value)
                        || (re.dollar
                            && value
                                .strip_suffix('\n')
                                .is_some_and(|shorter| re.re.is_match(shorter))))
            }
            Pattern::Cidr(set) => value.parse::<IpAddr>().is_ok_and(|ip| set.contains(ip)),
            Pattern::Number { op, value: want } => {
                value.trim().parse::<f64>().is_ok_and(|got| match op {
                    Compare::Lt => got < *want,
                    Compare::Lte => got <= *want,
                    Compare::Gt => got > *want,
                    Compare::Gte => got >= *want,
                })
            }
        }
    }

    /// The exact text of a case-insensitive equality (used to index rules).
    pub fn exact(&self) -> Option<&[u8]> {
        match self {
            Pattern::Exact { text, cased: false } => Some(text),
            _ => None,
        }
    }
}

/// The longest literal a regular expression's every match contains: a
/// literal piece of its top-level concatenation. `None` when there is none
/// (alternations, flags that change matching, anything unsure).
fn required_literal(source: &str) -> Option<Vec<u8>> {
    use regex_syntax::hir::{HirKind, Literal};
    let hir = regex_syntax::Parser::new().parse(source).ok()?;
    let HirKind::Concat(parts) = hir.kind() else {
        return match hir.kind() {
            HirKind::Literal(Literal(bytes)) => Some(bytes.to_vec()),
            _ => None,
        };
    };
    parts
        .iter()
        .filter_map(|p| match p.kind() {
            HirKind::Literal(Literal(bytes)) => Some(bytes.to_vec()),
            _ => None,
        })
        .max_by_key(Vec::len)
        .filter(|l| l.len() >= 2)
}

fn eq(a: &[u8], b: &[u8], cased: bool) -> bool {
    if cased {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

/// The first position at or after `from` where `needle` (lowercase unless
/// `cased`) starts: `memchr` finds each place its first byte occurs.
fn find(hay: &[u8], needle: &[u8], cased: bool, from: usize) -> Option<usize> {
    let Some(&first) = needle.first() else {
        return Some(from);
    };
    let upper = if cased {
        first
    } else {
        first.to_ascii_uppercase()
    };
    let mut at = from;
    loop {
        let rest = hay.get(at..)?;
        let i = memchr::memchr2(first, upper, rest)?;
        let start = at + i;
        if hay
            .get(start..start + needle.len())
            .is_some_and(|w| eq(w, needle, cased))
        {
            return Some(start);
        }
        at = start + 1;
    }
}

/// The length of the UTF-8 character starting at `b`.
fn char_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Wildcard matching over the whole value: the classic two-pointer walk
/// that backtracks to the last `*` only, so it takes at most value length
/// times pattern length steps whatever the input.
fn glob(v: &[u8], pieces: &[Piece], cased: bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    // After the last `*`: the piece following it, and where its match began.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let advanced = match pieces.get(p) {
            Some(Piece::Text(t)) => {
                let ok = v.get(s..s + t.len()).is_some_and(|h| eq(h, t, cased));
                if ok {
                    s += t.len();
                    p += 1;
                }
                ok
            }
            Some(Piece::One) => match v.get(s) {
                Some(&b) => {
                    s += char_len(b);
                    p += 1;
                    true
                }
                None => false,
            },
            Some(Piece::Any) => {
                p += 1;
                star = Some((p, s));
                true
            }
            None => {
                if s >= v.len() {
                    return true;
                }
                false
            }
        };
        if advanced {
            continue;
        }
        // A mismatch: let the last `*` take one more character.
        match star {
            Some((after, from)) => match v.get(from) {
                Some(&b) => {
                    let next = from + char_len(b);
                    star = Some((after, next));
                    p = after;
                    s = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, v: &str) -> bool {
        Pattern::string(p, false).matches(v)
    }

    #[test]
    fn wildcards_and_case() {
        assert!(m("ListBuckets", "listbuckets"));
        assert!(!m("ListBuckets", "ListBucketsX"));
        assert!(m("List*", "ListUsers"));
        assert!(m("*Users", "ListUsers"));
        assert!(m("*st*", "ListUsers"));
        assert!(m("L?st*s", "ListUsers"));
        assert!(!m("L?st", "Lst"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m(r"100\%\*", r"100\%*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m(r"C:\Windows\\*", r"c:\windows\x"));
        assert!(m(r"C:\Windows\*", r"c:\windows*"));
        assert!(!m(r"C:\Windows\*", r"c:\windows\x"));
        assert!(!Pattern::string("ABC", true).matches("abc"));
        assert!(m("é*", "é-x"));
        assert!(m("?", "é"));
        assert!(m("*a*b", "xxaxxbxxab"));
        assert!(!m("*a*a*a*a*a*a*a*b", &"a".repeat(5000)));
    }

    #[test]
    fn regular_expressions_are_prefiltered_by_what_they_require() {
        assert_eq!(
            required_literal(".+:assumed-role/aws:.+").as_deref(),
            Some(b":assumed-role/aws:".as_slice())
        );
        assert_eq!(
            required_literal("^abc$").as_deref(),
            Some(b"abc".as_slice())
        );
        assert_eq!(required_literal("a|b"), None);
        assert_eq!(required_literal("(?i)abc"), None);
        let re = Regex::new(".+:assumed-role/aws:.+").unwrap();
        let p = Pattern::regex(re, ".+:assumed-role/aws:.+", false);
        assert!(p.matches("arn:aws:sts::1:assumed-role/aws:x/y"));
        assert!(!p.matches("arn:aws:sts::1:assumed-role/web/y"));
        assert!(!p.matches(":assumed-role/aws:"));
    }

    #[test]
    fn cidr_and_numbers() {
        let c = Pattern::cidr(&["10.0.0.0/8", "2001:db8::/32"]).unwrap();
        assert!(c.matches("10.1.2.3") && c.matches("2001:db8::5") && !c.matches("11.0.0.1"));
        assert!(!c.matches("not-an-ip"));
        assert!(Pattern::cidr(&["nope"]).is_err());
        let n = Pattern::Number {
            op: Compare::Gte,
            value: 5.0,
        };
        assert!(n.matches("5") && n.matches("6.5") && !n.matches("4") && !n.matches("x"));
    }
}
