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

/// The start and end of each statement in `text`, in order. A single statement
/// object (`"Statement": {...}`) counts as statement 0.
pub fn statement_spans(text: &str) -> Vec<(Position, Position)> {
    let bytes = text.as_bytes();
    // Find the value of the top-level "Statement" key.
    let mut depth = 0i32;
    let mut i = 0usize;
    let mut in_string = false;
    let mut key_start = None;
    let mut value_start = None;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(b' ');
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if let Some(start) = key_start.take()
                        && depth == 1
                        && text.get(start + 1..i) == Some("Statement")
                    {
                        // Skip to the value after the colon.
                        let mut j = i + 1;
                        while bytes
                            .get(j)
                            .is_some_and(|c| c.is_ascii_whitespace() || *c == b':')
                        {
                            j += 1;
                        }
                        value_start = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => {
                    in_string = true;
                    key_start = Some(i);
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    let Some(start) = value_start else {
        return Vec::new();
    };
    let elements = match bytes.get(start) {
        Some(b'{') => vec![start],
        Some(b'[') => {
            // Each element of the array starts at depth 1 inside it.
            let mut out = Vec::new();
            let mut d = 0i32;
            let mut s = false;
            let mut k = start;
            while k < bytes.len() {
                let c = bytes.get(k).copied().unwrap_or(b' ');
                if s {
                    if c == b'\\' {
                        k += 1;
                    } else if c == b'"' {
                        s = false;
                    }
                } else {
                    match c {
                        b'"' => s = true,
                        b'{' => {
                            if d == 1 {
                                out.push(k);
                            }
                            d += 1;
                        }
                        b'[' => d += 1,
                        b'}' | b']' => {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                k += 1;
            }
            out
        }
        _ => Vec::new(),
    };
    elements
        .into_iter()
        .map(|from| {
            // The matching close brace.
            let mut d = 0i32;
            let mut s = false;
            let mut k = from;
            while k < bytes.len() {
                let c = bytes.get(k).copied().unwrap_or(b' ');
                if s {
                    if c == b'\\' {
                        k += 1;
                    } else if c == b'"' {
                        s = false;
                    }
                } else {
                    match c {
                        b'"' => s = true,
                        b'{' | b'[' => d += 1,
                        b'}' | b']' => {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                k += 1;
            }
            (
                position_at(text, from),
                position_at(text, (k + 1).min(text.len())),
            )
        })
        .collect()
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
    }
}
