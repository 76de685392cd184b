"""Checkpoint files: retention, best tracking, RNG round trip, config differences."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from asr.training.checkpoint import (FORMAT, CheckpointManager, capture_rng_state,
                                     check_model_config, config_differences, config_hash,
                                     load_checkpoint, restore_rng_state)


def state(step: int) -> dict:
    return {"format": FORMAT, "model": {"w": torch.full((2,), float(step))}, "step": step}


def test_keeps_last_k_and_best_n(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=2, keep_best=2)
    losses = {1: 5.0, 2: 1.0, 3: 3.0, 4: 2.0, 5: 4.0, 6: None}
    for step, loss in losses.items():
        manager.save(state(step), step, epoch=step, valid_loss=loss)
    kept = sorted(p.name for p in tmp_path.glob("ckpt-*.pt"))
    # last two (5, 6) plus the two best by loss (2, 4)
    assert kept == ["ckpt-00000002.pt", "ckpt-00000004.pt", "ckpt-00000005.pt",
                    "ckpt-00000006.pt"]
    assert manager.latest().name == "ckpt-00000006.pt"
    assert manager.best().name == "ckpt-00000002.pt"
    assert torch.equal(load_checkpoint(tmp_path / "best.pt")["model"]["w"], torch.full((2,), 2.0))
    assert [p.name for p in manager.select(2, "best")] == ["ckpt-00000002.pt",
                                                           "ckpt-00000004.pt"]
    with pytest.raises(ValueError, match="asked for 5 best"):
        manager.select(5, "best")


def test_index_names_only_complete_files(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=3)
    manager.save(state(1), 1, 0)
    (tmp_path / "ckpt-00000001.pt").unlink()  # e.g. removed by hand
    assert manager.latest() is None


def test_foreign_file_is_rejected(tmp_path):
    torch.save({"weights": torch.ones(1)}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not an asr-checkpoint-v1"):
        load_checkpoint(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_rng_round_trip(tmp_path):
    saved = capture_rng_state()
    torch.save({"rng": saved}, tmp_path / "rng.pt")
    a = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_config_differences_name_nested_keys():
    saved = {"encoder": {"dim": 256, "layers": 12}, "vocab": 300}
    current = {"encoder": {"dim": 256, "layers": 6}, "vocab": 300, "dropout": 0.1}
    assert config_differences(saved, current) == ["dropout", "encoder.layers"]
    assert config_hash(saved) != config_hash(current)
    assert config_hash(saved) == config_hash({"vocab": 300, "encoder": {"layers": 12, "dim": 256}})
    with pytest.raises(ValueError, match=r"encoder.layers \(checkpoint: 12, current: 6\)"):
        check_model_config(saved, current)
    check_model_config(saved, dict(saved))
