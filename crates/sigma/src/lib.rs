//! Sigma rules in trailguard's detection engine.
//!
//! Rules load unchanged from YAML files (one or more documents each), from a
//! file or a folder. A rule whose `logsource` is AWS CloudTrail becomes an
//! engine rule ([`SigmaRule`]), indexed by the `eventName`s its condition
//! requires; its matches become candidate findings with the rule's title,
//! id, tags and level (mapped to GuardDuty's severity bands). Rules for other
//! log sources load but are not applied to CloudTrail.
//!
//! Bounds: a rule file is at most [`MAX_FILE_BYTES`]; a folder is walked at
//! most [`MAX_DEPTH`] deep.

pub mod condition;
pub mod correlation;
pub mod pattern;
pub mod rule;

use rule::{Compiled, Selection, text};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trailguard_detect::candidate::{Candidate, RuleRef};
use trailguard_detect::catalogue::FindingType;
use trailguard_detect::cloudtrail::Record;
use trailguard_detect::engine::{self, CloudTrailRule, Cx, On};
use yaml_rust2::{Yaml, YamlLoader};

pub const MAX_FILE_BYTES: u64 = 1 << 20;
pub const MAX_DEPTH: usize = 16;

/// A loaded Sigma detection rule.
#[derive(Clone)]
pub struct SigmaRule {
    pub id: String,
    /// The `name` correlation rules may call it by.
    pub name: Option<String>,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    pub file: String,
    /// Whether its log source is CloudTrail.
    pub cloudtrail: bool,
    selections: Vec<Selection>,
    condition: Compiled,
    names: Option<Vec<String>>,
    finding_type: Arc<FindingType>,
}

/// GuardDuty's severity for a Sigma level: the middle of its band.
pub fn severity(level: &str) -> f64 {
    match level {
        "critical" => 9.0,
        "high" => 8.0,
        "medium" => 5.0,
        "low" => 2.0,
        _ => 1.0,
    }
}

/// A map's member (`BadValue` when absent or not a map).
pub(crate) fn get<'y>(doc: &'y Yaml, key: &str) -> &'y Yaml {
    match doc {
        Yaml::Hash(h) => h
            .get(&Yaml::String(key.to_string()))
            .unwrap_or(&Yaml::BadValue),
        _ => &Yaml::BadValue,
    }
}

fn string(doc: &Yaml, key: &str) -> Option<String> {
    text(get(doc, key))
}

impl SigmaRule {
    /// Compiles one YAML document. `Ok(None)` for documents that are not
    /// detection rules (correlation rules, filters).
    pub fn compile(doc: &Yaml, file: &str) -> Result<Option<Self>, String> {
        let detection = get(doc, "detection");
        if matches!(detection, Yaml::BadValue) {
            return Ok(None);
        }
        let title = string(doc, "title").ok_or("the rule has no title")?;
        let id = string(doc, "id").unwrap_or_default();
        let name = string(doc, "name");
        let level = string(doc, "level")
            .unwrap_or_else(|| "medium".into())
            .to_ascii_lowercase();
        let tags = match get(doc, "tags") {
            Yaml::Array(items) => items.iter().filter_map(text).collect(),
            _ => Vec::new(),
        };
        let logsource = get(doc, "logsource");
        let product = string(logsource, "product")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let service = string(logsource, "service")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let cloudtrail = product == "aws" && service == "cloudtrail";
        let Yaml::Hash(map) = detection else {
            return Err("`detection` is not a map".into());
        };
        let mut names = Vec::new();
        let mut selections = Vec::new();
        let mut condition_text = None;
        for (k, v) in map {
            let key = text(k).ok_or("a selection name is not text")?;
            match key.as_str() {
                "condition" => {
                    condition_text = Some(match v {
                        Yaml::Array(items) => items
                            .iter()
                            .filter_map(text)
                            .map(|c| format!("({c})"))
                            .collect::<Vec<_>>()
                            .join(" or "),
                        other => text(other).ok_or("`condition` is not text")?,
                    });
                }
                "timeframe" => {}
                _ => {
                    selections.push(
                        rule::compile_selection(v)
                            .map_err(|e| format!("selection '{key}': {e}"))?,
                    );
                    names.push(key);
                }
            }
        }
        rule::check_counts(selections.len())?;
        let condition_text = condition_text.ok_or("the detection has no condition")?;
        let expr = condition::parse(&condition_text)?;
        let condition = rule::compile_expr(&expr, &names)?;
        let event_names = condition.event_names(&selections);
        let description = string(doc, "description").unwrap_or_else(|| title.clone());
        let finding_type = Arc::new(FindingType {
            name: format!("Sigma:IAMUser/{}", if id.is_empty() { &title } else { &id }),
            severity: severity(&level),
            resource_type: "AccessKey".into(),
            action_type: "AWS_API_CALL".into(),
            data_source: "CloudTrail management events".into(),
            title: title.clone(),
            description: description.trim().to_string(),
            resource_role: "ACTOR".into(),
        });
        Ok(Some(Self {
            id,
            name,
            title,
            level,
            tags,
            file: file.to_string(),
            cloudtrail,
            selections,
            condition,
            names: event_names,
            finding_type,
        }))
    }

