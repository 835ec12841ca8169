//! Amazon Polly: `SynthesizeSpeech` and `DescribeVoices`.
//!
//! Speech is real: each Polly voice maps to an espeak-ng voice of its language
//! and gender, and [`synth`] runs espeak-ng (and lame or oggenc for compressed
//! formats) to make playable audio. A host without them still serves every other
//! call; this one answers `ServiceFailureException` saying what to install.
//!
//! Synthesis is slow (child processes, up to seconds for Polly's longest text),
//! so it never runs inside the call's transaction: the handler checks every input
//! and Polly's limits, then asks for a [`Speech`] job (`prepare`), which runs with
//! the store's writer released. Lex's `PostContent`, speaking through Polly on
//! the caller's behalf, goes through the same handler and so the same job.

mod synth;
mod voices;

use crate::error::PollyError;
use std::sync::Arc;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::ops::Operation;
use trailguard_core::params::Params;
use trailguard_core::prepare::{Job, JobContext};
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};
pub use voices::{Voice, voice};

pub mod routes;

/// Amazon Polly.
pub const DEF: ServiceDef = ServiceDef {
    routes: routes::ROUTES,
    ..ServiceDef::new("polly", "polly.amazonaws.com", Protocol::RestJson1)
};

/// Polly's records show the text to speak only as asterisks.
pub fn redact_text(_: &str, _: &serde_json::Value, shown: &mut serde_json::Value) {
    if let Some(text) = shown.get_mut("text") {
        *text = serde_json::Value::String("**********".into());
    }
}

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

/// Polly's limits on `SynthesizeSpeech`'s `Text`: 6,000 characters in all, of
/// which at most 3,000 billed (the text without SSML markup).
pub const MAX_BILLED: usize = 3000;
pub const MAX_TOTAL: usize = 6000;

fn too_long() -> Error {
    PollyError::TextLengthExceeded(format!(
        "Maximum text length has been exceeded: {MAX_BILLED} billed characters, {MAX_TOTAL} in all."
    ))
    .into()
}

/// One synthesis, with everything the audio depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speech {
    text: String,
    ssml: bool,
    voice: Voice,
    rate: u32,
    format: &'static str,
    /// The text as spoken (without markup), for speech marks.
    spoken: String,
    marks: Vec<String>,
}

impl Job for Speech {
    /// The audio, or why the speech engine failed.
    type Output = std::result::Result<Arc<Vec<u8>>, String>;

    fn run(&self, _: &JobContext<'_>) -> Self::Output {
        let request = synth::Request {
            text: &self.text,
            ssml: self.ssml,
            voice: &self.voice,
            rate: self.rate,
        };
        let marks: Vec<&str> = self.marks.iter().map(String::as_str).collect();
        let audio = match self.format {
            "json" => synth::speech_marks(&request, &self.spoken, &marks),
            "mp3" => synth::mp3(&request),
            "ogg_vorbis" => synth::ogg(&request),
            _ => synth::pcm(&request),
        };
        audio.map(Arc::new).map_err(|e| e.to_string())
    }
}

fn enum_error(member: &str, value: &str, allowed: &[&str]) -> Error {
    PollyError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )).into()
}

pub fn synthesize_speech(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
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
        return Err(PollyError::EngineNotSupported(format!(
            "This voice does not support the selected engine: {engine}"
        ))
        .into());
    }
    if let Some(lang) = p.opt_str("LanguageCode")?
        && lang != voice.language
    {
        return Err(PollyError::LanguageNotSupported(format!(
            "Voice {voice_id} does not support the language {lang}."
        ))
        .into());
    }
    let ssml = match p.opt_str("TextType")?.unwrap_or("text") {
        "text" => false,
        "ssml" => true,
        other => return Err(enum_error("textType", other, &["ssml", "text"])),
    };
    // The total first, so an oversized text is never even parsed.
    if text.chars().count() > MAX_TOTAL {
        return Err(too_long());
    }
    let spoken = if ssml {
        synth::ssml_text(text)?
    } else {
        text.to_string()
    };
    let billed = spoken.chars().count();
    if billed > MAX_BILLED {
        return Err(too_long());
    }
    let marks = p.str_list("SpeechMarkTypes")?;
    if format == "json" && marks.is_empty() {
        return Err(PollyError::MarksNotSupportedForFormat(
            "Speech marks require OutputFormat json and at least one SpeechMarkTypes value.".into(),
        )
        .into());
    }
    if format != "json" && !marks.is_empty() {
        return Err(PollyError::MarksNotSupportedForFormat(format!(
            "Speech marks are not supported for OutputFormat {format}."
        ))
        .into());
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
        return Err(PollyError::InvalidSampleRate(format!(
            "Sample rate {r} is not valid for output format {format}."
        ))
        .into());
    }
    let rate: u32 = rate
        .and_then(|r| r.parse().ok())
        .unwrap_or(if format == "pcm" { 16_000 } else { 22_050 });
    let content_type = match format {
        "json" => "application/x-json-stream",
        "mp3" => "audio/mpeg",
        "ogg_vorbis" => "audio/ogg",
        _ => "audio/pcm",
    };
    let format = formats
        .iter()
        .copied()
        .find(|f| *f == format)
        .unwrap_or("pcm");
    let job = Speech {
        text: text.to_string(),
        ssml,
        voice: *voice,
        rate,
        format,
        spoken,
        marks: marks.iter().map(|m| (*m).to_string()).collect(),
    };
    // Synthesized with the writer released; the call then commits its record.
    let audio = env.prepared(job)?.map_err(PollyError::ServiceFailure)?;
    Ok(Value::structure()
        .with("AudioStream", Value::Blob(audio.as_ref().clone()))
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
        return Err(PollyError::InvalidNextToken(
            "The NextToken is not valid: every voice fits in one page.".into(),
        )
        .into());
    }
    let list = voices::ALL
        .iter()
        .filter(|v| engine.is_none_or(|e| v.engines.contains(&e)))
        .filter(|v| language.is_none_or(|l| v.language == l))
        .map(Voice::to_value)
        .collect();
    Ok(Value::structure().with("Voices", Value::List(list)))
}
