"""Training an ARPA model from a text file: our estimator, or KenLM's ``lmplz`` when on PATH.

The text file has one sentence per line, words separated by whitespace, without
``<s>``/``</s>``. ``lmplz`` (build it with ``scripts/build_lmplz.sh``) streams from disk
and is the choice for large corpora; both give the same model (interpolated modified
Kneser-Ney with ``<unk>``), except that lmplz writes ``<s>`` with log10 probability 0
where we write -99.
"""

from __future__ import annotations

import os
import shutil
import sys
import subprocess
from pathlib import Path
from typing import Sequence

from asr.lm.arpa import write_arpa
from asr.lm.estimate import estimate_kneser_ney

# Corpora larger than this go to lmplz when it is available (backend="auto").
LMPLZ_MIN_BYTES = 50_000_000


def lmplz_path() -> str | None:
    """Path of the ``lmplz`` executable: on PATH, or beside this Python interpreter
    (``scripts/setup_env.sh --dev`` builds it into the virtual environment's bin/);
    None when there is none."""
    found = shutil.which("lmplz")
    if found is None:
        beside = Path(sys.executable).parent / "lmplz"
        found = str(beside) if os.access(beside, os.X_OK) else None
    return found


def read_sentences(path: str | Path) -> list[list[str]]:
    """Whitespace-tokenized lines of a text file (every line is a sentence)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LM training text not found: {path}")
    with open(path, encoding="utf-8") as handle:
        return [line.split() for line in handle]


def run_lmplz(
    text: str | Path,
    arpa: str | Path,
    order: int,
    memory: str = "10%",
    discount_fallback: Sequence[float] | None = None,
    prune: Sequence[int] | None = None,
    temp_dir: str | Path | None = None,
) -> None:
    """Run ``lmplz -o order`` on ``text``, writing ``arpa`` atomically.

    ``prune``: lmplz's count thresholds per order (``--prune``); ``memory``: its ``-S``.
    Raises FileNotFoundError when lmplz is not on PATH and RuntimeError with the end of
    its log when it fails.
    """
    exe = lmplz_path()
    if exe is None:
        raise FileNotFoundError("lmplz is not on PATH (build it with scripts/build_lmplz.sh)")
    text, arpa = Path(text), Path(arpa)
    if not text.is_file():
        raise FileNotFoundError(f"LM training text not found: {text}")
    cmd = [exe, "-o", str(order), "-S", memory, "-T", str(temp_dir or arpa.parent)]
    if discount_fallback is not None:
        cmd += ["--discount_fallback", *map(str, discount_fallback)]
    if prune is not None:
        cmd += ["--prune", *map(str, prune)]
    arpa.parent.mkdir(parents=True, exist_ok=True)
    tmp = arpa.with_name(f".{arpa.name}.tmp")
    with open(text, "rb") as stdin, open(tmp, "wb") as stdout:
        proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"lmplz failed on {text} (exit {proc.returncode}): " + " | ".join(tail))
    tmp.replace(arpa)


def train_arpa(
    text: str | Path,
    arpa: str | Path,
    order: int,
    backend: str = "auto",
    discount_fallback: Sequence[float] | None = None,
) -> str:
    """Estimate a Kneser-Ney model of ``order`` from ``text`` and write ``arpa``.

    ``backend``: ``"python"`` (ours), ``"lmplz"``, or ``"auto"`` (lmplz when on PATH and
    the text is larger than ``LMPLZ_MIN_BYTES``). Returns the backend used.
    """
    if backend not in ("auto", "python", "lmplz"):
        raise ValueError(f"backend must be auto, python or lmplz, got {backend!r}")
    text = Path(text)
    if not text.is_file():
        raise FileNotFoundError(f"LM training text not found: {text}")
    if backend == "auto":
        big = text.stat().st_size > LMPLZ_MIN_BYTES
        backend = "lmplz" if big and lmplz_path() is not None else "python"
    if backend == "lmplz":
        run_lmplz(text, arpa, order, discount_fallback=discount_fallback)
    else:
        model = estimate_kneser_ney(
            read_sentences(text), order, discount_fallback=discount_fallback
        )
        write_arpa(model, arpa)
    return backend
