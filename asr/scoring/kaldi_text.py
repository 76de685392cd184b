"""Read Kaldi two-column files: ``text`` (``<utt-id> <words...>``) and ``utt2spk``."""

from __future__ import annotations

from pathlib import Path


def read_text(path: str | Path) -> dict[str, str]:
    """Read a Kaldi ``text`` file into ``{utt_id: "word word ..."}`` (file order kept).

    An id with no words maps to ``""`` (an empty transcript is legal). Words are
    re-joined with single spaces. A duplicate id or a blank id fails with the file
    name and line number.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such text file: {path}")
    texts: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            utt, words = fields[0], fields[1:]
            if utt in texts:
                raise ValueError(f"{path}:{lineno}: duplicate utterance id {utt!r}")
            texts[utt] = " ".join(words)
    return texts


def read_utt2spk(path: str | Path) -> dict[str, str]:
    """Read a Kaldi ``utt2spk`` file into ``{utt_id: speaker_id}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such utt2spk file: {path}")
    utt2spk: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f"{path}:{lineno}: expected '<utt-id> <speaker-id>', got {line.strip()!r}"
                )
            if fields[0] in utt2spk:
                raise ValueError(f"{path}:{lineno}: duplicate utterance id {fields[0]!r}")
            utt2spk[fields[0]] = fields[1]
    return utt2spk
