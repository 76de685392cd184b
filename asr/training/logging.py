"""Training logs: ``train_log.jsonl`` (always) and TensorBoard events (if installed).

``<log_dir>/train_log.jsonl`` holds one JSON object per line: ``{"kind": "train",
"step", "epoch", "lr", "loss", ...}`` every ``log_every_steps`` optimizer steps and
before each mid-epoch checkpoint (averages over the steps since the last record), and
``{"kind": "valid", ...}`` after each validation. Each line is written with one call
and flushed. On resume, lines past the resumed step are dropped so that a crash
between checkpoints leaves no duplicate steps.

TensorBoard events go to ``<log_dir>/tensorboard/`` when the ``tensorboard`` package
is importable and ``tensorboard=True``; otherwise only the JSONL log is written.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Mapping

from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf
    return value


class TrainLogger:
    """Writes on the main process only (``enabled=False`` elsewhere)."""

    def __init__(self, log_dir: str | Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.dir = Path(log_dir)
        self.enabled = enabled
        self.jsonl_path = self.dir / "train_log.jsonl"
        self._writer = None
        if not enabled:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.info("tensorboard is not installed: logging to %s only", self.jsonl_path)
            else:
                self._writer = SummaryWriter(str(self.dir / "tensorboard"))

    @property
    def has_tensorboard(self) -> bool:
        return self._writer is not None

    def truncate_after(self, step: int) -> None:
        """Drop JSONL records with ``step > step`` (used when resuming)."""
        if not self.enabled or not self.jsonl_path.is_file():
            return
        kept = []
        for line in self.jsonl_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash
            if record.get("step", 0) <= step:
                kept.append(line)
        atomic_write_text(self.jsonl_path, "".join(f"{line}\n" for line in kept))

    def log(self, kind: str, step: int, values: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"kind": kind, "step": step}
        record.update({k: _json_value(v) for k, v in values.items()})
        with open(self.jsonl_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
        if self._writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                    self._writer.add_scalar(f"{kind}/{key}", value, step)
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_log(path: str | Path, kind: str | None = None) -> list[dict]:
    """Records of a ``train_log.jsonl`` (optionally only one ``kind``)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if kind is None or record.get("kind") == kind:
                records.append(record)
    return records
