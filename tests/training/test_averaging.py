"""Checkpoint averaging equals the mean of the parameters."""

from __future__ import annotations

import pytest
import torch

from asr.training.averaging import average_to_file, load_model_file
from asr.training.checkpoint import FORMAT, CheckpointManager, config_hash


def model_state(seed: int) -> dict:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    model[1].num_batches_tracked += seed
    return model.state_dict()


def save(manager, step, loss, config=None):
    config = config or {"hidden": 3}
    manager.save({"format": FORMAT, "model": model_state(step), "model_config": config,
                  "model_config_hash": config_hash(config)}, step, 0, loss)


@pytest.mark.parametrize("by,steps", [("last", [3, 4]), ("best", [1, 3])])
def test_average_equals_mean(tmp_path, by, steps):
    manager = CheckpointManager(tmp_path / "ckpt", keep_last=10, keep_best=10)
    for step, loss in [(1, 0.5), (2, 0.9), (3, 0.7), (4, 0.8)]:
        save(manager, step, loss)
    used = average_to_file(tmp_path / "ckpt", tmp_path / "avg.pt", 2, by=by)
    assert sorted(int(p.stem.split("-")[1]) for p in used) == steps
    avg = load_model_file(tmp_path / "avg.pt")
    states = [model_state(s) for s in steps]
    for key in ("0.weight", "0.bias", "1.running_mean", "1.running_var"):
        expected = (states[0][key] + states[1][key]) / 2
        assert torch.allclose(avg["model"][key], expected, atol=1e-7), key
    # integer buffers come from the last checkpoint given
    assert avg["model"]["1.num_batches_tracked"] == states[-1]["1.num_batches_tracked"]
    assert avg["model_config"] == {"hidden": 3}


def test_mismatched_model_configs_are_not_averaged(tmp_path):
    manager = CheckpointManager(tmp_path, keep_last=5)
    save(manager, 1, None, {"hidden": 3})
    save(manager, 2, None, {"hidden": 4})
    with pytest.raises(ValueError, match="hidden"):
        average_to_file(tmp_path, tmp_path / "avg.pt", 2)
    assert not (tmp_path / "avg.pt").exists()