    /// Whether the rule's detection holds for a record.
    pub fn matches(&self, r: &Record<'_>) -> bool {
        self.condition.holds(&self.selections, r)
    }
}

impl CloudTrailRule for SigmaRule {
    fn rule(&self) -> RuleRef {
        RuleRef::Sigma {
            id: self.id.clone(),
            title: self.title.clone(),
        }
    }
    fn on(&self) -> On {
        match &self.names {
            Some(n) => On::Names(n.clone()),
            None => On::Any,
        }
    }
    fn sees_service_calls(&self) -> bool {
        true
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if !self.matches(r) {
            return;
        }
        // One finding per rule and principal (a role's sessions are one).
        let key = format!("{}/{}", self.finding_type.name, r.principal());
        if let Some(c) = engine::api_call_keyed(&self.finding_type, "sigma", r, cx, key, out) {
            c.rule = self.rule();
            c.additional = json!({
                "sigma": {"id": self.id, "title": self.title, "level": self.level, "tags": self.tags}
            });
        }
    }
}

/// What loading found.
#[derive(Default)]
pub struct Loaded {
    pub rules: Vec<SigmaRule>,
    /// Files or documents that could not be loaded, and why.
    pub errors: Vec<(String, String)>,
    /// Documents that loaded but are not applied, and why.
    pub not_applied: Vec<(String, String)>,
    pub correlations: Vec<correlation::Correlation>,
}

/// The engine's rules and the correlations over them.
pub type Split = (Vec<Box<dyn CloudTrailRule>>, correlation::Correlations);

impl Loaded {
    /// The CloudTrail rules, as engine rules, and the correlations over them.
    /// A rule a correlation names makes findings of its own only when the
    /// correlation says `generate: true`. A correlation naming a rule that
    /// did not load is an error.
    pub fn split(self) -> Result<Split, Vec<(String, String)>> {
        self.split_with(true)
    }

