//! Amazon Lex V1: the model-building API (bots, intents, slot types, aliases) and
//! the runtime (`PostText`, `PostContent` with text input).
//!
//! Creating the first bot creates `AWSServiceRoleForLexBots` (when the caller may);
//! when a response is wanted as speech, Lex assumes that role and calls Polly's
//! `SynthesizeSpeech` through it, leaving the records the seed post shows. Bots
//! keep the role from being deleted. Only the `$LATEST` version of each resource
//! exists; aliases point at it.

mod dialog;
mod values;

use crate::error::LexError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use dialog::{BotDef, IntentDef, Prompt, Session, SlotDef};
use serde_json::{Map, Value as Json, json};
use std::collections::HashMap;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::ops::Operation;
use trailguard_core::params::Params;
use trailguard_iam::linked::{self, LinkedResources};
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};

/// Lex's service principal.
pub const SERVICE: &str = "lex.amazonaws.com";

pub mod routes;

/// Lex V1 (model building and runtime share the signing name `lex`).
pub const DEF: ServiceDef = ServiceDef {
    routes: routes::ROUTES,
    large_bodies: true,
    ..ServiceDef::new("lex", "lex.amazonaws.com", Protocol::RestJson1)
};
const LATEST: &str = "$LATEST";

const NS_BOT: &str = "lex.bot";
const NS_INTENT: &str = "lex.intent";
const NS_SLOT_TYPE: &str = "lex.slottype";
const NS_ALIAS: &str = "lex.alias";
const NS_SESSION: &str = "lex.session";

/// The Lex operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::write("PutBot", bot_arn, put_bot),
    Operation::read("GetBot", bot_arn, get_bot),
    Operation::read("GetBots", any_bot, get_bots),
    Operation::write("DeleteBot", bot_arn, delete_bot),
    Operation::write("PutBotAlias", alias_arn, put_bot_alias),
    Operation::read("GetBotAlias", alias_arn, get_bot_alias),
    Operation::write("DeleteBotAlias", alias_arn, delete_bot_alias),
    Operation::write("PutIntent", intent_arn, put_intent),
    Operation::read("GetIntent", intent_arn, get_intent),
    Operation::read("GetIntents", any_intent, get_intents),
    Operation::write("DeleteIntent", intent_arn, delete_intent),
    Operation::write("PutSlotType", slot_type_arn, put_slot_type),
    Operation::read("GetSlotType", slot_type_arn, get_slot_type),
    Operation::read("GetSlotTypes", any_slot_type, get_slot_types),
    Operation::write("DeleteSlotType", slot_type_arn, delete_slot_type),
    Operation::read("PostText", runtime_arn, post_text),
    Operation::read("PostContent", runtime_arn, post_content),
];

fn arn(env: &Env<'_>, kind: &str, name: &str) -> String {
    format!(
        "arn:aws:lex:{}:{}:{kind}:{name}",
        env.ctx.region, env.account
    )
}

fn bot_arn(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(arn(env, "bot", p.opt_str("name")?.unwrap_or("*")))
}
fn any_bot(env: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok(arn(env, "bot", "*"))
}
fn alias_arn(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    let bot = p.opt_str("botName")?.unwrap_or("*");
    let alias = p.opt_str("name")?.unwrap_or("*");
    Ok(arn(env, "bot", &format!("{bot}:{alias}")))
}
fn intent_arn(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(arn(env, "intent", p.opt_str("name")?.unwrap_or("*")))
}
fn any_intent(env: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok(arn(env, "intent", "*"))
}
fn slot_type_arn(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(arn(env, "slottype", p.opt_str("name")?.unwrap_or("*")))
}
fn any_slot_type(env: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok(arn(env, "slottype", "*"))
}
fn runtime_arn(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    let bot = p.opt_str("botName")?.unwrap_or("*");
    let alias = p.opt_str("botAlias")?.unwrap_or("*");
    Ok(arn(env, "bot", &format!("{bot}:{alias}")))
}

