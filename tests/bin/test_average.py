"""`asr average` picks what exists when fewer checkpoints than asked for have a score."""

from __future__ import annotations

import logging

import torch

from asr.bin.main import main
from asr.training.averaging import load_model_file
from asr.training.checkpoint import FORMAT, CheckpointManager, config_hash


def save(manager: CheckpointManager, step: int, valid_loss: float | None) -> torch.Tensor:
    torch.manual_seed(step)
    weight = torch.randn(3, 2)
    config = {"hidden": 3}
    manager.save({"format": FORMAT, "model": {"w": weight}, "model_config": config,
                  "model_config_hash": config_hash(config)}, step, step, valid_loss)
    return weight


def test_best_averages_the_scored_checkpoints_when_fewer_than_asked(tmp_path, capsys,
                                                                    caplog):
    # as a run stopped by max_steps before this change left it: the last one unscored
    manager = CheckpointManager(tmp_path / "checkpoints", keep_last=5, keep_best=5)
    scored = [save(manager, 1, 0.9), save(manager, 2, 0.5)]
    save(manager, 3, None)
    with caplog.at_level(logging.WARNING):
        assert main(["average", "--exp-dir", str(tmp_path), "--num", "5", "--by", "best"]) == 0
    assert "5 best checkpoint(s) asked for, 2 available with a validation loss" in caplog.text
    assert "average of 2 checkpoints (best)" in capsys.readouterr().out
    averaged = load_model_file(tmp_path / "final.pt")["model"]["w"]
    assert torch.allclose(averaged, (scored[0] + scored[1]) / 2)


def test_no_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["average", "--exp-dir", str(tmp_path)]) != 0
    assert "no checkpoint to average; train first" in capsys.readouterr().err
