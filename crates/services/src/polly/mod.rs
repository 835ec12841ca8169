//! Amazon Polly: `SynthesizeSpeech` and `DescribeVoices`.
//!
//! Speech is real: each Polly voice maps to an espeak-ng voice of its language
//! and gender, and [`synth`] runs espeak-ng (and lame or oggenc for compressed
//! formats) to make playable audio. A host without them still serves every other
//! call; this one answers `ServiceFailureException` saying what to install.

mod synth;
mod voices;

use crate::authz::Authorized;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::ops::Operation;
use crate::params::Params;
use trailguard_model::Value;
pub use voices::{Voice, voice};

/// The Polly operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::read("SynthesizeSpeech", lexicon_arn, synthesize_speech).recording_response(),
    Operation::read("DescribeVoices", |_, _| Ok("*".into()), describe_voices),
];

/// Polly authorizes `SynthesizeSpeech` on the lexicons it uses (`*` when none).
fn lexicon_arn(env: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok(format!(
        "arn:aws:polly:{}:{}:lexicon/*",
        env.ctx.region, env.account
    ))
}

/// Billed characters: the text without SSML markup.
const MAX_BILLED: usize = 3000;
const MAX_TOTAL: usize = 6000;

fn enum_error(member: &str, value: &str, allowed: &[&str]) -> Error {
    Error::ValidationException(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}

pub fn synthesize_speech(_: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let text = p.str("Text")?;
    let format = p.str("OutputFormat")?;
    let formats = ["json", "mp3", "ogg_vorbis", "pcm"];
    if !formats.contains(&format) {
        return Err(enum_error("outputFormat", format, &formats));
    }
    let voice_id = p.str("VoiceId")?;
    let Some(voice) = voice(voice_id) else {
        let ids: Vec<&str> = voices::ALL.iter().map(|v| v.id).collect();
        return Err(enum_error("voiceId", voice_id, &ids));
    };
    let engine = p.opt_str("Engine")?.unwrap_or("standard");
    let engines = ["standard", "neural", "long-form", "generative"];
    if !engines.contains(&engine) {
        return Err(enum_error("engine", engine, &engines));
    }
    if !voice.engines.contains(&engine) {
        return Err(Error::EngineNotSupported(format!(
            "This voice does not support the selected engine: {engine}"
        )));
    }
    if let Some(lang) = p.opt_str("LanguageCode")?
        && lang != voice.language
    {
        return Err(Error::LanguageNotSupported(format!(
            "Voice {voice_id} does not support the language {lang}."
        )));
    }
    let ssml = match p.opt_str("TextType")?.unwrap_or("text") {
        "text" => false,
        "ssml" => true,
        other => return Err(enum_error("textType", other, &["ssml", "text"])),
    };
    let spoken = if ssml {
        synth::ssml_text(text)?
    } else {
        text.to_string()
    };
    let billed = spoken.chars().count();
    if billed > MAX_BILLED || text.chars().count() > MAX_TOTAL {
        return Err(Error::TextLengthExceeded(format!(
            "Maximum text length has been exceeded: {MAX_BILLED} billed characters, {MAX_TOTAL} in all."
        )));
    }
    let marks = p.str_list("SpeechMarkTypes")?;
    if format == "json" && marks.is_empty() {
        return Err(Error::MarksNotSupportedForFormat(
            "Speech marks require OutputFormat json and at least one SpeechMarkTypes value.".into(),
        ));
    }
    if format != "json" && !marks.is_empty() {
        return Err(Error::MarksNotSupportedForFormat(format!(
            "Speech marks are not supported for OutputFormat {format}."
        )));
    }
    for m in &marks {
        if !["sentence", "ssml", "viseme", "word"].contains(m) {
            return Err(enum_error(
                "speechMarkTypes",
                m,
                &["sentence", "ssml", "viseme", "word"],
            ));
        }
    }
    let rates: &[&str] = match format {
        "pcm" => &["8000", "16000"],
        _ => &["8000", "16000", "22050", "24000"],
    };
    let rate = p.opt_str("SampleRate")?;
    if let Some(r) = rate
        && !rates.contains(&r)
    {
        return Err(Error::InvalidSampleRate(format!(
            "Sample rate {r} is not valid for output format {format}."
        )));
    }
    let rate: u32 = rate
        .and_then(|r| r.parse().ok())
        .unwrap_or(if format == "pcm" { 16_000 } else { 22_050 });
    let request = synth::Request {
        text,
        ssml,
        voice,
        rate,
    };
    let (content_type, audio) = match format {
        "json" => (
            "application/x-json-stream",
            synth::speech_marks(&request, &spoken, &marks)?,
        ),
        "mp3" => ("audio/mpeg", synth::mp3(&request)?),
        "ogg_vorbis" => ("audio/ogg", synth::ogg(&request)?),
        _ => ("audio/pcm", synth::pcm(&request)?),
    };
    Ok(Value::structure()
        .with("AudioStream", Value::Blob(audio))
        .with("ContentType", content_type)
        .with(
            "RequestCharacters",
            i64::try_from(billed).unwrap_or(i64::MAX),
        ))
}

pub fn describe_voices(_: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let engine = p.opt_str("Engine")?;
    let language = p.opt_str("LanguageCode")?;
    if p.opt_str("NextToken")?.is_some() {
        return Err(Error::InvalidNextToken(
            "The NextToken is not valid: every voice fits in one page.".into(),
        ));
    }
    let list = voices::ALL
        .iter()
        .filter(|v| engine.is_none_or(|e| v.engines.contains(&e)))
        .filter(|v| language.is_none_or(|l| v.language == l))
        .map(Voice::to_value)
        .collect();
    Ok(Value::structure().with("Voices", Value::List(list)))
}