fn key(env: &Env<'_>, name: &str) -> String {
    format!("{}/{}/{name}", env.account, env.ctx.region)
}

/// Lex's name rule for bots, intents and slot types: letters, single underscores.
fn check_name(member: &str, name: &str, max: usize) -> Result<()> {
    let mut prev_underscore = true;
    let valid = !name.is_empty()
        && name.len() <= max
        && name.chars().all(|c| {
            let ok = c.is_ascii_alphabetic() || (c == '_' && !prev_underscore);
            prev_underscore = c == '_';
            ok
        });
    if valid {
        Ok(())
    } else {
        Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([A-Za-z]_?)+$"
        )).into())
    }
}

/// The body members of a Put call, validated as JSON objects or lists where given.
fn body(p: Params<'_>, members: &[&str]) -> Map<String, Json> {
    members
        .iter()
        .filter_map(|m| {
            p.0.get(*m)
                .filter(|v| !v.is_null())
                .map(|v| ((*m).to_string(), v.clone()))
        })
        .collect()
}

/// Applies the checksum rule of every Put: a new resource takes none, an update
/// must name the current one.
fn check_checksum(existing: Option<&Json>, given: Option<&str>, what: &str) -> Result<()> {
    match (
        existing
            .and_then(|e| e.get("checksum"))
            .and_then(Json::as_str),
        given,
    ) {
        (None, None) => Ok(()),
        (Some(cur), Some(g)) if cur == g => Ok(()),
        (None, Some(_)) => Err(LexError::PreconditionFailed(format!(
            "The checksum value doesn't match for the resource named '{what}' with version '$LATEST'. The resource doesn't exist, so omit the checksum."
        )).into()),
        (Some(_), _) => Err(LexError::PreconditionFailed(format!(
            "The checksum value doesn't match for the resource named '{what}' with version '$LATEST'. Get the resource's latest checksum and retry."
        )).into()),
    }
}

fn stamp(env: &mut Env<'_>, doc: &mut Map<String, Json>, existing: Option<&Json>) {
    let now = env.now.unix_timestamp();
    let created = existing
        .and_then(|e| e.get("createdDate"))
        .cloned()
        .unwrap_or_else(|| json!(now));
    doc.insert("createdDate".into(), created);
    doc.insert("lastUpdatedDate".into(), json!(now));
    doc.insert("version".into(), json!(LATEST));
    doc.insert("checksum".into(), json!(env.ids.uuid()));
}

fn not_found(what: &str) -> Error {
    LexError::NotFound(format!(
        "The {what} could not be found. Check the name and version and try again."
    ))
    .into()
}

fn load(env: &mut Env<'_>, ns: &str, name: &str) -> Result<Option<Json>> {
    let k = key(env, name);
    env.get::<Json>(ns, &k)
}

fn check_version(p: Params<'_>, member: &str) -> Result<()> {
    match p.opt_str(member)? {
        None => Ok(()),
        Some(v) if v == LATEST => Ok(()),
        Some(v) => Err(LexError::NotFound(format!(
            "Version '{v}' could not be found: trailguard keeps only the $LATEST version."
        ))
        .into()),
    }
}

// ---- slot types ----

pub fn put_slot_type(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    check_name("name", name, 100)?;
    let existing = load(env, NS_SLOT_TYPE, name)?;
    check_checksum(existing.as_ref(), p.opt_str("checksum")?, name)?;
    if let Some(values) = p.0.get("enumerationValues") {
        let ok = values.as_array().is_some_and(|vs| {
            vs.iter().all(|v| {
                v.get("value")
                    .and_then(Json::as_str)
                    .is_some_and(|s| !s.is_empty())
            })
        });
        if !ok {
            return Err(LexError::BadRequest(
                "enumerationValues must be a list of objects with a non-empty value.".into(),
            )
            .into());
        }
    }
    let strategy = p
        .opt_str("valueSelectionStrategy")?
        .unwrap_or("ORIGINAL_VALUE");
    if !["ORIGINAL_VALUE", "TOP_RESOLUTION"].contains(&strategy) {
        return Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{strategy}' at 'valueSelectionStrategy' failed to satisfy constraint: Member must satisfy enum value set: [ORIGINAL_VALUE, TOP_RESOLUTION]"
        )).into());
    }
    let mut doc = body(
        p,
        &[
            "name",
            "description",
            "enumerationValues",
            "parentSlotTypeSignature",
            "slotTypeConfigurations",
        ],
    );
    doc.insert("valueSelectionStrategy".into(), json!(strategy));
    stamp(env, &mut doc, existing.as_ref());
    let k = key(env, name);
    env.put(NS_SLOT_TYPE, &k, &doc)?;
    Ok(Value::from_json(&Json::Object(doc)))
}

