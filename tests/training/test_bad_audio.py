"""Training on a data dir with unusable audio: bad files are skipped and counted, a batch
of nothing but bad files stops with a message naming them, and checkpoints survive."""

from __future__ import annotations

import logging

import pytest
import yaml

from asr.training.checkpoint import CheckpointManager
from asr.training.experiment import train
from asr.training.logging import read_log
from tests.training.test_experiment import CONFIG, data_dir


def corrupt(path, tmp_path, name):
    """A copy of ``path`` cut to its first 200 bytes (a truncated FLAC)."""
    bad = tmp_path / f"{name}.flac"
    bad.write_bytes(path.read_bytes()[:200])
    return bad


def test_unreadable_utterances_are_skipped_and_counted(an4_subset, tmp_path, caplog):
    utts = an4_subset.utt_ids[:12]
    train_dir = data_dir(an4_subset, tmp_path / "train", utts)
    bad_utt = utts[3]
    wav_scp = (train_dir / "wav.scp").read_text().splitlines()
    wav_scp = [f"{bad_utt} {corrupt(an4_subset.paths[bad_utt], tmp_path, 'bad')}"
               if line.startswith(bad_utt + " ") else line for line in wav_scp]
    (train_dir / "wav.scp").write_text("\n".join(wav_scp) + "\n")
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(CONFIG))
    with caplog.at_level(logging.WARNING):
        result = train(tmp_path / "conf.yaml", train_dir, None, tmp_path / "exp")
    assert result["epoch"] == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"skipping utterance {bad_utt}" in m for m in messages)
    assert any("1 training utterance(s) skipped" in m for m in messages)
    records = read_log(tmp_path / "exp" / "log" / "train_log.jsonl", "train")
    assert records[-1]["skipped_utts"] == 1


def test_batch_of_only_bad_audio_names_the_files_and_keeps_checkpoints(an4_subset, tmp_path):
    utts = an4_subset.utt_ids[:6]
    train_dir = data_dir(an4_subset, tmp_path / "train", utts)
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(CONFIG))
    exp = tmp_path / "exp"
    train(tmp_path / "conf.yaml", train_dir, None, exp)
    saved = CheckpointManager(exp / "checkpoints").latest()
    assert saved is not None
    # every file goes bad, then a second epoch is asked for
    lines = []
    for utt in utts:
        lines.append(f"{utt} {corrupt(an4_subset.paths[utt], tmp_path, utt)}")
    (train_dir / "wav.scp").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="every utterance of a batch has unusable audio"):
        train(tmp_path / "conf.yaml", train_dir, None, exp, overrides=["trainer.epochs=2"])
    assert CheckpointManager(exp / "checkpoints").latest() == saved
    assert saved.is_file()
