"""Checkpoints: atomic files, an index, retention, RNG capture and config checks.

Layout of ``<exp>/checkpoints/``::

    ckpt-00001000.pt     one checkpoint per saved optimizer step (torch.save of a dict)
    best.pt             hard link (or copy) of the checkpoint with the lowest valid loss
    index.json          [{"file", "step", "epoch", "valid_loss"}...] in save order

A checkpoint is written to a temporary file, fsynced and renamed into place
(:func:`asr.utils.io.atomic_open`); the index is rewritten the same way; only then are
old checkpoints deleted. A crash at any point leaves the last good checkpoint and an
index that names only complete files; the next save removes the temporary files a
killed run left.

Checkpoint dict (``FORMAT = "asr-checkpoint-v1"``): ``format``, ``model`` (state dict),
``optimizer``, ``scheduler``, ``scaler`` (or None), ``sampler`` (position in epoch),
``epoch``, ``step``, ``rng`` (one entry per rank: python, numpy, torch, cuda),
``model_config`` (dict) and ``model_config_hash``, ``trainer_config``, ``valid_loss``,
``best_valid_loss``, ``bad_epochs``. Every value is plain data or tensors, so it loads
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from asr.utils.io import atomic_open, atomic_write_text

log = logging.getLogger(__name__)

FORMAT = "asr-checkpoint-v1"
_NAME = re.compile(r"^ckpt-(\d+)\.pt$")


# -- model config ------------------------------------------------------------
def _canonical(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    return obj


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the config's canonical JSON (sorted keys)."""
    text = json.dumps(_canonical(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, Mapping):
        out: dict[str, Any] = {}
        for key, value in config.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: _canonical(config)}


def config_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Dotted keys whose values differ (or exist on one side only), sorted."""
    a, b = _flatten(saved), _flatten(current)
    return sorted(k for k in set(a) | set(b) if a.get(k, KeyError) != b.get(k, KeyError))


def check_model_config(saved: Mapping[str, Any], current: Mapping[str, Any],
                       where: str = "checkpoint") -> None:
    """Raise ValueError naming the differing keys if the model configs differ."""
    diff = config_differences(saved, current)
    if diff:
        a, b = _flatten(saved), _flatten(current)
        details = ", ".join(
            f"{k} (checkpoint: {a.get(k, '<missing>')!r}, current: {b.get(k, '<missing>')!r})"
            for k in diff[:10]
        )
        more = f" and {len(diff) - 10} more" if len(diff) > 10 else ""
        raise ValueError(f"{where}: model config differs from the current one in {details}{more}")


# -- RNG ---------------------------------------------------------------------
def capture_rng_state() -> dict:
    """Python, numpy, torch (CPU) and CUDA generator states as plain data / tensors."""
    np_state = np.random.get_state()
    return {
        "python": _to_plain(random.getstate()),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                  "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _to_plain(obj: Any) -> Any:
    return [_to_plain(v) for v in obj] if isinstance(obj, (tuple, list)) else obj


def _to_tuple(obj: Any) -> Any:
    return tuple(_to_tuple(v) for v in obj) if isinstance(obj, list) else obj


def restore_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(_to_tuple(state["python"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        if len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])
        else:
            log.warning("checkpoint has %d CUDA RNG states, this machine %d devices: "
                        "CUDA RNG not restored", len(state["cuda"]), torch.cuda.device_count())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- files -------------------------------------------------------------------
def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temporary file, fsync, rename.

    A failed write (disk full: ENOSPC, file size limit: EFBIG, ...) raises OSError
    naming ``path``, with the errno; ``path`` is left as it was."""
    try:
        with atomic_open(path, "wb") as handle:
            torch.save(dict(state), handle)
    except (OSError, RuntimeError) as err:
        # torch.save reports a failed write as a RuntimeError about zip positions
        # ("unexpected pos ..."), with the OSError only as its context.
        cause = err if isinstance(err, OSError) else err.__context__
        if isinstance(cause, OSError) and cause.errno is not None:
            raise OSError(cause.errno, f"cannot write checkpoint {path}: "
                                       f"{os.strerror(cause.errno)}") from err
        raise


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint on CPU; FileNotFoundError / ValueError name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a torn or foreign file
        raise ValueError(f"cannot read checkpoint {path}: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} checkpoint")
    return state