pub fn get_slot_type(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    check_version(p, "version")?;
    let doc = load(env, NS_SLOT_TYPE, p.str("name")?)?.ok_or_else(|| not_found("slot type"))?;
    Ok(Value::from_json(&doc))
}

pub fn get_slot_types(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, NS_SLOT_TYPE, "slotTypes")
}

pub fn delete_slot_type(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    load(env, NS_SLOT_TYPE, name)?.ok_or_else(|| not_found("slot type"))?;
    let prefix = format!("{}/{}/", env.account, env.ctx.region);
    let intents: Vec<Json> = env.scan_all(NS_INTENT, &prefix)?;
    if let Some(user) = intents.iter().find(|i| {
        i.get("slots")
            .and_then(Json::as_array)
            .is_some_and(|slots| {
                slots
                    .iter()
                    .any(|s| s.get("slotType").and_then(Json::as_str) == Some(name))
            })
    }) {
        let intent = user.get("name").and_then(Json::as_str).unwrap_or_default();
        return Err(LexError::ResourceInUse(format!(
            "The slot type '{name}' is referenced by the intent '{intent}'. Remove the reference and try again."
        )).into());
    }
    let k = key(env, name);
    env.delete(NS_SLOT_TYPE, &k)?;
    Ok(Value::structure())
}

// ---- intents ----

pub fn put_intent(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    check_name("name", name, 100)?;
    let existing = load(env, NS_INTENT, name)?;
    check_checksum(existing.as_ref(), p.opt_str("checksum")?, name)?;
    for slot in
        p.0.get("slots")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
    {
        let slot_name = slot.get("name").and_then(Json::as_str).unwrap_or_default();
        check_name("slots.member.name", slot_name, 100)?;
        let constraint = slot.get("slotConstraint").and_then(Json::as_str);
        if !matches!(constraint, Some("Required" | "Optional")) {
            return Err(LexError::BadRequest(format!(
                "The slot '{slot_name}' needs a slotConstraint of Required or Optional."
            ))
            .into());
        }
        let ty = slot
            .get("slotType")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if ty.is_empty() {
            return Err(
                LexError::BadRequest(format!("The slot '{slot_name}' needs a slotType.")).into(),
            );
        }
        if !ty.starts_with("AMAZON.") && load(env, NS_SLOT_TYPE, ty)?.is_none() {
            return Err(LexError::BadRequest(format!(
                "The slot type '{ty}' referenced by the slot '{slot_name}' does not exist."
            ))
            .into());
        }
        if constraint == Some("Required") && slot.get("valueElicitationPrompt").is_none() {
            return Err(LexError::BadRequest(format!(
                "The required slot '{slot_name}' needs a valueElicitationPrompt."
            ))
            .into());
        }
    }
    let fulfilment = p.0.get("fulfillmentActivity");
    if let Some(f) = fulfilment {
        let ty = f.get("type").and_then(Json::as_str);
        if !matches!(ty, Some("ReturnIntent" | "CodeHook")) {
            return Err(LexError::BadRequest(
                "fulfillmentActivity.type must be ReturnIntent or CodeHook.".into(),
            )
            .into());
        }
    }
    let mut doc = body(
        p,
        &[
            "name",
            "description",
            "slots",
            "sampleUtterances",
            "confirmationPrompt",
            "rejectionStatement",
            "followUpPrompt",
            "conclusionStatement",
            "dialogCodeHook",
            "fulfillmentActivity",
            "parentIntentSignature",
            "inputContexts",
            "outputContexts",
        ],
    );
    stamp(env, &mut doc, existing.as_ref());
    let k = key(env, name);
    env.put(NS_INTENT, &k, &doc)?;
    Ok(Value::from_json(&Json::Object(doc)))
}

