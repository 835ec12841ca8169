//! The structure of a CloudTrail file or JSON array, as far as reading it
//! needs: where its array of records starts, and, for a record the engine
//! cannot decode, where it ends (a scan that skips strings and their escapes
//! and counts braces, with `memchr` doing the looking), so reading goes on
//! after it.

use memchr::{memchr, memchr2, memchr3};

/// A record's place in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Why splitting stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub offset: usize,
    pub message: &'static str,
}

pub fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while buf.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The end (one past the closing quote) of the string opening at `i`.
fn end_of_string(buf: &[u8], i: usize) -> Option<usize> {
    let mut at = i + 1;
    loop {
        let rest = buf.get(at..)?;
        let found = memchr2(b'"', b'\\', rest)?;
        at += found;
        if buf.get(at) == Some(&b'\\') {
            at += 2;
        } else {
            return Some(at + 1);
        }
    }
}

/// The end (one past the closing brace) of the object opening at `i`.
pub fn end_of_object(buf: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = i;
    loop {
        let rest = buf.get(at..)?;
        let found = memchr3(b'"', b'{', b'}', rest)?;
        at += found;
        match buf.get(at)? {
            b'"' => at = end_of_string(buf, at)?,
            b'{' => {
                depth += 1;
                at += 1;
            }
            _ => {
                depth = depth.checked_sub(1)?;
                at += 1;
                if depth == 0 {
                    return Some(at);
                }
            }
        }
    }
}

/// Where the array of records starts: after `"Records":` in a CloudTrail
/// file, or at the `[` of a JSON array.
pub fn array_start(buf: &[u8], array: bool) -> Result<usize, Broken> {
    let broken = |offset, message| Broken { offset, message };
    let mut i = skip_ws(buf, 0);
    if array {
        return if buf.get(i) == Some(&b'[') {
            Ok(i + 1)
        } else {
            Err(broken(i, "not a JSON array"))
        };
    }
    if buf.get(i) != Some(&b'{') {
        return Err(broken(i, "not a CloudTrail file"));
    }
    i = skip_ws(buf, i + 1);
    let key_end = end_of_string(buf, i).ok_or(broken(i, "the file ends inside a key"))?;
    if buf.get(i..key_end) != Some(b"\"Records\"".as_slice()) {
        return Err(broken(i, "the first key is not Records"));
    }
    i = skip_ws(buf, key_end);
    if buf.get(i) != Some(&b':') {
        return Err(broken(i, "no value for Records"));
    }
    i = skip_ws(buf, i + 1);
    if buf.get(i) != Some(&b'[') {
        return Err(broken(i, "Records is not an array"));
    }
    Ok(i + 1)
}

/// Counts newlines quickly.
pub fn newlines(bytes: &[u8]) -> u64 {
    let mut n = 0;
    let mut rest = bytes;
    while let Some(i) = memchr(b'\n', rest) {
        n += 1;
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_end_where_their_braces_balance() {
        let doc = br#"{"a":"}{","b":{"c":"\"}"}} , {"d":1}"#;
        assert_eq!(end_of_object(doc, 0), Some(26));
        assert_eq!(end_of_object(br#"{"a":{"b":1}"#, 0), None);
        assert_eq!(end_of_object(br#"{"a":"\"#, 0), None);
        assert_eq!(array_start(br#" { "Records" : [ ] }"#, false), Ok(16));
        assert_eq!(array_start(b"  [1]", true), Ok(3));
        assert!(array_start(br#"{"Other":[]}"#, false).is_err());
        assert!(array_start(br#"{"Records":{}}"#, false).is_err());
        assert_eq!(newlines(b"a\nb\n\nc"), 3);
    }
}
