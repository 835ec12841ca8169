//! The conversation engine behind `PostText` and `PostContent`: recognise the
//! intent from the bot's sample utterances, elicit each required slot with its
//! prompt, confirm, then hand the filled intent back (`ReadyForFulfillment`), as
//! Lex V1 does for intents whose fulfilment is `ReturnIntent`. Pure: the caller
//! loads the bot and the session and stores the session afterwards.

use super::values::{self, Enumeration};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::Date;

/// A prompt: messages to choose from and how often to ask.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub messages: Vec<String>,
    pub max_attempts: u32,
}

/// A slot of an intent.
#[derive(Debug, Clone)]
pub struct SlotDef {
    pub name: String,
    pub required: bool,
    pub slot_type: String,
    pub prompt: Option<Prompt>,
    pub priority: i64,
}

/// An intent as the engine needs it.
#[derive(Debug, Clone)]
pub struct IntentDef {
    pub name: String,
    pub slots: Vec<SlotDef>,
    pub samples: Vec<String>,
    pub confirmation: Option<Prompt>,
    pub rejection: Option<String>,
    /// `CodeHook` fulfilment (a Lambda function) rather than `ReturnIntent`.
    pub code_hook: bool,
}

/// A bot as the engine needs it.
#[derive(Debug, Clone, Default)]
pub struct BotDef {
    pub intents: Vec<IntentDef>,
    pub clarification: Option<Prompt>,
    pub abort: Option<String>,
    /// Custom slot types by name.
    pub types: HashMap<String, Enumeration>,
}

/// The conversation so far, kept per bot, alias and user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Session {
    pub intent: Option<String>,
    pub slots: BTreeMap<String, Option<String>>,
    pub state: String,
    pub slot_to_elicit: Option<String>,
    pub attempts: u32,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Epoch seconds of the last turn, for the bot's idle timeout.
    pub last_turn: i64,
    pub session_id: String,
}

/// What one turn answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub intent_name: Option<String>,
    pub slots: Option<BTreeMap<String, Option<String>>>,
    pub message: Option<String>,
    pub dialog_state: &'static str,
    pub slot_to_elicit: Option<String>,
    /// The intent is filled but is fulfilled by a code hook.
    pub needs_code_hook: bool,
}

const STOP_WORDS: &[&str] = &[
    "i", "would", "like", "to", "some", "a", "an", "the", "want", "please", "me", "my", "can",
    "you", "could", "for", "of", "and", "is", "it", "be", "do", "get", "id", "i'd", "we", "at",
    "on", "in",
];

fn content_words(text: &str) -> Vec<String> {
    let mut w: Vec<String> = values::words(text)
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| {
            w.strip_suffix('s')
                .filter(|s| s.len() > 2)
                .map_or(w.clone(), str::to_string)
        })
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// How well `input` matches a sample utterance, over content words: the better of
/// their Dice coefficient and how much of the sample the input says (extra words
/// such as slot values, "tulips tomorrow at 9", do not count against it).
fn score(sample: &str, input: &str) -> f64 {
    let literal: String = sample
        .split_whitespace()
        .filter(|w| !(w.starts_with('{') && w.ends_with('}')))
        .collect::<Vec<_>>()
        .join(" ");
    let a = content_words(&literal);
    let b = content_words(input);
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|w| b.contains(w)).count();
    #[allow(clippy::cast_precision_loss, reason = "word counts are small")]
    let (dice, recall) = (
        (2 * common) as f64 / (a.len() + b.len()) as f64,
        common as f64 / a.len() as f64,
    );
    dice.max(recall)
}

impl BotDef {
    fn intent(&self, name: &str) -> Option<&IntentDef> {
        self.intents.iter().find(|i| i.name == name)
    }

    /// The best intent for an input, with its score, if any is good enough.
    fn classify(&self, input: &str) -> Option<(&IntentDef, f64)> {
        let mut best: Option<(&IntentDef, f64)> = None;
        for intent in &self.intents {
            for sample in &intent.samples {
                let s = score(sample, input);
                if s >= 0.6 && best.is_none_or(|(_, b)| s > b) {
                    best = Some((intent, s));
                }
            }
        }
        best
    }