pub fn get_intent(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    check_version(p, "version")?;
    let doc = load(env, NS_INTENT, p.str("name")?)?.ok_or_else(|| not_found("intent"))?;
    Ok(Value::from_json(&doc))
}

pub fn get_intents(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, NS_INTENT, "intents")
}

pub fn delete_intent(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    load(env, NS_INTENT, name)?.ok_or_else(|| not_found("intent"))?;
    let prefix = format!("{}/{}/", env.account, env.ctx.region);
    let bots: Vec<Json> = env.scan_all(NS_BOT, &prefix)?;
    if let Some(bot) = bots.iter().find(|b| {
        b.get("intents").and_then(Json::as_array).is_some_and(|is| {
            is.iter()
                .any(|i| i.get("intentName").and_then(Json::as_str) == Some(name))
        })
    }) {
        let bot = bot.get("name").and_then(Json::as_str).unwrap_or_default();
        return Err(LexError::ResourceInUse(format!(
            "The intent '{name}' is referenced by the bot '{bot}'. Remove the reference and try again."
        )).into());
    }
    let k = key(env, name);
    env.delete(NS_INTENT, &k)?;
    Ok(Value::structure())
}

// ---- bots ----

const LOCALES: &[&str] = &[
    "de-DE", "en-AU", "en-GB", "en-IN", "en-US", "es-419", "es-ES", "es-US", "fr-FR", "fr-CA",
    "it-IT", "ja-JP", "ko-KR",
];

pub fn put_bot(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    check_name("name", name, 50)?;
    if name.len() < 2 {
        return Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )).into());
    }
    let locale = p
        .opt_str("locale")?
        .ok_or_else(|| LexError::BadRequest("1 validation error detected: Value null at 'locale' failed to satisfy constraint: Member must not be null".into()))?;
    if !LOCALES.contains(&locale) {
        return Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{locale}' at 'locale' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            LOCALES.join(", ")
        )).into());
    }
    if p.opt_bool("childDirected")?.is_none() {
        return Err(LexError::BadRequest("1 validation error detected: Value null at 'childDirected' failed to satisfy constraint: Member must not be null".into()).into());
    }
    let ttl = p
        .opt_int("idleSessionTTLInSeconds", 60, 86_400)?
        .unwrap_or(300);
    if let Some(voice) = p.opt_str("voiceId")?
        && crate::polly::voice(voice).is_none()
    {
        return Err(LexError::BadRequest(format!(
            "The voice '{voice}' is not a valid Amazon Polly voice."
        ))
        .into());
    }
    for intent in
        p.0.get("intents")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
    {
        let iname = intent
            .get("intentName")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let version = intent
            .get("intentVersion")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if version != LATEST || load(env, NS_INTENT, iname)?.is_none() {
            return Err(LexError::BadRequest(format!(
                "The intent '{iname}' with version '{version}' does not exist."
            ))
            .into());
        }
    }
    let existing = load(env, NS_BOT, name)?;
    check_checksum(existing.as_ref(), p.opt_str("checksum")?, name)?;
    // The service creates its role with the first bot, as the console shows.
    linked::ensure_role(env, SERVICE)?;
    let build = p.opt_str("processBehavior")?.unwrap_or("BUILD");
    if !["BUILD", "SAVE"].contains(&build) {
        return Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{build}' at 'processBehavior' failed to satisfy constraint: Member must satisfy enum value set: [SAVE, BUILD]"
        )).into());
    }
    let mut doc = body(
        p,
        &[
            "name",
            "description",
            "intents",
            "enableModelImprovements",
            "clarificationPrompt",
            "abortStatement",
            "voiceId",
            "locale",
            "childDirected",
            "detectSentiment",
        ],
    );
    doc.insert("idleSessionTTLInSeconds".into(), json!(ttl));
    doc.insert(
        "status".into(),
        json!(if build == "BUILD" {
            "READY"
        } else {
            "NOT_BUILT"
        }),
    );
    stamp(env, &mut doc, existing.as_ref());
    let k = key(env, name);
    env.put(NS_BOT, &k, &doc)?;
    let mut out = doc.clone();
    // Building takes a moment in AWS; the answer says so, GetBot then says READY.
    if build == "BUILD" {
        out.insert("status".into(), json!("BUILDING"));
    }
    if let Some(tags) = p.0.get("tags") {
        out.insert("tags".into(), tags.clone());
    }
    Ok(Value::from_json(&Json::Object(out)))
}

