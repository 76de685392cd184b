from __future__ import annotations

import pytest

from asr.scoring.kaldi_text import read_text, read_utt2spk


def test_read_text(tmp_path):
    path = tmp_path / "text"
    path.write_text("u2 HELLO  WORLD\nu1\n\nu3 A\n")
    assert read_text(path) == {"u2": "HELLO WORLD", "u1": "", "u3": "A"}


def test_duplicate_id_names_the_line(tmp_path):
    path = tmp_path / "text"
    path.write_text("u1 A\nu1 B\n")
    with pytest.raises(ValueError, match=r"text:2: duplicate utterance id 'u1'"):
        read_text(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_text(tmp_path / "nope")


def test_read_utt2spk(tmp_path):
    path = tmp_path / "utt2spk"
    path.write_text("u1 s1\nu2 s2\n")
    assert read_utt2spk(path) == {"u1": "s1", "u2": "s2"}
    path.write_text("u1 s1 extra\n")
    with pytest.raises(ValueError, match="utt2spk:1"):
        read_utt2spk(path)
