#!/usr/bin/env bash
# Installs what Polly's speech needs (espeak-ng speaks; lame and oggenc encode MP3
# and Ogg Vorbis) from Debian's packages, when they are missing. Without them the
# service still runs and only SynthesizeSpeech (and Lex's spoken answers) fail,
# with a message naming the package.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v lame >/dev/null || missing+=(lame)
command -v oggenc >/dev/null || missing+=(vorbis-tools)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "speech: missing ${missing[*]} and no root to install them; Polly's SynthesizeSpeech will fail until they are installed" >&2
    exit "${SPEECH_DEPS_REQUIRED:-1}"
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "speech: missing ${missing[*]}; install them with your package manager" >&2
  exit "${SPEECH_DEPS_REQUIRED:-1}"
fi
echo "speech: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