pub fn get_bot(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    let version = p.str("versionOrAlias")?;
    if version != LATEST {
        resolve_alias(env, name, version)?;
    }
    let doc = load(env, NS_BOT, name)?.ok_or_else(|| not_found("bot"))?;
    Ok(Value::from_json(&doc))
}

pub fn get_bots(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, NS_BOT, "bots")
}

pub fn delete_bot(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("name")?;
    load(env, NS_BOT, name)?.ok_or_else(|| not_found("bot"))?;
    let prefix = format!("{}/{}/{name}/", env.account, env.ctx.region);
    let aliases: Vec<Json> = env.scan_all(NS_ALIAS, &prefix)?;
    if let Some(alias) = aliases.first() {
        let alias = alias.get("name").and_then(Json::as_str).unwrap_or_default();
        return Err(LexError::ResourceInUse(format!(
            "The bot '{name}' is referenced by the alias '{alias}'. Delete the alias and try again."
        ))
        .into());
    }
    let k = key(env, name);
    env.delete(NS_BOT, &k)?;
    Ok(Value::structure())
}

/// Lists summaries of one kind, by name, with `nameContains`, `maxResults` and `nextToken`.
fn list(env: &mut Env<'_>, p: Params<'_>, ns: &str, member: &str) -> Result<Value> {
    let max = usize::try_from(p.opt_int("maxResults", 1, 50)?.unwrap_or(10)).unwrap_or(10);
    let contains = p.opt_str("nameContains")?;
    let after = p.opt_str("nextToken")?;
    let prefix = format!("{}/{}/", env.account, env.ctx.region);
    let all: Vec<Json> = env.scan_all(ns, &prefix)?;
    let mut items: Vec<&Json> = all
        .iter()
        .filter(|d| {
            let n = d.get("name").and_then(Json::as_str).unwrap_or_default();
            contains.is_none_or(|c| n.contains(c)) && after.is_none_or(|a| n > a)
        })
        .collect();
    let next = (items.len() > max)
        .then(|| {
            items
                .get(max - 1)
                .and_then(|d| d.get("name"))
                .and_then(Json::as_str)
                .map(str::to_string)
        })
        .flatten();
    items.truncate(max);
    let summaries = items
        .iter()
        .map(|d| {
            let mut s = Map::new();
            for m in [
                "name",
                "description",
                "status",
                "lastUpdatedDate",
                "createdDate",
                "version",
            ] {
                if let Some(v) = d.get(m) {
                    s.insert(m.into(), v.clone());
                }
            }
            Value::from_json(&Json::Object(s))
        })
        .collect();
    Ok(Value::structure()
        .with(member, Value::List(summaries))
        .with("nextToken", next))
}

// ---- aliases ----

fn alias_key(env: &Env<'_>, bot: &str, alias: &str) -> String {
    format!("{}/{}/{bot}/{alias}", env.account, env.ctx.region)
}

fn resolve_alias(env: &mut Env<'_>, bot: &str, alias: &str) -> Result<Json> {
    let k = alias_key(env, bot, alias);
    env.get::<Json>(NS_ALIAS, &k)?
        .ok_or_else(|| not_found("bot alias"))
}