    /// Resolves a slot's value from an input. `whole` accepts the input itself for
    /// types that take any value (what a user answers to the slot's own prompt).
    fn resolve(&self, slot: &SlotDef, input: &str, today: Date, whole: bool) -> Option<String> {
        match slot.slot_type.as_str() {
            "AMAZON.DATE" => values::date(input, today),
            "AMAZON.TIME" => values::time_of_day(input),
            "AMAZON.NUMBER" if whole => values::number(input),
            "AMAZON.NUMBER" => None,
            other => {
                if let Some(e) = self.types.get(other) {
                    if let Some(v) = e.find(input) {
                        return Some(v);
                    }
                    if e.top_resolution {
                        return None;
                    }
                }
                // Custom types expand beyond their examples, as Lex's do with
                // ORIGINAL_VALUE; built-in catalogue types take what was said.
                let trimmed = input.trim().trim_end_matches(['.', '!', '?']);
                (whole && !trimmed.is_empty()).then(|| trimmed.to_string())
            }
        }
    }
}

fn fill(template: &str, slots: &BTreeMap<String, Option<String>>) -> String {
    let mut out = template.to_string();
    for (name, value) in slots {
        if let Some(v) = value {
            out = out.replace(&format!("{{{name}}}"), v);
        }
    }
    out
}

fn first_message(p: Option<&Prompt>) -> Option<String> {
    p.and_then(|p| p.messages.first().cloned())
}

const TERMINAL: &[&str] = &["ReadyForFulfillment", "Fulfilled", "Failed"];

/// Plays one turn of the conversation.
pub fn converse(bot: &BotDef, session: &mut Session, input: &str, today: Date) -> Turn {
    if TERMINAL.contains(&session.state.as_str()) {
        session.intent = None;
        session.slots.clear();
        session.slot_to_elicit = None;
        session.state.clear();
        session.attempts = 0;
    }
    let current = session
        .intent
        .as_deref()
        .and_then(|n| bot.intent(n))
        .cloned();
    let Some(intent) = current else {
        return start_intent(bot, session, input, today);
    };
    match session.state.as_str() {
        "ConfirmIntent" => match values::yes_or_no(input) {
            Some(true) => fulfil(&intent, session),
            Some(false) => {
                let msg = intent.rejection.clone();
                finish(session, &intent, msg, "Failed")
            }
            None => retry(
                bot,
                session,
                &intent,
                intent.confirmation.as_ref(),
                "ConfirmIntent",
            ),
        },
        _ => {
            let eliciting = session
                .slot_to_elicit
                .as_deref()
                .and_then(|s| intent.slots.iter().find(|d| d.name == s))
                .cloned();
            if let Some(slot) = &eliciting {
                match bot.resolve(slot, input, today, true) {
                    Some(v) => {
                        session.slots.insert(slot.name.clone(), Some(v));
                        session.attempts = 0;
                    }
                    None => {
                        return retry(bot, session, &intent, slot.prompt.as_ref(), "ElicitSlot");
                    }
                }
            }
            // Other slots the same answer mentions ("tomorrow at 10 am").
            for other in &intent.slots {
                if session.slots.get(&other.name).is_some_and(Option::is_none)
                    && let Some(v) = bot.resolve(other, input, today, false)
                {
                    session.slots.insert(other.name.clone(), Some(v));
                }
            }
            next_step(session, &intent)
        }
    }
}

fn start_intent(bot: &BotDef, session: &mut Session, input: &str, today: Date) -> Turn {
    let Some((intent, _)) = bot.classify(input) else {
        session.attempts += 1;
        let max = bot
            .clarification
            .as_ref()
            .map_or(1, |p| p.max_attempts.max(1));
        if session.attempts > max || bot.clarification.is_none() {
            session.attempts = 0;
            session.state = "Failed".into();
            return Turn {
                intent_name: None,
                slots: None,
                message: bot.abort.clone(),
                dialog_state: "Failed",
                slot_to_elicit: None,
                needs_code_hook: false,
            };
        }
        session.state = "ElicitIntent".into();
        return Turn {
            intent_name: None,
            slots: None,
            message: first_message(bot.clarification.as_ref()),
            dialog_state: "ElicitIntent",
            slot_to_elicit: None,
            needs_code_hook: false,
        };
    };
    session.intent = Some(intent.name.clone());
    session.attempts = 0;
    session.slots = intent
        .slots
        .iter()
        .map(|s| (s.name.clone(), None))
        .collect();
    // Slots the utterance itself carries.
    for slot in &intent.slots {
        let named = intent
            .samples
            .iter()
            .any(|s| s.contains(&format!("{{{}}}", slot.name)));
        if named && let Some(v) = bot.resolve(slot, input, today, false) {
            session.slots.insert(slot.name.clone(), Some(v));
        }
    }
    next_step(session, intent)
}

