//! Where each statement sits in a policy's text, for the simulator's
//! `StartPosition`/`EndPosition` (1-based line and column).

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

fn position_at(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |i| {
        before.get(i + 1..).unwrap_or("").chars().count()
    }) + 1;
    Position { line, column }
}

/// The JSON text's structural events: `(offset, byte)` for every `{ [ } ] :`
/// and string start outside strings, with the string's end for strings.
fn structure(bytes: &[u8]) -> Vec<(usize, u8, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                out.push((start, b'"', i));
            }
            b'{' | b'[' | b'}' | b']' | b':' => out.push((i, b, i)),
            _ => {}
        }
        i += 1;
    }
    out
}

/// The start and end of each statement in `text`, in order. A single statement
/// object (`"Statement": {...}`) counts as statement 0.
pub fn statement_spans(text: &str) -> Vec<(Position, Position)> {
    let events = structure(text.as_bytes());
    // Find the top-level "Statement" key and the container that is its value.
    let mut depth = 0i32;
    let mut value_at = None;
    for (k, &(start, b, end)) in events.iter().enumerate() {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'"' if depth == 1 && text.get(start + 1..end) == Some("Statement") => {
                // The key, then the colon, then the value's opening bracket.
                value_at = events.get(k + 2).map(|_| k + 2);
                break;
            }
            _ => {}
        }
    }
    let Some(first) = value_at else {
        return Vec::new();
    };
    let Some(&(_, open, _)) = events.get(first) else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    let mut depth = 0i32;
    let mut current = None;
    // A lone object is statement 0; in an array, each depth-1 object is one.
    let element_depth = if open == b'{' { 0 } else { 1 };
    for &(offset, b, _) in events.get(first..).unwrap_or_default() {
        match b {
            b'{' | b'[' => {
                if depth == element_depth && b == b'{' {
                    current = Some(offset);
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == element_depth
                    && let Some(start) = current.take()
                {
                    spans.push((position_at(text, start), position_at(text, offset + 1)));
                }
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"a:{b}\", \"Resource\": \"*\"},\n    {\"Effect\": \"Deny\"}\n  ]\n}";
        let s = statement_spans(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, Position { line: 4, column: 5 });
        assert_eq!(
            s[0].1,
            Position {
                line: 4,
                column: 60
            }
        );
        assert_eq!(s[1].0, Position { line: 5, column: 5 });
        let single = statement_spans(r#"{"Statement":{"Effect":"Allow"}}"#);
        assert_eq!(
            single,
            vec![(
                Position {
                    line: 1,
                    column: 14
                },
                Position {
                    line: 1,
                    column: 32
                }
            )]
        );
        assert!(statement_spans("not json").is_empty());
        assert!(statement_spans(r#"{"Statement""#).is_empty());
    }
}