pub fn put_bot_alias(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bot = p.str("botName")?;
    let name = p.str("name")?;
    check_name("name", name, 100)?;
    let version = p.str("botVersion")?;
    if version != LATEST {
        return Err(LexError::BadRequest(format!(
            "The bot version '{version}' does not exist: trailguard keeps only $LATEST."
        ))
        .into());
    }
    load(env, NS_BOT, bot)?.ok_or_else(|| not_found("bot"))?;
    let k = alias_key(env, bot, name);
    let existing = env.get::<Json>(NS_ALIAS, &k)?;
    check_checksum(existing.as_ref(), p.opt_str("checksum")?, name)?;
    let mut doc = body(
        p,
        &[
            "name",
            "description",
            "botVersion",
            "botName",
            "conversationLogs",
        ],
    );
    stamp(env, &mut doc, existing.as_ref());
    doc.remove("version");
    env.put(NS_ALIAS, &k, &doc)?;
    Ok(Value::from_json(&Json::Object(doc)))
}

pub fn get_bot_alias(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let doc = resolve_alias(env, p.str("botName")?, p.str("name")?)?;
    Ok(Value::from_json(&doc))
}

pub fn delete_bot_alias(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let (bot, name) = (p.str("botName")?, p.str("name")?);
    resolve_alias(env, bot, name)?;
    let k = alias_key(env, bot, name);
    env.delete(NS_ALIAS, &k)?;
    Ok(Value::structure())
}

// ---- runtime ----

