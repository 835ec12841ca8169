//! Speech from espeak-ng: 16-bit mono samples, resampled to the asked rate, then
//! raw (`pcm`), MP3 through lame or Ogg Vorbis through oggenc. The programs are
//! Debian's (`espeak-ng`, `lame`, `vorbis-tools`); when one is missing the call
//! fails with a message naming the package, and nothing else is affected.

use super::voices::Voice;
use crate::error::PollyError;
use std::io::{ErrorKind, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use trailguard_core::error::Result;

/// What to say, and how.
pub struct Request<'a> {
    pub text: &'a str,
    pub ssml: bool,
    pub voice: &'a Voice,
    /// Output sample rate in Hz.
    pub rate: u32,
}

/// How long one program may run: far more than Polly's longest text takes, so
/// only a stuck program reaches it (and is killed, freeing its worker).
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a program with `input` on stdin and returns its stdout.
fn run(program: &str, package: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>> {
    trailguard_core::prepare::outside_transaction()?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => PollyError::ServiceFailure(format!(
                "Speech synthesis needs {program}, which is not installed on this host (Debian package {package})."
            )),
            _ => PollyError::ServiceFailure(format!("Could not start {program}: {e}")),
        })?;
    let failed = |e: std::io::Error| PollyError::ServiceFailure(format!("{program} failed: {e}"));
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (status, out, err) = std::thread::scope(|s| {
        // Feed stdin and drain both outputs from other threads, so no pipe fills
        // and the deadline below is always checked.
        s.spawn(move || {
            if let Some(mut w) = stdin.take() {
                let _ = w.write_all(input);
            }
        });
        let out = s.spawn(move || drain(stdout));
        let err = s.spawn(move || drain(stderr));
        let deadline = Instant::now() + PROGRAM_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(std::io::Error::other(format!(
                        "did not finish within {} s",
                        PROGRAM_TIMEOUT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => break Err(e),
            }
        };
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        (status, out, err)
    });
    let status = status.map_err(failed)?;
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(PollyError::ServiceFailure(format!("{program} failed: {}", err.trim())).into());
    }
    Ok(out)
}

/// Everything a child writes to one pipe.
fn drain(pipe: Option<impl Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = pipe {
        let _ = r.read_to_end(&mut buf);
    }
    buf
}

/// The samples and rate of a WAV stream (espeak-ng writes one chunk of 16-bit mono;
/// streamed to a pipe, its sizes are placeholders, so the data runs to the end).
fn parse_wav(wav: &[u8]) -> Result<(Vec<i16>, u32)> {
    let bad = || PollyError::ServiceFailure("espeak-ng produced no usable audio".into());
    if wav.get(0..4) != Some(b"RIFF") || wav.get(8..12) != Some(b"WAVE") {
        return Err(bad().into());
    }
    let mut pos = 12;
    let mut rate = None;
    while let Some(header) = wav.get(pos..pos + 8) {
        let id = header.get(0..4).ok_or_else(bad)?;
        let size_bytes: [u8; 4] = header
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let size = usize::try_from(u32::from_le_bytes(size_bytes)).map_err(|_| bad())?;
        let body = pos + 8;
        if id == b"fmt " {
            let r: [u8; 4] = wav
                .get(body + 4..body + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(bad)?;
            rate = Some(u32::from_le_bytes(r));
        } else if id == b"data" {
            let data = wav.get(body..).ok_or_else(bad)?;
            let samples = data
                .chunks_exact(2)
                .map(|c| {
                    i16::from_le_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            return Ok((samples, rate.ok_or_else(bad)?));
        }
        pos = body.saturating_add(size);
    }
    Err(bad().into())
}

/// Linear resampling; speech survives it well enough for every rate Polly offers.
fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let out_len = usize::try_from(
        u64::try_from(samples.len()).unwrap_or(0) * u64::from(to) / u64::from(from),
    )
    .unwrap_or(0);
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "sample positions are small and non-negative"
            )]
            let (at, idx) = {
                let at = i as f64 * step;
                (at, at.floor() as usize)
            };
            let a = f64::from(samples.get(idx).copied().unwrap_or(0));
            let b = f64::from(samples.get(idx + 1).copied().unwrap_or(0));
            #[allow(
                clippy::cast_possible_truncation,
                reason = "interpolated between two i16"
            )]
            let s = (a + (b - a) * at.fract()).round() as i16;
            s
        })
        .collect()
}

/// Mono 16-bit samples at the requested rate.
fn samples(req: &Request<'_>) -> Result<Vec<i16>> {
    let mut args = vec!["--stdout", "--stdin", "-v", req.voice.espeak];
    if req.ssml {
        args.push("-m");
    }
    let wav = run("espeak-ng", "espeak-ng", &args, req.text.as_bytes())?;
    let (samples, rate) = parse_wav(&wav)?;
    Ok(resample(&samples, rate, req.rate))
}

fn le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Signed 16-bit little-endian mono, as Polly's `pcm`.
pub fn pcm(req: &Request<'_>) -> Result<Vec<u8>> {
    Ok(le_bytes(&samples(req)?))
}