class CheckpointManager:
    """Saves checkpoints under ``directory``, keeping the last ``keep_last`` plus the
    ``keep_best`` with the lowest validation loss (0 = keep none by loss), and
    maintains ``best.pt``."""

    def __init__(self, directory: str | Path, keep_last: int = 3, keep_best: int = 0) -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.dir = Path(directory)
        self.keep_last = keep_last
        self.keep_best = keep_best
        self.index_path = self.dir / "index.json"

    # index
    def entries(self) -> list[dict]:
        """Index entries (complete checkpoints) in save order."""
        if self.index_path.is_file():
            try:
                entries = json.loads(self.index_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise ValueError(f"corrupt checkpoint index {self.index_path}: {err}") from None
            return [e for e in entries if (self.dir / e["file"]).is_file()]
        # no index (e.g. files copied by hand): fall back to the file names
        files = sorted(p for p in self.dir.glob("ckpt-*.pt") if _NAME.match(p.name))
        return [{"file": p.name, "step": int(_NAME.match(p.name).group(1)), "epoch": None,
                 "valid_loss": None} for p in files]

    def latest(self) -> Path | None:
        entries = self.entries()
        return self.dir / entries[-1]["file"] if entries else None

    def best(self) -> Path | None:
        scored = [e for e in self.entries() if e.get("valid_loss") is not None]
        if not scored:
            return None
        return self.dir / min(scored, key=lambda e: (e["valid_loss"], -e["step"]))["file"]

    def select(self, num: int, by: str = "last") -> list[Path]:
        """The ``num`` last checkpoints, or the ``num`` with the lowest valid loss."""
        entries = self.entries()
        if by == "last":
            chosen = entries[-num:]
        elif by == "best":
            scored = [e for e in entries if e.get("valid_loss") is not None]
            chosen = sorted(scored, key=lambda e: (e["valid_loss"], -e["step"]))[:num]
        else:
            raise ValueError(f"select by 'last' or 'best', got {by!r}")
        if len(chosen) < num:
            raise ValueError(f"{self.dir}: asked for {num} {by} checkpoints, "
                             f"found {len(chosen)}")
        return [self.dir / e["file"] for e in chosen]

    # save / prune
    def save(self, state: Mapping[str, Any], step: int, epoch: int,
             valid_loss: float | None = None) -> Path:
        name = f"ckpt-{step:08d}.pt"
        path = self.dir / name
        save_checkpoint(state, path)  # new file complete before anything is removed
        entries = [e for e in self.entries() if e["file"] != name]
        entries.append({"file": name, "step": step, "epoch": epoch, "valid_loss": valid_loss})
        keep = self._to_keep(entries)
        atomic_write_text(self.index_path, json.dumps([e for e in entries if e["file"] in keep],
                                                      indent=1) + "\n")
        self._update_best()
        for entry in entries:
            if entry["file"] not in keep:
                try:
                    (self.dir / entry["file"]).unlink()
                except FileNotFoundError:
                    pass
        # Temporary files of a run killed while saving (one process saves here: stale).
        for stale in self.dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        return path

    def _to_keep(self, entries: list[dict]) -> set[str]:
        keep = {e["file"] for e in entries[-self.keep_last:]}
        scored = sorted((e for e in entries if e.get("valid_loss") is not None),
                        key=lambda e: (e["valid_loss"], -e["step"]))
        keep.update(e["file"] for e in scored[: max(self.keep_best, 1)])  # always the best
        return keep

    def _update_best(self) -> None:
        best = self.best()
        if best is None:
            return
        target = self.dir / "best.pt"
        tmp = self.dir / ".best.pt.tmp"
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        try:
            os.link(best, tmp)
        except OSError:
            import shutil

            shutil.copyfile(best, tmp)
        os.replace(tmp, target)