fn prompt(v: Option<&Json>) -> Option<Prompt> {
    let v = v?;
    let messages = v
        .get("messages")
        .and_then(Json::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("content").and_then(Json::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let max_attempts = v
        .get("maxAttempts")
        .and_then(Json::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1);
    Some(Prompt {
        messages,
        max_attempts,
    })
}

fn statement(v: Option<&Json>) -> Option<String> {
    prompt(v).and_then(|p| p.messages.into_iter().next())
}

/// Loads everything a conversation with the bot needs.
fn bot_def(env: &mut Env<'_>, bot: &Json) -> Result<BotDef> {
    let mut def = BotDef {
        clarification: prompt(bot.get("clarificationPrompt")),
        abort: statement(bot.get("abortStatement")),
        ..BotDef::default()
    };
    let mut types = HashMap::new();
    for i in bot
        .get("intents")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let name = i
            .get("intentName")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let Some(intent) = load(env, NS_INTENT, name)? else {
            continue;
        };
        let mut slots = Vec::new();
        for (n, s) in intent
            .get("slots")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let slot_type = s.get("slotType").and_then(Json::as_str).unwrap_or_default();
            if !slot_type.starts_with("AMAZON.")
                && !types.contains_key(slot_type)
                && let Some(t) = load(env, NS_SLOT_TYPE, slot_type)?
            {
                let values = t
                    .get("enumerationValues")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .map(|v| {
                        let value = v.get("value").and_then(Json::as_str).unwrap_or_default();
                        let synonyms = v
                            .get("synonyms")
                            .and_then(Json::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Json::as_str)
                            .map(str::to_string)
                            .collect();
                        (value.to_string(), synonyms)
                    })
                    .collect();
                let top = t.get("valueSelectionStrategy").and_then(Json::as_str)
                    == Some("TOP_RESOLUTION");
                types.insert(
                    slot_type.to_string(),
                    values::Enumeration {
                        values,
                        top_resolution: top,
                    },
                );
            }
            slots.push(SlotDef {
                name: s
                    .get("name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .into(),
                required: s.get("slotConstraint").and_then(Json::as_str) == Some("Required"),
                slot_type: slot_type.to_string(),
                prompt: prompt(s.get("valueElicitationPrompt")),
                priority: s
                    .get("priority")
                    .and_then(Json::as_i64)
                    .unwrap_or(i64::try_from(n).unwrap_or(0) + 1_000),
            });
        }
        def.intents.push(IntentDef {
            name: name.to_string(),
            slots,
            samples: intent
                .get("sampleUtterances")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect(),
            confirmation: prompt(intent.get("confirmationPrompt")),
            rejection: statement(intent.get("rejectionStatement")),
            code_hook: intent
                .get("fulfillmentActivity")
                .and_then(|f| f.get("type"))
                .and_then(Json::as_str)
                == Some("CodeHook"),
        });
    }
    def.types = types;
    Ok(def)
}

/// One turn, shared by `PostText` and `PostContent`.
struct Answer {
    turn: dialog::Turn,
    session: Session,
    bot: Json,
}

fn converse(env: &mut Env<'_>, p: Params<'_>, input: &str) -> Result<Answer> {
    let bot_name = p.str("botName")?;
    let alias = p.str("botAlias")?;
    let user = p.str("userId")?;
    if user.len() < 2 || user.len() > 100 {
        return Err(LexError::BadRequest(format!(
            "1 validation error detected: Value '{user}' at 'userId' failed to satisfy constraint: Member must have length between 2 and 100"
        )).into());
    }
    if input.is_empty() || input.chars().count() > 1024 {
        return Err(LexError::BadRequest(
            "1 validation error detected: Value at 'inputText' failed to satisfy constraint: Member must have length between 1 and 1024".into(),
        ).into());
    }
    if alias != LATEST {
        resolve_alias(env, bot_name, alias)?;
    }
    let bot = load(env, NS_BOT, bot_name)?.ok_or_else(|| not_found("bot"))?;
    if bot.get("status").and_then(Json::as_str) != Some("READY") {
        return Err(LexError::BadRequest(format!(
            "The bot '{bot_name}' is not built. Build it with PutBot and processBehavior BUILD."
        ))
        .into());
    }
    let def = bot_def(env, &bot)?;
    let session_key = format!(
        "{}/{}/{bot_name}/{alias}/{user}",
        env.account, env.ctx.region
    );
    let ttl = bot
        .get("idleSessionTTLInSeconds")
        .and_then(Json::as_i64)
        .unwrap_or(300);
    let now = env.now.unix_timestamp();
    let mut session = env
        .get::<Session>(NS_SESSION, &session_key)?
        .filter(|s| now - s.last_turn <= ttl)
        .unwrap_or_else(|| Session {
            session_id: format!(
                "{}-{}",
                env.now
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                env.ids.base32(12).to_lowercase()
            ),
            ..Session::default()
        });
    if let Some(Json::Object(attrs)) = p.0.get("sessionAttributes") {
        session.attributes = attrs.clone();
    }
    let turn = dialog::converse(&def, &mut session, input, env.now.date());
    session.last_turn = now;
    env.put(NS_SESSION, &session_key, &session)?;
    if turn.needs_code_hook {
        return Err(LexError::DependencyFailed(
            "The intent is fulfilled by a Lambda code hook, and trailguard runs no Lambda functions; use ReturnIntent fulfilment.".into(),
        ).into());
    }
    Ok(Answer { turn, session, bot })
}

fn slots_value(turn: &dialog::Turn) -> Value {
    match &turn.slots {
        None => Value::Null,
        Some(slots) => Value::Map(
            slots
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_ref().map_or(Value::Null, |s| Value::Str(s.clone())),
                    )
                })
                .collect(),
        ),
    }
}

fn attributes_value(session: &Session) -> Value {
    Value::from_json(&Json::Object(session.attributes.clone()))
}

pub fn post_text(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let input = p.str("inputText")?;
    let a = converse(env, p, input)?;
    Ok(Value::structure()
        .with("intentName", a.turn.intent_name.clone())
        .with("slots", slots_value(&a.turn))
        .with("sessionAttributes", attributes_value(&a.session))
        .with("message", a.turn.message.clone())
        .with(
            "messageFormat",
            a.turn.message.as_ref().map(|_| "PlainText"),
        )
        .with("dialogState", a.turn.dialog_state)
        .with("slotToElicit", a.turn.slot_to_elicit.clone())
        .with("sessionId", a.session.session_id.clone())
        .with("botVersion", LATEST))
}

