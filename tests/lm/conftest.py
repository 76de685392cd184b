"""AN4 transcripts as LM text, and our Kneser-Ney models of orders 1-4 on them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asr.lm import estimate_kneser_ney

ETC = Path(__file__).resolve().parents[2] / "corpora" / "an4" / "etc"


def read_transcripts(path: Path) -> list[list[str]]:
    """Words of each line of an AN4 ``.transcription`` (no <s>, </s>, (utt-id))."""
    sentences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\s*\([^()]*\)\s*$", "", line)
        sentences.append([w for w in line.split() if w not in ("<s>", "</s>")])
    return sentences


@pytest.fixture(scope="session")
def an4_train_text() -> list[list[str]]:
    return read_transcripts(ETC / "an4_train.transcription")


@pytest.fixture(scope="session")
def an4_test_text() -> list[list[str]]:
    return read_transcripts(ETC / "an4_test.transcription")


@pytest.fixture(scope="session")
def an4_models(an4_train_text):
    """``{order: ArpaModel}`` for orders 1-4."""
    return {order: estimate_kneser_ney(an4_train_text, order) for order in (1, 2, 3, 4)}
