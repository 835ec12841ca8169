//! A Sigma rule: its metadata, and its detection compiled to matchers.
//!
//! Detection semantics follow the Sigma specification: a selection that is a
//! map holds when every field condition holds; a list of maps when any map
//! holds; a list of plain values is a keyword search over the whole record.
//! A field's list of values holds when any value matches (every value with
//! `all`). `null` holds for a field that is absent or null. A field holding
//! a list holds when any element matches.

use crate::condition::{self, Expr};
use crate::pattern::{Compare, Pattern};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use regex::RegexBuilder;
use serde_json::Value as Json;
use trailguard_detect::cloudtrail::{Field, Record};
use yaml_rust2::Yaml;

/// One value a field condition accepts.
#[derive(Debug, Clone)]
pub enum Accept {
    Pattern(Pattern),
    /// The field is absent or null.
    Null,
}

/// How a fieldref compares the two fields.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RefMode {
    Equal,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone)]
enum Test {
    Values {
        accept: Vec<Accept>,
        all: bool,
    },
    Exists(bool),
    /// `neq`: the field is present and matches none of the values.
    NotEqual(Vec<Accept>),
    FieldRef {
        others: Vec<String>,
        all: bool,
        mode: RefMode,
        cased: bool,
    },
}

/// One field condition (`field|modifiers: values`); no field for keywords.
#[derive(Debug, Clone)]
pub struct Condition {
    field: Option<String>,
    test: Test,
}

/// A selection.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Any of these maps, each holding when all its conditions hold.
    AnyOf(Vec<Vec<Condition>>),
}

/// The compiled condition: selections by index.
#[derive(Debug, Clone)]
pub enum Compiled {
    Sel(usize),
    Not(Box<Compiled>),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    /// At least `n` of these (all when `n` is 0).
    AtLeast(usize, Vec<usize>),
}

/// The most wildcards in one value: matching takes at most the value's
/// length times this many steps.
const MAX_WILDCARDS: usize = 32;

/// The most values a rule may list, and the most selections.
const MAX_VALUES: usize = 10_000;
const MAX_SELECTIONS: usize = 1_000;

pub fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The wide (UTF-16) encodings of a value.
fn utf16(value: &str, le: bool) -> Vec<u8> {
    value
        .encode_utf16()
        .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
        .collect()
}