fn next_step(session: &mut Session, intent: &IntentDef) -> Turn {
    let mut required: Vec<&SlotDef> = intent.slots.iter().filter(|s| s.required).collect();
    required.sort_by_key(|s| s.priority);
    if let Some(slot) = required
        .into_iter()
        .find(|s| session.slots.get(&s.name).is_none_or(Option::is_none))
    {
        session.state = "ElicitSlot".into();
        session.slot_to_elicit = Some(slot.name.clone());
        let message = first_message(slot.prompt.as_ref()).map(|m| fill(&m, &session.slots));
        return Turn {
            intent_name: Some(intent.name.clone()),
            slots: Some(session.slots.clone()),
            message,
            dialog_state: "ElicitSlot",
            slot_to_elicit: Some(slot.name.clone()),
            needs_code_hook: false,
        };
    }
    session.slot_to_elicit = None;
    if let Some(confirm) = &intent.confirmation
        && session.state != "ConfirmIntent"
    {
        session.state = "ConfirmIntent".into();
        session.attempts = 0;
        return Turn {
            intent_name: Some(intent.name.clone()),
            slots: Some(session.slots.clone()),
            message: confirm.messages.first().map(|m| fill(m, &session.slots)),
            dialog_state: "ConfirmIntent",
            slot_to_elicit: None,
            needs_code_hook: false,
        };
    }
    fulfil(intent, session)
}

fn fulfil(intent: &IntentDef, session: &mut Session) -> Turn {
    let mut turn = finish(session, intent, None, "ReadyForFulfillment");
    turn.needs_code_hook = intent.code_hook;
    turn
}

fn finish(
    session: &mut Session,
    intent: &IntentDef,
    message: Option<String>,
    state: &'static str,
) -> Turn {
    session.state = state.into();
    session.slot_to_elicit = None;
    session.attempts = 0;
    Turn {
        intent_name: Some(intent.name.clone()),
        slots: Some(session.slots.clone()),
        message: message.map(|m| fill(&m, &session.slots)),
        dialog_state: state,
        slot_to_elicit: None,
        needs_code_hook: false,
    }
}

