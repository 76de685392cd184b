"""Average model parameters of several checkpoints into one model file.

Floating-point tensors are averaged in float64 and cast back; other tensors (e.g.
BatchNorm's ``num_batches_tracked``) are taken from the last checkpoint given. The
output file is a dict ``{"format": "asr-model-v1", "model": state_dict,
"model_config": ..., "model_config_hash": ..., "averaged_from": [file names]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from asr.training.checkpoint import (CheckpointManager, check_model_config,
                                     load_checkpoint)
from asr.utils.io import atomic_open

MODEL_FORMAT = "asr-model-v1"


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of float tensors; keys and shapes must match."""
    if not states:
        raise ValueError("nothing to average")
    keys = list(states[-1])
    for i, sd in enumerate(states):
        if set(sd) != set(keys):
            raise ValueError(f"state dict {i} has different parameter names: "
                             f"{sorted(set(sd) ^ set(keys))[:5]}")
    out = {}
    for key in keys:
        last = states[-1][key]
        if last.is_floating_point():
            total = torch.zeros(last.shape, dtype=torch.float64)
            for sd in states:
                if sd[key].shape != last.shape:
                    raise ValueError(f"parameter {key}: shapes {tuple(sd[key].shape)} and "
                                     f"{tuple(last.shape)} differ")
                total += sd[key].to(torch.float64)
            out[key] = (total / len(states)).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


def average_checkpoints(paths: Sequence[str | Path]) -> dict:
    """Load ``paths`` and return a model file dict (see module docstring)."""
    ckpts = [load_checkpoint(p) for p in paths]
    for p, c in zip(paths[1:], ckpts[1:]):
        check_model_config(c["model_config"], ckpts[0]["model_config"], where=str(p))
    return {
        "format": MODEL_FORMAT,
        "model": average_state_dicts([c["model"] for c in ckpts]),
        "model_config": ckpts[0]["model_config"],
        "model_config_hash": ckpts[0]["model_config_hash"],
        "averaged_from": [Path(p).name for p in paths],
    }


def average_to_file(checkpoint_dir: str | Path, out_path: str | Path, num: int,
                    by: str = "last") -> list[Path]:
    """Average the ``num`` last (``by="last"``) or lowest-valid-loss (``by="best"``)
    checkpoints of ``checkpoint_dir`` into ``out_path`` (atomically); returns the inputs."""
    paths = CheckpointManager(checkpoint_dir).select(num, by)
    model_file = average_checkpoints(paths)
    with atomic_open(out_path, "wb") as handle:
        torch.save(model_file, handle)
    return paths


def load_model_file(path: str | Path) -> dict:
    """Read a model file written by :func:`average_to_file` (or a checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path} holds no model state")
    return state