    /// [`Self::split`]; with `silence` false, the rules correlations name
    /// make findings of their own whatever the correlation says (for a
    /// consumer that does not apply the correlations).
    pub fn split_with(mut self, silence: bool) -> Result<Split, Vec<(String, String)>> {
        let mut correlations = correlation::Correlations::default();
        let mut silenced: Vec<usize> = Vec::new();
        let mut errors = Vec::new();
        for c in std::mem::take(&mut self.correlations) {
            let mut named = Vec::new();
            for want in &c.rules {
                match self.rules.iter().position(|r| {
                    r.cloudtrail && (r.id == *want || r.name.as_deref() == Some(want))
                }) {
                    Some(i) => {
                        if let Some(r) = self.rules.get(i) {
                            named.push(r.clone());
                        }
                        if silence && !c.generate {
                            silenced.push(i);
                        }
                    }
                    None => errors.push((
                        c.file.clone(),
                        format!(
                            "the correlation names '{want}', which is not a loaded CloudTrail rule"
                        ),
                    )),
                }
            }
            correlations.push(c, named);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let rules = self
            .rules
            .into_iter()
            .enumerate()
            .filter(|(i, r)| r.cloudtrail && !silenced.contains(i))
            .map(|(_, r)| Box::new(r) as Box<dyn CloudTrailRule>)
            .collect();
        Ok((rules, correlations))
    }
}

/// The deepest nesting a rule file may have, and the most YAML events.
const MAX_YAML_DEPTH: usize = 64;
const MAX_YAML_EVENTS: usize = 200_000;

/// Walks a YAML text's events without building anything, refusing what the
/// loader would turn into unbounded work: aliases (each use is a copy, so a
/// few hundred bytes can expand to gigabytes), nesting deeper than
/// [`MAX_YAML_DEPTH`] (the loader recurses), more than [`MAX_YAML_EVENTS`].
fn vet(text: &str) -> Result<(), String> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    for _ in 0..MAX_YAML_EVENTS {
        let (event, _) = parser.next_token().map_err(|e| format!("not YAML: {e}"))?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => return Err("YAML aliases are not accepted in rules".into()),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(format!(
                        "the YAML nests deeper than {MAX_YAML_DEPTH} levels"
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Err(format!("the YAML has more than {MAX_YAML_EVENTS} nodes"))
}

/// Loads the rules of a YAML text.
pub fn load_text(text: &str, file: &str, into: &mut Loaded) {
    if let Err(e) = vet(text) {
        into.errors.push((file.to_string(), e));
        return;
    }
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            into.errors
                .push((file.to_string(), format!("not YAML: {e}")));
            return;
        }
    };
    for (i, doc) in docs.iter().enumerate() {
        if !matches!(get(doc, "correlation"), Yaml::BadValue) {
            match correlation::Correlation::compile(doc, file) {
                Ok(c) => into.correlations.push(c),
                Err(e) => into
                    .errors
                    .push((format!("{file} (document {})", i + 1), e)),
            }
            continue;
        }
        match SigmaRule::compile(doc, file) {
            Ok(Some(rule)) => {
                // A rule's id names its findings: two rules with one id would
                // count as one.
                let name = &rule.finding_type.name;
                if let Some(other) = into.rules.iter().find(|r| &r.finding_type.name == name) {
                    into.errors.push((
                        format!("{file} (document {})", i + 1),
                        format!("its id is also the id of a rule in {}", other.file),
                    ));
                } else {
                    into.rules.push(rule);
                }
            }
            Ok(None) => {}
            Err(e) => into
                .errors
                .push((format!("{file} (document {})", i + 1), e)),
        }
    }
}

/// Loads a rule file, or every `.yml`/`.yaml` file under a folder (sorted).
pub fn load(path: &Path, into: &mut Loaded) {
    visit(path, into, 0);
}

fn visit(path: &Path, into: &mut Loaded, depth: usize) {
    let shown = path.display().to_string();
    if depth > MAX_DEPTH {
        into.errors.push((shown, "folders nest too deeply".into()));
        return;
    }
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                into.errors.push((shown, e.to_string()));
                return;
            }
        };
        entries.sort();
        for e in entries {
            let yaml = e.extension().is_some_and(|x| x == "yml" || x == "yaml");
            // Links to folders are not followed: a link back up never ends.
            let folder = std::fs::symlink_metadata(&e).is_ok_and(|m| m.is_dir());
            if folder || (yaml && !e.is_dir()) {
                visit(&e, into, depth + 1);
            }
        }
        return;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            into.errors
                .push((shown, format!("larger than {} KiB", MAX_FILE_BYTES >> 10)));
        }
        Ok(_) => match std::fs::read_to_string(path) {
            Ok(t) => load_text(&t, &shown, into),
            Err(e) => into.errors.push((shown, e.to_string())),
        },
        Err(e) => into.errors.push((shown, e.to_string())),
    }
}

#[cfg(test)]
mod tests;
