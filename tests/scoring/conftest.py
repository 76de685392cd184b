"""Fixtures: real AN4 test transcripts and a deterministic noisy "recognizer output"."""

from __future__ import annotations

import random

import pytest

from asr.corpora.an4 import parse_transcriptions


def corrupt(texts: dict[str, str], seed: int = 0, drop_last: int = 0) -> dict[str, str]:
    """Substitute, delete and insert words at fixed rates (seeded): a stand-in decoder output."""
    rng = random.Random(seed)
    vocab = sorted({w for t in texts.values() for w in t.split()})
    out = {}
    for utt in list(texts)[: len(texts) - drop_last]:
        hyp = []
        for word in texts[utt].split():
            r = rng.random()
            if r < 0.05:
                continue
            hyp.append(rng.choice(vocab) if r < 0.12 else word)
            if r > 0.97:
                hyp.append(rng.choice(vocab))
        out[utt] = " ".join(hyp)
    return out


@pytest.fixture(scope="session")
def an4_ref(an4_dir) -> dict[str, str]:
    return dict(sorted(parse_transcriptions(an4_dir / "etc" / "an4_test.transcription").items()))


@pytest.fixture(scope="session")
def an4_utt2spk(an4_ref) -> dict[str, str]:
    return {utt: utt.split("-")[1] for utt in an4_ref}


@pytest.fixture(scope="session")
def an4_hyp(an4_ref) -> dict[str, str]:
    return corrupt(an4_ref)
