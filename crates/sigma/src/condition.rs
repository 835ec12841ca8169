//! Sigma's condition language: selection names combined with `and`, `or`,
//! `not` and parentheses, and `1 of`/`all of`/`N of` a name pattern (`*` as a
//! wildcard) or `them`. `and` binds tighter than `or`; `not` tighter than
//! both. The old aggregation syntax (`| count() > 5`) is refused: Sigma
//! expresses it as correlation rules now.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `N of pattern`: at least `N` (`0` meaning all) of the selections whose
    /// names match.
    Of {
        at_least: usize,
        pattern: String,
    },
}

/// The deepest nesting accepted.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | ' ' | '\t' | '\n' | '\r' => {
                if !word.is_empty() {
                    out.push(Token::Word(std::mem::take(&mut word)));
                }
                if c == '(' {
                    out.push(Token::Open);
                } else if c == ')' {
                    out.push(Token::Close);
                }
            }
            '|' => {
                return Err(
                    "aggregations in conditions (`|`) are not Sigma 2; use a correlation rule"
                        .into(),
                );
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(Token::Word(word));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn keyword(&self, k: &str) -> bool {
        self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(k))
    }

    fn or(&mut self, depth: usize) -> Result<Expr, String> {
        let mut items = vec![self.and(depth)?];
        while self.keyword("or") {
            self.at += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, String> {
        let mut items = vec![self.not(depth)?];
        while self.keyword("and") {
            self.at += 1;
            items.push(self.not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err("the condition nests too deeply".into());
        }
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let e = self.or(depth + 1)?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("a parenthesis in the condition is not closed".into());
                }
                self.at += 1;
                Ok(e)
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                let quantity = if w.eq_ignore_ascii_case("all") {
                    Some(0)
                } else {
                    w.parse::<usize>().ok().filter(|n| *n > 0)
                };
                if let Some(at_least) = quantity
                    && self.keyword("of")
                {
                    self.at += 1;
                    let Some(pattern) = self.peek_word().map(str::to_string) else {
                        return Err(format!("`{w} of` names no selections"));
                    };
                    self.at += 1;
                    return Ok(Expr::Of { at_least, pattern });
                }
                if ["and", "or", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    return Err(format!("`{w}` where a selection was expected"));
                }
                Ok(Expr::Name(w))
            }
            Some(Token::Close) => Err("an unopened parenthesis in the condition".into()),
            None => Err("the condition ends where a selection was expected".into()),
        }
    }
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let e = p.or(0)?;
    if p.at != p.tokens.len() {
        return Err("the condition has words after its end".into());
    }
    Ok(e)
}

/// Whether a selection name matches an `of` pattern (`them` is every name;
/// `*` is any run of characters).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern == "them" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return true;
    };
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = remaining.get(i + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_quantifiers() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Expr::Or(vec![
                Expr::Name("a".into()),
                Expr::And(vec![
                    Expr::Name("b".into()),
                    Expr::Not(Box::new(Expr::Name("c".into())))
                ])
            ])
        );
        assert_eq!(
            parse("selection and not 1 of filter_main_*").unwrap(),
            Expr::And(vec![
                Expr::Name("selection".into()),
                Expr::Not(Box::new(Expr::Of {
                    at_least: 1,
                    pattern: "filter_main_*".into()
                }))
            ])
        );
        assert_eq!(
            parse("all of them").unwrap(),
            Expr::Of {
                at_least: 0,
                pattern: "them".into()
            }
        );
        assert!(matches!(parse("(a or b) and c").unwrap(), Expr::And(_)));
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a)").is_err());
        assert!(parse("sel | count() > 5").is_err());
        assert!(parse(&"(".repeat(500)).is_err());
        assert!(parse(&"not ".repeat(500)).is_err());
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("filter_*", "filter_main"));
        assert!(!name_matches("filter_*", "selection"));
        assert!(name_matches("*_status_*", "selection_status_ok"));
        assert!(name_matches("them", "x"));
        assert!(name_matches("sel", "sel") && !name_matches("sel", "sel2"));
    }
}