/// The three shifted base64 encodings of a value, as pySigma makes them.
fn base64_offsets(value: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    (0..3usize)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(value);
            let enc = B64.encode(&shifted);
            let end = match (value.len() + i) % 3 {
                1 => enc.len().saturating_sub(3),
                2 => enc.len().saturating_sub(2),
                _ => enc.len(),
            };
            enc.get(START.get(i).copied().unwrap_or(0)..end)
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Escapes Sigma's wildcard characters in text that must match literally.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Compiles `field|modifiers: values`.
fn compile_condition(key: Option<&str>, value: &Yaml) -> Result<Condition, String> {
    let mut parts = key.unwrap_or_default().split('|');
    let field = parts.next().unwrap_or_default();
    let field = (!field.is_empty()).then(|| field.to_string());
    let modifiers: Vec<&str> = parts.collect();
    let values: Vec<&Yaml> = match value {
        Yaml::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    if values.len() > MAX_VALUES {
        return Err(format!("a field lists more than {MAX_VALUES} values"));
    }
    let has = |m: &str| modifiers.contains(&m);
    for m in &modifiers {
        if !matches!(
            *m,
            "contains"
                | "startswith"
                | "endswith"
                | "all"
                | "base64"
                | "base64offset"
                | "utf16le"
                | "utf16be"
                | "utf16"
                | "wide"
                | "windash"
                | "re"
                | "i"
                | "ignorecase"
                | "multiline"
                | "dotall"
                | "neq"
                | "m"
                | "s"
                | "cidr"
                | "exists"
                | "cased"
                | "gt"
                | "gte"
                | "lt"
                | "lte"
                | "fieldref"
        ) {
            return Err(format!("the value modifier '{m}' is not supported"));
        }
    }
    let all = has("all");
    let cased = has("cased");
    if has("exists") {
        let want = match values.as_slice() {
            [Yaml::Boolean(b)] => *b,
            [other] => text(other).is_some_and(|t| t.eq_ignore_ascii_case("true")),
            _ => return Err("`exists` takes one boolean".into()),
        };
        return Ok(Condition {
            field,
            test: Test::Exists(want),
        });
    }
    if has("fieldref") {
        let others = values.iter().filter_map(|v| text(v)).collect();
        let mode = if has("contains") {
            RefMode::Contains
        } else if has("startswith") {
            RefMode::StartsWith
        } else if has("endswith") {
            RefMode::EndsWith
        } else {
            RefMode::Equal
        };
        return Ok(Condition {
            field,
            test: Test::FieldRef {
                others,
                all,
                mode,
                cased,
            },
        });
    }
    let mut accept = Vec::new();
    for v in values {
        if matches!(v, Yaml::Null) {
            accept.push(Accept::Null);
            continue;
        }
        let Some(raw) = text(v) else {
            return Err("a value is neither text, a number, a boolean nor null".into());
        };
        if has("re") {
            let re = RegexBuilder::new(&raw)
                .case_insensitive(has("i") || has("ignorecase"))
                .multi_line(has("m") || has("multiline"))
                .dot_matches_new_line(has("s") || has("dotall"))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("a regular expression does not compile: {e}"))?;
            let ignore_case = has("i") || has("ignorecase");
            accept.push(Accept::Pattern(Pattern::regex(re, &raw, ignore_case)));
            continue;
        }
        if has("cidr") {
            accept.push(Accept::Pattern(Pattern::cidr(&[raw.as_str()])?));
            continue;
        }
        let compare = [
            ("gt", Compare::Gt),
            ("gte", Compare::Gte),
            ("lt", Compare::Lt),
            ("lte", Compare::Lte),
        ]
        .into_iter()
        .find(|(m, _)| has(m));
        if let Some((_, op)) = compare {
            let value = raw
                .parse::<f64>()
                .map_err(|_| format!("'{raw}' is not a number"))?;
            accept.push(Accept::Pattern(Pattern::Number { op, value }));
            continue;
        }
        // Value transformations, in Sigma's order: windash, wide, base64, then
        // the wildcard modifiers.
        let mut variants: Vec<String> = vec![raw.clone()];
        if has("windash") {
            variants = variants
                .iter()
                .flat_map(|v| {
                    DASHES.iter().map(move |d| {
                        v.chars()
                            .map(|c| if c == '-' || c == '/' { *d } else { c })
                            .collect::<String>()
                    })
                })
                .collect();
            variants.dedup();
        }
        let wide = if has("utf16le") || has("wide") || has("utf16") {
            Some(true)
        } else if has("utf16be") {
            Some(false)
        } else {
            None
        };
        let encoded = has("base64") || has("base64offset");
        if wide.is_some() && !encoded {
            return Err("`wide` and `utf16` need `base64` or `base64offset` after them".into());
        }
        if encoded {
            variants = variants
                .iter()
                .flat_map(|v| {
                    let mut bytes = match wide {
                        Some(le) => utf16(v, le),
                        None => v.as_bytes().to_vec(),
                    };
                    if has("utf16") {
                        let mut bom = vec![0xff, 0xfe];
                        bom.append(&mut bytes);
                        bytes = bom;
                    }
                    if has("base64offset") {
                        base64_offsets(&bytes)
                    } else {
                        vec![B64.encode(&bytes)]
                    }
                })
                .map(|v| escape(&v))
                .collect();
        }
        for v in variants {
            // A value ending in a lone (literal) backslash keeps it literal
            // when a wildcard is put after it: `\*` would escape the star.
            let trailing = v.chars().rev().take_while(|c| *c == '\\').count();
            let tail = if trailing % 2 == 1 { "\\" } else { "" };
            let pattern = if has("contains") {
                format!("*{v}{tail}*")
            } else if has("startswith") {
                format!("{v}{tail}*")
            } else if has("endswith") {
                format!("*{v}")
            } else {
                v
            };
            let wildcards = pattern.matches(['*', '?']).count();
            if wildcards > MAX_WILDCARDS {
                return Err(format!(
                    "a value has more than {MAX_WILDCARDS} wildcards (matching costs grow with each)"
                ));
            }
            accept.push(Accept::Pattern(Pattern::string(&pattern, cased)));
        }
    }
    if has("neq") {
        return Ok(Condition {
            field,
            test: Test::NotEqual(accept),
        });
    }
    Ok(Condition {
        field,
        test: Test::Values { accept, all },
    })
}

/// Compiles one selection's YAML.
pub fn compile_selection(value: &Yaml) -> Result<Selection, String> {
    let map_conditions = |h: &yaml_rust2::yaml::Hash| -> Result<Vec<Condition>, String> {
        h.iter()
            .map(|(k, v)| {
                let key = text(k).ok_or("a field name is not text")?;
                compile_condition(Some(&key), v)
            })
            .collect()
    };
    match value {
        Yaml::Hash(h) => Ok(Selection::AnyOf(vec![map_conditions(h)?])),
        Yaml::Array(items)
            if items.iter().all(|i| matches!(i, Yaml::Hash(_))) && !items.is_empty() =>
        {
            let mut maps = Vec::new();
            for i in items {
                if let Yaml::Hash(h) = i {
                    maps.push(map_conditions(h)?);
                }
            }
            Ok(Selection::AnyOf(maps))
        }
        Yaml::Array(_) | Yaml::String(_) | Yaml::Integer(_) | Yaml::Real(_) => {
            // Keywords: matched anywhere in the record, as `contains`.
            let keywords = Yaml::Hash(
                std::iter::once((Yaml::String("|contains".into()), value.clone())).collect(),
            );
            match keywords {
                Yaml::Hash(h) => Ok(Selection::AnyOf(vec![map_conditions(&h)?])),
                _ => Err("unreachable".into()),
            }
        }
        _ => Err("a selection is neither a map, a list nor a keyword".into()),
    }
}

/// Resolves a condition against the selection names.
pub fn compile_expr(e: &Expr, names: &[String]) -> Result<Compiled, String> {
    Ok(match e {
        Expr::Name(n) => Compiled::Sel(
            names
                .iter()
                .position(|x| x == n)
                .ok_or_else(|| format!("the condition names '{n}', which is not a selection"))?,
        ),
        Expr::Not(inner) => Compiled::Not(Box::new(compile_expr(inner, names)?)),
        Expr::And(items) => Compiled::And(
            items
                .iter()
                .map(|i| compile_expr(i, names))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(items) => Compiled::Or(
            items
                .iter()
                .map(|i| compile_expr(i, names))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Of { at_least, pattern } => {
            let picked: Vec<usize> = names
                .iter()
                .enumerate()
                // Selections named with a leading `_` are left out of `them`
                // and of any pattern that does not itself start with `_`.
                .filter(|(_, n)| {
                    (pattern.starts_with('_') || !n.starts_with('_'))
                        && condition::name_matches(pattern, n)
                })
                .map(|(i, _)| i)
                .collect();
            if picked.is_empty() {
                return Err(format!("'{pattern}' in the condition matches no selection"));
            }
            Compiled::AtLeast(*at_least, picked)
        }
    })
}

pub fn check_counts(selections: usize) -> Result<(), String> {
    if selections > MAX_SELECTIONS {
        return Err(format!("more than {MAX_SELECTIONS} selections"));
    }
    Ok(())
}

/// A field's value as the texts it offers to matching: a scalar's text, each
/// element of a list, or an object's JSON.
fn with_texts(field: Field<'_>, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match field {
        Field::Missing => false,
        Field::Str(s) => f(s),
        Field::Json(v) => json_texts(v, f, 0),
    }
}

fn json_texts(v: &Json, f: &mut dyn FnMut(&str) -> bool, depth: usize) -> bool {
    match v {
        Json::Null => false,
        Json::String(s) => f(s),
        Json::Bool(b) => f(if *b { "true" } else { "false" }),
        Json::Number(n) => f(&n.to_string()),
        Json::Array(items) if depth == 0 => items.iter().any(|i| json_texts(i, f, depth + 1)),
        other => f(&other.to_string()),
    }
}

/// Every scalar value in a document (keyword searches), depth first.
fn leaves(v: &Json, f: &mut dyn FnMut(&str) -> bool, depth: usize) -> bool {
    if depth > 128 {
        return false;
    }
    match v {
        Json::Object(m) => m.values().any(|x| leaves(x, f, depth + 1)),
        Json::Array(items) => items.iter().any(|x| leaves(x, f, depth + 1)),
        scalar => json_texts(scalar, f, 1),
    }
}

/// The value of a field as one text (for fieldref).
fn one_text(field: Field<'_>) -> Option<String> {
    match field {
        Field::Missing => None,
        Field::Str(s) => Some(s.to_string()),
        Field::Json(Json::String(s)) => Some(s.clone()),
        Field::Json(v) => Some(v.to_string()),
    }
}

impl Condition {
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The exact, case-insensitive values of an `eventName` (or other)
    /// equality, if that is all this condition is.
    pub fn exact_values(&self) -> Option<Vec<String>> {
        match &self.test {
            Test::Values { accept, all: false } => accept
                .iter()
                .map(|a| match a {
                    Accept::Pattern(p) => p.exact().map(|t| String::from_utf8_lossy(t).to_string()),
                    Accept::Null => None,
                })
                .collect(),
            _ => None,
        }
    }

    pub fn holds(&self, r: &Record<'_>) -> bool {
        let value = match &self.field {
            Some(f) => r.field(f),
            // Keywords: any value anywhere in the record (not its JSON text:
            // key names and escapes are not values).
            None => Field::Json(r.whole()),
        };
        match &self.test {
            Test::Exists(want) => !matches!(value, Field::Missing) == *want,
            Test::NotEqual(accept) => {
                !matches!(value, Field::Missing)
                    && !accept.iter().any(|a| match a {
                        Accept::Null => false,
                        Accept::Pattern(p) => with_texts(value, &mut |t| p.matches(t)),
                    })
            }
            Test::Values { accept, all } => {
                let keyword = self.field.is_none();
                let one = |a: &Accept| match a {
                    Accept::Null => matches!(value, Field::Missing),
                    Accept::Pattern(p) if keyword => match value {
                        Field::Json(doc) => leaves(doc, &mut |t| p.matches(t), 0),
                        _ => false,
                    },
                    Accept::Pattern(p) => with_texts(value, &mut |t| p.matches(t)),
                };
                if *all {
                    accept.iter().all(one)
                } else {
                    accept.iter().any(one)
                }
            }
            Test::FieldRef {
                others,
                all,
                mode,
                cased,
            } => {
                let Some(mine) = one_text(value) else {
                    return false;
                };
                let one = |other: &String| {
                    let Some(theirs) = one_text(r.field(other)) else {
                        return false;
                    };
                    let (a, b) = if *cased {
                        (mine.clone(), theirs)
                    } else {
                        (mine.to_ascii_lowercase(), theirs.to_ascii_lowercase())
                    };
                    match mode {
                        RefMode::Equal => a == b,
                        RefMode::Contains => a.contains(&b),
                        RefMode::StartsWith => a.starts_with(&b),
                        RefMode::EndsWith => a.ends_with(&b),
                    }
                };
                if *all {
                    others.iter().all(one)
                } else {
                    others.iter().any(one)
                }
            }
        }
    }
}

impl Selection {
    pub fn holds(&self, r: &Record<'_>) -> bool {
        match self {
            Selection::AnyOf(maps) => maps.iter().any(|m| m.iter().all(|c| c.holds(r))),
        }
    }

    /// The `eventName`s this selection requires, if it requires one.
    pub fn event_names(&self) -> Option<Vec<String>> {
        let Selection::AnyOf(maps) = self;
        let mut names = Vec::new();
        for m in maps {
            let found = m
                .iter()
                .filter(|c| c.field() == Some("eventName"))
                .find_map(Condition::exact_values)?;
            names.extend(found);
        }
        Some(names)
    }
}

impl Compiled {
    pub fn holds(&self, sel: &[Selection], r: &Record<'_>) -> bool {
        let s = |i: &usize| sel.get(*i).is_some_and(|x| x.holds(r));
        match self {
            Compiled::Sel(i) => s(i),
            Compiled::Not(e) => !e.holds(sel, r),
            Compiled::And(items) => items.iter().all(|e| e.holds(sel, r)),
            Compiled::Or(items) => items.iter().any(|e| e.holds(sel, r)),
            Compiled::AtLeast(0, items) => items.iter().all(s),
            Compiled::AtLeast(n, items) => items.iter().filter(|i| s(i)).count() >= *n,
        }
    }

    /// The `eventName`s a record must have for the condition to hold, when
    /// the condition says (used to index the rule); `None` when any may.
    pub fn event_names(&self, sel: &[Selection]) -> Option<Vec<String>> {
        match self {
            Compiled::Sel(i) => sel.get(*i)?.event_names(),
            Compiled::Not(_) => None,
            Compiled::And(items) => items.iter().find_map(|e| e.event_names(sel)),
            Compiled::Or(items) => {
                let mut all = Vec::new();
                for e in items {
                    all.extend(e.event_names(sel)?);
                }
                Some(all)
            }
            Compiled::AtLeast(0, items) => items.iter().find_map(|i| sel.get(*i)?.event_names()),
            Compiled::AtLeast(_, items) => {
                let mut all = Vec::new();
                for i in items {
                    all.extend(sel.get(*i)?.event_names()?);
                }
                Some(all)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_offsets_match_the_reference() {
        // The three shifted encodings of "/bin/bash", as Sigma's
        // specification lists them.
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }
}