/// The Polly output format for an `Accept` header, or `None` for text.
fn audio_format(accept: Option<&str>) -> Result<Option<(&'static str, &'static str)>> {
    let accept = accept.map(|a| {
        a.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    match accept.as_deref() {
        None | Some("" | "audio/mpeg" | "audio/*") => Ok(Some(("mp3", "audio/mpeg"))),
        Some("audio/ogg") => Ok(Some(("ogg_vorbis", "audio/ogg"))),
        Some("audio/pcm") => Ok(Some(("pcm", "audio/pcm"))),
        Some("text/plain") => Ok(None),
        Some(other) => Err(LexError::NotAcceptable(format!(
            "The accept header '{other}' is not supported: use text/plain; charset=utf-8, audio/mpeg, audio/ogg or audio/pcm."
        )).into()),
    }
}

pub fn post_content(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let content_type = p.str("contentType")?;
    if !content_type.to_ascii_lowercase().starts_with("text/plain") {
        return Err(LexError::UnsupportedMediaType(format!(
            "trailguard's Lex takes text input only (Content-Type text/plain; charset=utf-8), not '{content_type}'."
        )).into());
    }
    let format = audio_format(p.opt_str("accept")?)?;
    let input = p
        .opt_str("inputStream")?
        .unwrap_or_default()
        .trim()
        .to_string();
    let a = converse(env, p, &input)?;
    let mut audio = None;
    let voice = a.bot.get("voiceId").and_then(Json::as_str);
    if let (Some((polly_format, _)), Some(message), Some(voice)) = (format, &a.turn.message, voice)
    {
        // Lex speaks through Polly, as itself, through its service-linked role.
        let role = linked::ensure_role(env, SERVICE)?;
        let bot_name = p.str("botName")?.to_string();
        let caller = linked::session(env, role, SERVICE, &bot_name)?;
        let params = json!({
            "OutputFormat": polly_format,
            "TextType": "text",
            "VoiceId": voice,
            "Text": message,
        });
        let out = linked::act_as(
            env,
            &caller,
            SERVICE,
            crate::polly::DEF.id,
            "SynthesizeSpeech",
            &params,
        )?;
        audio = out.get("AudioStream").cloned();
    }
    let content_type = match format {
        Some((_, mime)) if audio.is_some() => mime,
        _ => "text/plain;charset=utf-8",
    };
    let message = a.turn.message.clone();
    Ok(Value::structure()
        .with("contentType", content_type)
        .with("intentName", a.turn.intent_name.clone())
        .with("slots", slots_value(&a.turn))
        .with("sessionAttributes", attributes_value(&a.session))
        .with("message", message.clone().filter(|m| m.is_ascii()))
        .with("encodedMessage", message.as_ref().map(|m| B64.encode(m)))
        .with("messageFormat", message.as_ref().map(|_| "PlainText"))
        .with("dialogState", a.turn.dialog_state)
        .with("slotToElicit", a.turn.slot_to_elicit.clone())
        .with(
            "inputTranscript",
            Some(input.clone()).filter(|i| i.is_ascii()),
        )
        .with("encodedInputTranscript", B64.encode(&input))
        .with("sessionId", a.session.session_id.clone())
        .with("botVersion", LATEST)
        .with("audioStream", audio.unwrap_or(Value::Null)))
}

/// Lex's side of the linked-service seam: bots use `AWSServiceRoleForLexBots`.
pub struct Linked;

impl LinkedResources for Linked {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn resources_using_role(&self, env: &mut Env<'_>) -> Result<Vec<(String, String)>> {
        let prefix = format!("{}/", env.account);
        let bots: Vec<(String, Json)> = env.scan(NS_BOT, &prefix, None, usize::MAX)?;
        Ok(bots
            .iter()
            .filter_map(|(k, b)| {
                let mut parts = k.splitn(3, '/');
                let (account, region) = (parts.next()?, parts.next()?);
                let name = b.get("name").and_then(Json::as_str)?;
                Some((
                    region.to_string(),
                    format!("arn:aws:lex:{region}:{account}:bot:{name}"),
                ))
            })
            .collect())
    }
}