/// MPEG layer III.
pub fn mp3(req: &Request<'_>) -> Result<Vec<u8>> {
    let raw = le_bytes(&samples(req)?);
    let khz = match req.rate {
        8_000 => "8",
        16_000 => "16",
        24_000 => "24",
        _ => "22.05",
    };
    run(
        "lame",
        "lame",
        &[
            "--quiet",
            "-r",
            "-s",
            khz,
            "--bitwidth",
            "16",
            "--signed",
            "--little-endian",
            "-m",
            "m",
            "-",
            "-",
        ],
        &raw,
    )
}

/// Ogg Vorbis.
pub fn ogg(req: &Request<'_>) -> Result<Vec<u8>> {
    let raw = le_bytes(&samples(req)?);
    let rate = req.rate.to_string();
    run(
        "oggenc",
        "vorbis-tools",
        &[
            "-Q",
            "-r",
            "-B",
            "16",
            "-C",
            "1",
            "-R",
            &rate,
            "--raw-endianness",
            "0",
            "-o",
            "-",
            "-",
        ],
        &raw,
    )
}

/// The words of an SSML document, checked for the shape Polly requires.
pub fn ssml_text(ssml: &str) -> Result<String> {
    let invalid = || PollyError::InvalidSsml("Invalid SSML request".into()).into();
    let t = ssml.trim();
    if !t.starts_with("<speak") || !t.ends_with("</speak>") {
        return Err(invalid());
    }
    let mut out = String::new();
    let mut depth = 0i32;
    let mut in_tag = false;
    let mut tag = String::new();
    for c in t.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (false, '>') => return Err(invalid()),
            (false, c) => out.push(c),
            (true, '>') => {
                in_tag = false;
                if tag.starts_with('/') {
                    depth -= 1;
                } else if !tag.ends_with('/') && !tag.starts_with('?') {
                    depth += 1;
                }
                if depth < 0 {
                    return Err(invalid());
                }
            }
            (true, '<') => return Err(invalid()),
            (true, c) => tag.push(c),
        }
    }
    if in_tag || depth != 0 {
        return Err(invalid());
    }
    Ok(out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string())
}

/// Speech marks as Polly streams them, one JSON object a line: sentences and
/// words with their byte offsets in `text`, timed by spreading the synthesized
/// duration over the characters.
pub fn speech_marks(req: &Request<'_>, text: &str, kinds: &[&str]) -> Result<Vec<u8>> {
    let rate = 22_050;
    let audio = samples(&Request { rate, ..*req })?;
    let duration_ms = u64::try_from(audio.len()).unwrap_or(0) * 1000 / u64::from(rate);
    let total = u64::try_from(text.len().max(1)).unwrap_or(1);
    let at = |offset: usize| u64::try_from(offset).unwrap_or(0) * duration_ms / total;
    let mut marks: Vec<(u64, usize, serde_json::Value)> = Vec::new();
    if kinds.contains(&"sentence") {
        let mut start = None;
        for (i, c) in text.char_indices() {
            if start.is_none() && !c.is_whitespace() {
                start = Some(i);
            }
            let end = i + c.len_utf8();
            let at_end = end == text.len();
            if let Some(s) = start
                && (matches!(c, '.' | '!' | '?') || at_end)
            {
                let value = text.get(s..end).unwrap_or_default();
                marks.push((at(s), 0, serde_json::json!({"time": at(s), "type": "sentence", "start": s, "end": end, "value": value})));
                start = None;
            }
        }
    }
    if kinds.contains(&"word") {
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            let word_char = c.is_alphanumeric() || c == '\'' || c == '-';
            match (start, word_char) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    let value = text.get(s..i).unwrap_or_default();
                    marks.push((at(s), 1, serde_json::json!({"time": at(s), "type": "word", "start": s, "end": i, "value": value})));
                    start = None;
                }
                _ => {}
            }
        }
    }
    marks.sort_by_key(|(t, order, _)| (*t, *order));
    let mut out = Vec::new();
    for (_, _, m) in marks {
        out.extend_from_slice(m.to_string().as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn ssml_is_checked_and_stripped() {
        assert_eq!(
            ssml_text("<speak>Hello <break time=\"1s\"/> &amp; <emphasis>bye</emphasis></speak>")
                .unwrap(),
            "Hello  & bye"
        );
        assert!(ssml_text("Hello").is_err());
        assert!(ssml_text("<speak>Hello <b></speak>").is_err());
        assert!(ssml_text("<speak>a > b</speak>").is_err());
    }

    #[test]
    fn wav_is_parsed_and_resampled() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        wav.extend_from_slice(&22_050u32.to_le_bytes());
        wav.extend_from_slice(&[0x44, 0xac, 0, 0, 2, 0, 16, 0]);
        wav.extend_from_slice(b"data\xff\xff\xff\x7f");
        wav.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0]);
        let (s, rate) = parse_wav(&wav).unwrap();
        assert_eq!((s.as_slice(), rate), ([1i16, 2, 3, 4].as_slice(), 22_050));
        assert!(parse_wav(b"RIFFxxxxWAVE").is_err());
        assert!(parse_wav(b"nothing").is_err());
        let up = resample(&[0, 100], 1, 2);
        assert_eq!(up, vec![0, 50, 100, 50]);
        assert_eq!(resample(&[0; 22_050], 22_050, 16_000).len(), 16_000);
    }
}
