"""The toolkit from Python in two lines::

    from asr import transcribe
    results = transcribe("recipes/an4/exp/e2e", ["audio.wav"])   # [{"file", "text", ...}]
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable


@lru_cache(maxsize=4)
def _recognizer(model_dir: str, overrides: tuple[str, ...], device: str | None):
    from asr.config import load_config
    from asr.decode import DecodeConfig
    from asr.decode.e2e import E2ERecognizer

    return E2ERecognizer(model_dir, load_config(DecodeConfig, None, list(overrides)),
                         device=device)


def transcribe(model_dir: str | Path, files: Iterable[str | Path], *, timings: bool = False,
               overrides: list[str] | None = None, chunk_seconds: float = 30.0,
               device: str | None = None) -> list[dict]:
    """Transcribe audio files with the system in ``model_dir``.

    Any system the toolkit trains: end-to-end dirs decode with their network alone
    (``overrides``: decoding options such as ``method=ctc_greedy``); GMM, SAT, hybrid and
    phoneme-CTC dirs decode through their graph with the setting tuned on dev
    (:mod:`asr.decode.graph_transcribe`).

    Returns one dict per file: ``file``, ``text``, ``duration`` (seconds) and, with
    ``timings``, ``words`` (``word``, ``start``, ``end`` in seconds).
    """
    from asr.decode.e2e import transcribe_files
    from asr.decode.graph_transcribe import system_kind, transcribe_graph_system

    if system_kind(model_dir) is not None:
        if overrides:
            raise ValueError(f"{model_dir}: decoding overrides apply to end-to-end systems only")
        return transcribe_graph_system(model_dir, files, timings=timings,
                                       chunk_seconds=chunk_seconds)

    recognizer = _recognizer(str(Path(model_dir).resolve()), tuple(overrides or ()), device)
    return transcribe_files(recognizer, files, timings=timings, chunk_seconds=chunk_seconds)