/// Asks again, or gives up with the bot's abort statement after the prompt's
/// maximum attempts.
fn retry(
    bot: &BotDef,
    session: &mut Session,
    intent: &IntentDef,
    prompt: Option<&Prompt>,
    state: &'static str,
) -> Turn {
    session.attempts += 1;
    let max = prompt.map_or(1, |p| p.max_attempts.max(1));
    if session.attempts >= max.saturating_add(1) {
        let abort = bot.abort.clone();
        return finish(session, intent, abort, "Failed");
    }
    Turn {
        intent_name: Some(intent.name.clone()),
        slots: Some(session.slots.clone()),
        message: first_message(prompt).map(|m| fill(&m, &session.slots)),
        dialog_state: state,
        slot_to_elicit: session.slot_to_elicit.clone(),
        needs_code_hook: false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use time::macros::date;

    fn prompt(m: &str) -> Option<Prompt> {
        Some(Prompt {
            messages: vec![m.into()],
            max_attempts: 2,
        })
    }

    /// The OrderFlowers blueprint.
    fn order_flowers() -> BotDef {
        let slot = |name: &str, ty: &str, p: &str, priority| SlotDef {
            name: name.into(),
            required: true,
            slot_type: ty.into(),
            prompt: prompt(p),
            priority,
        };
        BotDef {
            intents: vec![IntentDef {
                name: "OrderFlowers".into(),
                slots: vec![
                    slot(
                        "FlowerType",
                        "FlowerTypes",
                        "What type of flowers would you like to order?",
                        1,
                    ),
                    slot(
                        "PickupDate",
                        "AMAZON.DATE",
                        "What day do you want the {FlowerType} to be picked up?",
                        2,
                    ),
                    slot(
                        "PickupTime",
                        "AMAZON.TIME",
                        "At what time do you want the {FlowerType} to be picked up?",
                        3,
                    ),
                ],
                samples: vec![
                    "I would like to pick up flowers".into(),
                    "I would like to order some flowers".into(),
                ],
                confirmation: prompt(
                    "Okay, your {FlowerType} will be ready for pickup by {PickupTime} on {PickupDate}.  Does this sound okay?",
                ),
                rejection: Some("Okay, I will not place your order.".into()),
                code_hook: false,
            }],
            clarification: prompt("I didn't understand you, what would you like to do?"),
            abort: Some("Sorry, I'm not able to assist at this time".into()),
            types: HashMap::from([(
                "FlowerTypes".to_string(),
                Enumeration {
                    values: vec![
                        ("roses".into(), vec![]),
                        ("lilies".into(), vec![]),
                        ("tulips".into(), vec![]),
                    ],
                    top_resolution: false,
                },
            )]),
        }
    }

    #[test]
    fn the_order_flowers_walk_through() {
        let bot = order_flowers();
        let mut s = Session::default();
        let today = date!(2026 - 11 - 23);
        let t = converse(&bot, &mut s, "I would like to order some flowers", today);
        assert_eq!(t.dialog_state, "ElicitSlot");
        assert_eq!(t.slot_to_elicit.as_deref(), Some("FlowerType"));
        assert_eq!(
            t.message.as_deref(),
            Some("What type of flowers would you like to order?")
        );
        let t = converse(&bot, &mut s, "roses", today);
        assert_eq!(
            t.message.as_deref(),
            Some("What day do you want the roses to be picked up?")
        );
        let t = converse(&bot, &mut s, "tomorrow", today);
        assert_eq!(t.slot_to_elicit.as_deref(), Some("PickupTime"));
        let t = converse(&bot, &mut s, "10 am", today);
        assert_eq!(t.dialog_state, "ConfirmIntent");
        assert!(
            t.message
                .unwrap()
                .contains("roses will be ready for pickup by 10:00 on 2026-11-24")
        );
        let t = converse(&bot, &mut s, "yes", today);
        assert_eq!(t.dialog_state, "ReadyForFulfillment");
        let slots = t.slots.unwrap();
        assert_eq!(slots["PickupDate"].as_deref(), Some("2026-11-24"));
        // A new conversation starts after the intent is done.
        let t = converse(&bot, &mut s, "order flowers", today);
        assert_eq!(t.slot_to_elicit.as_deref(), Some("FlowerType"));
    }

    #[test]
    fn misunderstanding_rejection_and_giving_up() {
        let bot = order_flowers();
        let today = date!(2026 - 11 - 23);
        let mut s = Session::default();
        let t = converse(&bot, &mut s, "what is the weather", today);
        assert_eq!(t.dialog_state, "ElicitIntent");
        assert_eq!(t.intent_name, None);
        let t = converse(
            &bot,
            &mut s,
            "I want to pick up tulips tomorrow at 9 am",
            today,
        );
        assert_eq!(t.intent_name.as_deref(), Some("OrderFlowers"));
        let t = converse(&bot, &mut s, "tulips", today);
        // Date and time came in one answer.
        let t2 = converse(&bot, &mut s, "tomorrow at 9 am", today);
        assert_eq!(t.slot_to_elicit.as_deref(), Some("PickupDate"));
        assert_eq!(t2.dialog_state, "ConfirmIntent");
        let t = converse(&bot, &mut s, "no", today);
        assert_eq!(t.dialog_state, "Failed");
        assert_eq!(
            t.message.as_deref(),
            Some("Okay, I will not place your order.")
        );
        converse(&bot, &mut s, "order some flowers", today);
        converse(&bot, &mut s, "roses", today);
        let t = converse(&bot, &mut s, "whenever", today);
        assert_eq!(t.dialog_state, "ElicitSlot");
        converse(&bot, &mut s, "dunno", today);
        let t = converse(&bot, &mut s, "still no idea", today);
        assert_eq!(t.dialog_state, "Failed");
        assert_eq!(
            t.message.as_deref(),
            Some("Sorry, I'm not able to assist at this time")
        );
    }
}
