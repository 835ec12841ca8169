"""Amazon Polly through boto3 and the AWS CLI: real, playable speech in every
output format, speech marks, SSML, Polly's errors, and what the trail keeps."""

import json
import struct

from e2e_util import make_user, raises_aws


def speak(polly, **kw):
    args = {"Text": "Hello from trailguard.", "VoiceId": "Joanna", "OutputFormat": "mp3", **kw}
    out = polly.synthesize_speech(**args)
    return out, out["AudioStream"].read()


def test_every_output_format_is_real_audio(server):
    polly = server.client("polly")
    out, mp3 = speak(polly)
    assert out["ContentType"] == "audio/mpeg"
    assert out["RequestCharacters"] == len("Hello from trailguard.")
    assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0)
    out, ogg = speak(polly, OutputFormat="ogg_vorbis")
    assert out["ContentType"] == "audio/ogg"
    assert ogg[:4] == b"OggS" and b"vorbis" in ogg[:64]
    # The sample rate is in the Vorbis identification header.
    assert struct.unpack("<I", ogg[40:44])[0] == 22050
    out, pcm16 = speak(polly, OutputFormat="pcm")
    assert out["ContentType"] == "audio/pcm"
    _, pcm8 = speak(polly, OutputFormat="pcm", SampleRate="8000")
    # Signed 16-bit mono: the 8 kHz stream is half as long, and it is not silence.
    assert len(pcm16) % 2 == 0 and abs(len(pcm16) / len(pcm8) - 2) < 0.01
    seconds = len(pcm16) / 2 / 16000
    assert 0.8 < seconds < 4, seconds
    samples = struct.unpack(f"<{len(pcm16) // 2}h", pcm16)
    assert max(abs(s) for s in samples) > 1000


def test_speech_marks_and_ssml(server, tmp_path):
    polly = server.client("polly")
    out, marks = speak(polly, Text="Hello there. How are you?", OutputFormat="json", SpeechMarkTypes=["word", "sentence"])
    assert out["ContentType"] == "application/x-json-stream"
    lines = [json.loads(line) for line in marks.decode().splitlines()]
    assert [m["value"] for m in lines if m["type"] == "sentence"] == ["Hello there.", "How are you?"]
    words = [m for m in lines if m["type"] == "word"]
    assert [w["value"] for w in words] == ["Hello", "there", "How", "are", "you"]
    assert [w["time"] for w in words] == sorted(w["time"] for w in words) and words[-1]["time"] > 0
    text = "Hello there. How are you?"
    assert all(text.encode()[w["start"]:w["end"]].decode() == w["value"] for w in words)
    out, _ = speak(polly, Text="<speak>Hello <break time='300ms'/> <emphasis>world</emphasis></speak>", TextType="ssml")
    assert out["RequestCharacters"] == len("Hello  world")
    # The AWS CLI writes the audio to a file, as a person would use it.
    target = tmp_path / "hello.mp3"
    answer = server.aws("polly", "synthesize-speech", "--text", "Hi", "--voice-id", "Brian", "--output-format", "mp3", str(target))
    assert answer["ContentType"] == "audio/mpeg" and target.stat().st_size > 500


def test_polly_errors(server):
    polly = server.client("polly")
    with raises_aws("InvalidSsmlException", 400):
        speak(polly, Text="<speak>unclosed", TextType="ssml")
    with raises_aws("TextLengthExceededException", 400):
        speak(polly, Text="a" * 3001)
    with raises_aws("ValidationException", 400, "voiceId"):
        speak(polly, VoiceId="Nobody")
    with raises_aws("MarksNotSupportedForFormatException", 400):
        speak(polly, OutputFormat="mp3", SpeechMarkTypes=["word"])
    with raises_aws("InvalidSampleRateException", 400):
        speak(polly, OutputFormat="pcm", SampleRate="22050")
    with raises_aws("EngineNotSupportedException", 400):
        speak(polly, VoiceId="Raveena", Engine="neural")
    with raises_aws("LanguageNotSupportedException", 400):
        speak(polly, LanguageCode="fr-FR")


def test_describe_voices(server):
    polly = server.client("polly")
    every = polly.describe_voices()["Voices"]
    assert len(every) >= 60
    salli = next(v for v in every if v["Id"] == "Salli")
    assert salli == {"Gender": "Female", "Id": "Salli", "LanguageCode": "en-US", "LanguageName": "US English",
                     "Name": "Salli", "SupportedEngines": ["neural", "standard"]}
    british = polly.describe_voices(LanguageCode="en-GB")["Voices"]
    assert {v["Id"] for v in british} == {"Amy", "Emma", "Brian", "Arthur"}
    assert all("neural" in v["SupportedEngines"] for v in polly.describe_voices(Engine="neural")["Voices"])
    # Every voice speaks.
    for voice in ("Hans", "Celine", "Takumi"):
        _, pcm = speak(polly, VoiceId=voice, Text="Guten Tag", OutputFormat="pcm")
        assert len(pcm) > 8000, voice


def test_trail_hides_the_text_and_permissions_apply(server):
    polly = server.client("polly")
    seq = server.max_seq()
    speak(polly, Text="a very private sentence")
    rec = [e for e in server.events_since(seq) if e["eventName"] == "SynthesizeSpeech"][-1]
    assert rec["eventSource"] == "polly.amazonaws.com"
    assert rec["requestParameters"]["text"] == "**********"
    assert rec["responseElements"] == {"contentType": "audio/mpeg", "requestCharacters": 23}
    assert "private sentence" not in json.dumps(server.events_since(seq))
    user = make_user(server, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "polly:DescribeVoices", "Resource": "*"}]})
    limited = server.client("polly", **user.creds)
    assert limited.describe_voices(LanguageCode="en-US")["Voices"]
    with raises_aws("AccessDeniedException", 403, "polly:SynthesizeSpeech"):
        speak(limited)


def test_without_a_speech_engine_only_synthesis_fails(fresh_server):
    srv = fresh_server.start(extra_env={"PATH": "/nonexistent"})
    polly = srv.client("polly")
    with raises_aws("ServiceFailureException", 500, "espeak-ng"):
        speak(polly)
    assert polly.describe_voices()["Voices"]
    assert srv.client("sts").get_caller_identity()["Account"]
