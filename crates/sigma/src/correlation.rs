//! Sigma correlation rules: `event_count`, `value_count` and `temporal`
//! over the matches of the rules they name, grouped by field values, within a
//! time span of event time.
//!
//! Like the engine's other remembering detectors, they are split in two: a
//! record is turned into [`Hit`]s on any thread ([`Correlations::hits`]:
//! which correlated rules it matches, its group and value), and hits are fed
//! in input order to a [`Correlator`], which keeps, per correlation and group,
//! the matches inside the time span.
//!
//! Semantics (Sigma's correlation specification):
//! - `event_count`: at least (`gte`), more than (`gt`) or exactly (`eq`) N
//!   matches of the named rules in the span;
//! - `value_count`: as many distinct values of `condition.field`;
//! - `temporal`: every named rule matched at least once in the span (order
//!   not required).
//!
//! A correlation fires once for a window, then starts counting afresh.
//! `lt`/`lte` conditions (fire when too few) need a window's end and are
//! refused at load. The named rules make findings of their own only with
//! `generate: true`, as the specification says.
//!
//! Memory is bounded: at most [`MAX_GROUPS`] groups a correlation (the
//! oldest forgotten first) and [`MAX_WINDOW`] matches a group.

use crate::rule::text;
use crate::{SigmaRule, get};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use trailguard_detect::candidate::{Candidate, EventRef, Origin, RuleRef};
use trailguard_detect::catalogue::FindingType;
use trailguard_detect::cloudtrail::{Field, Record};
use trailguard_detect::engine::{self, Cx, NoFacts};
use trailguard_detect::intel::Intel;
use yaml_rust2::Yaml;

pub const MAX_GROUPS: usize = 100_000;
/// The most matches a group's window holds; thresholds above it are refused.
pub const MAX_WINDOW: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Gt,
    Gte,
    Eq,
}

/// A correlation rule.
pub struct Correlation {
    pub id: String,
    pub title: String,
    pub file: String,
    kind: Kind,
    /// The names or ids of the rules it correlates.
    pub rules: Vec<String>,
    group_by: Vec<String>,
    timespan: i64,
    compare: Compare,
    threshold: u64,
    field: Option<String>,
    pub generate: bool,
    finding_type: Arc<FindingType>,
}

fn list(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        one => text(one).into_iter().collect(),
    }
}

/// `30s`, `5m`, `1h`, `2d` in seconds.
fn span(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult).filter(|v| *v > 0)
}

