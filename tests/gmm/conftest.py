"""AN4 fixtures for the GMM tests: real features, transcripts and the CMU lexicon."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asr.audio.io import load_audio
from asr.gmm.feats import mono_features

_TRANSCRIPT = re.compile(r"^(?P<text>.*)\((?P<utt>[^()]+)\)\s*$")


def read_an4_lexicon(path: Path) -> dict[str, list[list[str]]]:
    """``WORD  PH PH ...`` lines; ``WORD(2)`` adds an alternative pronunciation."""
    lexicon: dict[str, list[list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            word, *phones = line.split()
            lexicon.setdefault(re.sub(r"\(\d+\)$", "", word), []).append(phones)
    return lexicon


def read_an4_transcripts(path: Path) -> dict[str, list[str]]:
    texts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _TRANSCRIPT.match(line)
        if m:
            texts[m["utt"]] = [w for w in m["text"].split() if w not in ("<s>", "</s>")]
    return texts


@pytest.fixture(scope="session")
def an4_lexicon(an4_dir) -> dict[str, list[list[str]]]:
    return read_an4_lexicon(an4_dir / "etc" / "an4.dic")


@pytest.fixture(scope="session")
def an4_subset(an4_dir):
    """60 AN4 train utterances (about 16k frames): ``(feats, transcripts)``.

    Every 10th file id, so that the subset spans speakers and both kinds of
    prompts (isolated words and spelled/digit strings).
    """
    texts = read_an4_transcripts(an4_dir / "etc" / "an4_train.transcription")
    ids = (an4_dir / "etc" / "an4_train.fileids").read_text().split()[::10][:60]
    feats, transcripts = {}, {}
    for fid in ids:
        utt = fid.split("/")[-1]
        wave = load_audio(an4_dir / "wav" / f"{fid}.flac")
        feats[utt] = mono_features(wave)
        transcripts[utt] = texts[utt]
    return feats, transcripts


@pytest.fixture(scope="session")
def an4_heldout(an4_dir):
    """16 AN4 *test* utterances (held out from training): ``(feats, transcripts)``."""
    texts = read_an4_transcripts(an4_dir / "etc" / "an4_test.transcription")
    ids = (an4_dir / "etc" / "an4_test.fileids").read_text().split()[::8][:16]
    feats = {}
    for fid in ids:
        feats[fid.split("/")[-1]] = mono_features(load_audio(an4_dir / "wav" / f"{fid}.flac"))
    return feats, {u: texts[u] for u in feats}