impl Correlation {
    /// Compiles a YAML document with a `correlation` section.
    pub fn compile(doc: &Yaml, file: &str) -> Result<Self, String> {
        let c = get(doc, "correlation");
        let title = text(get(doc, "title")).ok_or("the correlation has no title")?;
        let id = text(get(doc, "id")).unwrap_or_else(|| title.clone());
        let kind = match text(get(c, "type")).as_deref() {
            Some("event_count") => Kind::EventCount,
            Some("value_count") => Kind::ValueCount,
            Some("temporal") => Kind::Temporal,
            Some(other) => return Err(format!("correlation type '{other}' is not supported")),
            None => return Err("the correlation has no type".into()),
        };
        let mut rules = list(get(c, "rules"));
        // A rule named twice counts once.
        let mut seen = std::collections::HashSet::new();
        rules.retain(|r| seen.insert(r.clone()));
        if rules.is_empty() {
            return Err("the correlation names no rules".into());
        }
        let group_by = list(get(c, "group-by"));
        let timespan = text(get(c, "timespan"))
            .as_deref()
            .and_then(span)
            .ok_or("the correlation's timespan is not like 30s, 5m, 1h or 2d")?;
        let condition = get(c, "condition");
        let (compare, threshold) = match kind {
            Kind::Temporal => (Compare::Gte, rules.len() as u64),
            _ => {
                let pick = |k: &str| text(get(condition, k)).and_then(|v| v.parse::<u64>().ok());
                if let Some(n) = pick("gte") {
                    (Compare::Gte, n)
                } else if let Some(n) = pick("gt") {
                    (Compare::Gt, n)
                } else if let Some(n) = pick("eq") {
                    (Compare::Eq, n)
                } else if pick("lt").is_some() || pick("lte").is_some() {
                    return Err(
                        "lt and lte conditions need a window's end and are not supported".into(),
                    );
                } else {
                    return Err("the correlation's condition has no gte, gt or eq".into());
                }
            }
        };
        if threshold > MAX_WINDOW as u64 {
            return Err(format!(
                "a correlation threshold above {MAX_WINDOW} is not supported"
            ));
        }
        let field = text(get(condition, "field"));
        if kind == Kind::ValueCount && field.is_none() {
            return Err("a value_count correlation needs condition.field".into());
        }
        let generate = matches!(get(c, "generate"), Yaml::Boolean(true));
        let level = text(get(doc, "level"))
            .unwrap_or_else(|| "medium".into())
            .to_ascii_lowercase();
        let description = text(get(doc, "description")).unwrap_or_else(|| title.clone());
        let finding_type = Arc::new(FindingType {
            name: format!("Sigma:IAMUser/{id}"),
            severity: crate::severity(&level),
            resource_type: "AccessKey".into(),
            action_type: "AWS_API_CALL".into(),
            data_source: "CloudTrail management events".into(),
            title: title.clone(),
            description: description.trim().to_string(),
            resource_role: "ACTOR".into(),
        });
        Ok(Self {
            id,
            title,
            file: file.to_string(),
            kind,
            rules,
            group_by,
            timespan,
            compare,
            threshold: threshold.max(1),
            field,
            generate,
            finding_type,
        })
    }
}

/// A record's match of a correlated rule.
#[derive(Debug, Clone)]
pub struct Hit {
    correlation: usize,
    /// Which of the correlation's rules matched.
    rule: usize,
    group: String,
    value: Option<String>,
    time: i64,
    event: EventRef,
    /// The record, to build the finding from if the correlation fires (kept
    /// for a window's newest match only).
    record: Option<Arc<str>>,
}

/// The correlations and the rules they name.
#[derive(Default)]
pub struct Correlations {
    pub list: Vec<Correlation>,
    /// For each correlation, its rules (compiled apart from the engine's).
    rules: Vec<Vec<SigmaRule>>,
}

fn value_text(f: Field<'_>) -> String {
    match f {
        Field::Missing => String::new(),
        Field::Str(s) => s.to_string(),
        Field::Json(v) => v.as_str().map_or_else(|| v.to_string(), str::to_string),
    }
}

impl Correlations {
    pub fn push(&mut self, c: Correlation, rules: Vec<SigmaRule>) {
        self.list.push(c);
        self.rules.push(rules);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// What a record contributes to the correlations.
    pub fn hits(&self, r: &Record<'_>, origin: Option<Origin>, out: &mut Vec<Hit>) {
        for (ci, (c, rules)) in self.list.iter().zip(&self.rules).enumerate() {
            for (ri, rule) in rules.iter().enumerate() {
                if !rule.matches(r) {
                    continue;
                }
                // A record without a group-by field is in no group (as Sigma's
                // backends group); values are kept apart as a JSON array.
                let mut values = Vec::with_capacity(c.group_by.len());
                for g in &c.group_by {
                    match r.field(g) {
                        Field::Missing => break,
                        f => values.push(serde_json::Value::String(value_text(f))),
                    }
                }
                if values.len() < c.group_by.len() {
                    continue;
                }
                let group = serde_json::Value::Array(values).to_string();
                out.push(Hit {
                    correlation: ci,
                    rule: ri,
                    group,
                    value: c.field.as_deref().map(|f| value_text(r.field(f))),
                    time: r.time().unix_timestamp(),
                    event: EventRef {
                        event_id: r.event_id().to_string(),
                        origin,
                    },
                    record: Some(Arc::from(r.text())),
                });
            }
        }
    }
}

#[derive(Default)]
struct Window {
    hits: VecDeque<Hit>,
    last: i64,
}

/// The correlations' windows, fed hits in input order.
#[derive(Default)]
pub struct Correlator {
    windows: Vec<HashMap<String, Window>>,
}

impl Correlator {
    pub fn observe(&mut self, correlations: &Correlations, hit: Hit, out: &mut Vec<Candidate>) {
        let Some(c) = correlations.list.get(hit.correlation) else {
            return;
        };
        while self.windows.len() <= hit.correlation {
            self.windows.push(HashMap::new());
        }
        let Some(groups) = self.windows.get_mut(hit.correlation) else {
            return;
        };
        if !groups.contains_key(&hit.group) && groups.len() >= MAX_GROUPS {
            // Forget the least recently matched tenth at once.
            let mut ages: Vec<(i64, String)> =
                groups.iter().map(|(k, w)| (w.last, k.clone())).collect();
            let cut = (ages.len() / 10).max(1);
            ages.select_nth_unstable(cut - 1);
            for (_, k) in ages.iter().take(cut) {
                groups.remove(k);
            }
        }
        let key = hit.group.clone();
        let w = groups.entry(key.clone()).or_default();
        w.last = w.last.max(hit.time);
        // Kept in time order, so a late record lands where it belongs and
        // only what is older than the span before the newest match leaves.
        for older in w.hits.iter_mut() {
            older.record = None;
        }
        let at = w.hits.partition_point(|h| h.time <= hit.time);
        w.hits.insert(at, hit);
        let horizon = w.last - c.timespan;
        while w.hits.front().is_some_and(|h| h.time < horizon) {
            w.hits.pop_front();
        }
        while w.hits.len() > MAX_WINDOW {
            w.hits.pop_front();
        }
        let measure = match c.kind {
            Kind::EventCount => w.hits.len() as u64,
            Kind::ValueCount => {
                let mut values: Vec<&str> =
                    w.hits.iter().filter_map(|h| h.value.as_deref()).collect();
                values.sort_unstable();
                values.dedup();
                values.len() as u64
            }
            Kind::Temporal => {
                let mut rules: Vec<usize> = w.hits.iter().map(|h| h.rule).collect();
                rules.sort_unstable();
                rules.dedup();
                rules.len() as u64
            }
        };
        let fires = match c.compare {
            Compare::Gte => measure >= c.threshold,
            Compare::Gt => measure > c.threshold,
            Compare::Eq => measure == c.threshold,
        };
        if !fires {
            return;
        }
        let hits: Vec<Hit> = w.hits.drain(..).collect();
        groups.remove(&key);
        if let Some(candidate) = finding(c, &hits) {
            out.push(candidate);
        }
    }
}

/// The finding a firing correlation makes: described by its last match, with
/// every match in the window as its events.
fn finding(c: &Correlation, hits: &[Hit]) -> Option<Candidate> {
    let last = hits.iter().rev().find(|h| h.record.is_some())?;
    let r = Record::parse(last.record.as_deref()?).ok()?;
    let intel = Intel::default();
    let mut facts = NoFacts;
    let cx = Cx {
        intel: &intel,
        facts: &mut facts,
        origin: last.event.origin,
        seen: None,
    };
    let mut cand = engine::api_call(c.finding_type.clone(), "sigma", &r, &cx);
    cand.rule = RuleRef::Sigma {
        id: c.id.clone(),
        title: c.title.clone(),
    };
    cand.aggregation_key = format!("{}/{}", c.finding_type.name, last.group);
    cand.events = hits.iter().map(|h| h.event.clone()).collect();
    cand.event_time = r.time();
    cand.additional = json!({"sigma": {"id": c.id, "title": c.title, "correlation": format!("{:?}", c.kind), "group": last.group, "matches": hits.len()}});
    Some(cand)
}
