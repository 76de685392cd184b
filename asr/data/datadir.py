"""Kaldi-style data directories as a typed object.

A data dir is a folder of small text files, one record per line, sorted by the first
field (C-locale byte order, as Kaldi's ``sort``):

==========  =========================================================
``wav.scp``  ``<recording-id> <wav entry>`` (path, ``raw:...:path`` or ``cmd |``)
``text``     ``<utt-id> <transcript words ...>``
``utt2spk``  ``<utt-id> <speaker-id>``
``spk2utt``  ``<speaker-id> <utt-id> <utt-id> ...`` (derived from utt2spk)
``utt2dur``  ``<utt-id> <duration in seconds>``
``segments`` optional: ``<utt-id> <recording-id> <start s> <end s>``
``feats.scp`` optional: the feature index written by ``asr compute-feats``
==========  =========================================================

Without ``segments`` every utterance is a whole recording and the recording ids are
the utterance ids. Speaker ids must be prefixes of their utterance ids' sort order
(Kaldi's rule: sorting by utterance also groups by speaker) — :meth:`DataDir.validate`
checks it, so that splitting by speaker keeps contiguous blocks.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)


class DataDirError(ValueError):
    """A data dir that breaks the format or its invariants; the message names the file."""


@dataclass(frozen=True)
class Segment:
    """Part of a recording: ``recording`` id, ``start`` and ``end`` in seconds."""

    recording: str
    start: float
    end: float


@dataclass
class DataDir:
    """The contents of a data dir. Every mapping is keyed and ordered by id."""

    wav_scp: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    utt2spk: dict[str, str] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)
    segments: dict[str, Segment] | None = None
    feats_scp: dict[str, str] | None = None

    # ------------------------------------------------------------------ views
    @property
    def utterances(self) -> list[str]:
        """Utterance ids in sorted order (from utt2spk, else text)."""
        return sorted(self.utt2spk or self.text)

    @property
    def speakers(self) -> list[str]:
        return sorted(set(self.utt2spk.values()))

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for utt in sorted(self.utt2spk):
            result.setdefault(self.utt2spk[utt], []).append(utt)
        return dict(sorted(result.items()))

    @property
    def num_hours(self) -> float:
        return sum(self.utt2dur.values()) / 3600.0

    def wav_entry(self, utt: str) -> tuple[str, float, float | None]:
        """``(wav entry, start s, end s or None)`` of an utterance's audio."""
        if self.segments is not None:
            seg = self.segments[utt]
            return self.wav_scp[seg.recording], seg.start, seg.end
        return self.wav_scp[utt], 0.0, None

    def __len__(self) -> int:
        return len(self.utterances)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def load(cls, path: str | Path) -> "DataDir":
        """Read a data dir; missing optional files stay empty/None."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"data dir not found: {path}")
        if not (path / "utt2spk").exists() and not (path / "text").exists():
            raise DataDirError(f"{path}: not a data dir (no utt2spk and no text)")
        data = cls(
            wav_scp=_read_map(path / "wav.scp"),
            text=_read_map(path / "text", allow_empty_value=True),
            utt2spk=_read_map(path / "utt2spk"),
            utt2dur={k: _to_float(v, path / "utt2dur", k) for k, v in _read_map(path / "utt2dur").items()},
        )
        if (path / "segments").exists():
            data.segments = {}
            for utt, rest in _read_map(path / "segments").items():
                parts = rest.split()
                if len(parts) != 3:
                    raise DataDirError(f"{path / 'segments'}: line for {utt} must be "
                                       f"'<utt> <rec> <start> <end>', got {rest!r}")
                data.segments[utt] = Segment(parts[0], _to_float(parts[1], path / "segments", utt),
                                             _to_float(parts[2], path / "segments", utt))
        if (path / "feats.scp").exists():
            data.feats_scp = _read_map(path / "feats.scp")
        if (path / "spk2utt").exists():
            on_disk = {k: v.split() for k, v in _read_map(path / "spk2utt").items()}
            if on_disk != data.spk2utt:
                raise DataDirError(f"{path}: spk2utt does not match utt2spk; "
                                   "delete spk2utt to regenerate it")
        return data

    def save(self, path: str | Path) -> None:
        """Write every file (sorted), each atomically; spk2utt is derived."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        _write_map(path / "wav.scp", self.wav_scp)
        _write_map(path / "text", self.text)
        _write_map(path / "utt2spk", self.utt2spk)
        _write_map(path / "spk2utt", {k: " ".join(v) for k, v in self.spk2utt.items()})
        if self.utt2dur:
            _write_map(path / "utt2dur", {k: f"{v:.3f}" for k, v in self.utt2dur.items()})
        if self.segments is not None:
            _write_map(path / "segments", {k: f"{s.recording} {s.start:.2f} {s.end:.2f}"
                                           for k, s in self.segments.items()})
        elif (path / "segments").exists():
            (path / "segments").unlink()
        if self.feats_scp is not None:
            _write_map(path / "feats.scp", self.feats_scp)

    # ------------------------------------------------------------------ checks
    def validate(self, name: str = "data dir", check_audio: bool = False,
                 require_text: bool = True) -> None:
        """Check the invariants; raise :class:`DataDirError` listing what is wrong.

        Every utterance has a speaker, audio (a wav.scp entry or a segment whose
        recording is in wav.scp) and, with ``require_text``, a transcript; no file
        names an utterance the others do not know; speaker ids sort with their
        utterances. With ``check_audio`` every audio file must exist.
        """
        problems: list[str] = []
        utts = set(self.utt2spk)
        if not utts:
            problems.append("no utterances (utt2spk is empty)")

        def diff(label: str, keys: Iterable[str]) -> None:
            keys = set(keys)
            missing, extra = sorted(utts - keys), sorted(keys - utts)
            if missing:
                problems.append(f"{len(missing)} utterance(s) missing from {label}: {_few(missing)}")
            if extra:
                problems.append(f"{len(extra)} id(s) in {label} not in utt2spk: {_few(extra)}")

        if require_text or self.text:
            diff("text", self.text)
        if self.segments is None:
            diff("wav.scp", self.wav_scp)
        else:
            diff("segments", self.segments)
            recs = {s.recording for s in self.segments.values()}
            lost = sorted(recs - set(self.wav_scp))
            if lost:
                problems.append(f"{len(lost)} segment recording(s) missing from wav.scp: {_few(lost)}")
            bad = sorted(u for u, s in self.segments.items() if not 0 <= s.start < s.end)
            if bad:
                problems.append(f"{len(bad)} segment(s) with start >= end: {_few(bad)}")
        if self.utt2dur:
            diff("utt2dur", self.utt2dur)
        if self.feats_scp is not None:
            diff("feats.scp", self.feats_scp)
        # Kaldi's rule: the speaker order must follow the utterance order.
        seen: list[str] = []
        for utt in sorted(utts):
            spk = self.utt2spk[utt]
            if seen and spk != seen[-1] and spk in seen:
                problems.append(f"utterances of speaker {spk!r} are not contiguous in sorted "
                                f"order (at {utt}); prefix utterance ids with the speaker id")
                break
            if not seen or spk != seen[-1]:
                seen.append(spk)
        if check_audio:
            from asr.audio.io import entry_path  # here: the audio stack loads torch

            missing_files = []
            for entry in self.wav_scp.values():
                audio_path = entry_path(entry)
                if audio_path is not None and not Path(audio_path).is_file():
                    missing_files.append(audio_path)
            if missing_files:
                problems.append(f"{len(missing_files)} audio file(s) not found: {_few(missing_files)}")
        if problems:
            raise DataDirError(f"{name}: " + "; ".join(problems))

    # ------------------------------------------------------------------ subsets
    def subset(self, utts: Iterable[str]) -> "DataDir":
        """The data dir restricted to ``utts`` (unknown ids are an error)."""
        keep = set(utts)
        unknown = sorted(keep - set(self.utt2spk))
        if unknown:
            raise DataDirError(f"subset: {len(unknown)} unknown utterance id(s): {_few(unknown)}")
        pick = lambda m: {k: v for k, v in m.items() if k in keep}  # noqa: E731
        segments = None if self.segments is None else pick(self.segments)
        if segments is None:
            wav_scp = pick(self.wav_scp)
        else:
            recs = {s.recording for s in segments.values()}
            wav_scp = {k: v for k, v in self.wav_scp.items() if k in recs}
        return DataDir(wav_scp=wav_scp, text=pick(self.text), utt2spk=pick(self.utt2spk),
                       utt2dur=pick(self.utt2dur), segments=segments,
                       feats_scp=None if self.feats_scp is None else pick(self.feats_scp))

    def first(self, n: int) -> "DataDir":
        """The first ``n`` utterances in sorted order (Kaldi ``--first``)."""
        return self.subset(self.utterances[:n])

    def last(self, n: int) -> "DataDir":
        return self.subset(self.utterances[-n:] if n > 0 else [])

    def exclude(self, utts: Iterable[str]) -> "DataDir":
        drop = set(utts)
        return self.subset(u for u in self.utterances if u not in drop)

    def random(self, n: int, seed: int = 0) -> "DataDir":
        """``n`` utterances drawn uniformly without replacement (reproducible)."""
        utts = self.utterances
        if n > len(utts):
            raise DataDirError(f"subset: asked for {n} utterances, only {len(utts)} available")
        return self.subset(random.Random(seed).sample(utts, n))

    def by_speakers(self, speakers: Iterable[str]) -> "DataDir":
        wanted = set(speakers)
        unknown = sorted(wanted - set(self.speakers))
        if unknown:
            raise DataDirError(f"subset: unknown speaker(s): {_few(unknown)}")
        return self.subset(u for u, s in self.utt2spk.items() if s in wanted)

    def by_hours(self, hours: float, seed: int = 0) -> "DataDir":
        """About ``hours`` of audio, speaker-balanced and reproducible from ``seed``.

        Speakers are visited in a seeded random order, round-robin, taking one
        utterance (in a seeded order) from each until the target duration is reached,
        so every speaker contributes a similar amount. Needs utt2dur.
        """
        if not self.utt2dur:
            raise DataDirError("subset by hours needs utt2dur (run `asr data durations` first)")
        total = self.num_hours
        if hours >= total:
            log.warning("asked for %.2f h, the data dir has only %.2f h: taking all", hours, total)
            return self.subset(self.utterances)
        rng = random.Random(seed)
        queues = {spk: rng.sample(utts, len(utts)) for spk, utts in self.spk2utt.items()}
        order = list(queues)
        rng.shuffle(order)
        chosen: list[str] = []
        budget = hours * 3600.0
        while budget > 0 and any(queues.values()):
            for spk in order:
                if queues[spk] and budget > 0:
                    utt = queues[spk].pop()
                    chosen.append(utt)
                    budget -= self.utt2dur[utt]
        return self.subset(chosen)

    def split(self, num_jobs: int, per_utt: bool = False) -> list["DataDir"]:
        """Split into ``num_jobs`` parts of similar size (Kaldi ``split_data.sh``).

        By default whole speakers go to one part (needed for per-speaker CMVN and
        adaptation); ``per_utt`` splits at utterance level. Parts are contiguous in
        sorted order. There must be at least ``num_jobs`` speakers (or utterances).
        """
        if num_jobs < 1:
            raise ValueError(f"split: number of jobs must be >= 1, got {num_jobs}")
        groups = [[u] for u in self.utterances] if per_utt else list(self.spk2utt.values())
        if len(groups) < num_jobs:
            unit = "utterances" if per_utt else "speakers"
            raise DataDirError(f"split: cannot make {num_jobs} jobs from {len(groups)} {unit}; "
                               "use fewer jobs" + ("" if per_utt else " or per_utt"))
        total = sum(len(g) for g in groups)
        parts: list[list[str]] = [[] for _ in range(num_jobs)]
        job, done = 0, 0
        for index, group in enumerate(groups):
            groups_left = len(groups) - index
            share_reached = done >= (job + 1) * total / num_jobs
            must_move = groups_left <= num_jobs - 1 - job  # keep one group per later part
            if parts[job] and job < num_jobs - 1 and (share_reached or must_move):
                job += 1
            parts[job].extend(group)
            done += len(group)
        return [self.subset(p) for p in parts]


def combine(dirs: Iterable[DataDir]) -> DataDir:
    """Merge data dirs; an utterance or recording id in two of them is an error."""
    result = DataDir()
    has_segments = False
    has_feats = True
    for data in dirs:
        for name in ("wav_scp", "text", "utt2spk", "utt2dur"):
            target, source = getattr(result, name), getattr(data, name)
            clash = sorted(set(target) & set(source))
            if clash and name != "wav_scp":
                raise DataDirError(f"combine: {len(clash)} duplicate id(s) in {name}: {_few(clash)}")
            if clash and any(target[k] != source[k] for k in clash):
                raise DataDirError(f"combine: recording id(s) with different audio: {_few(clash)}")
            target.update(source)
        if data.segments is not None:
            has_segments = True
            result.segments = {**(result.segments or {}), **data.segments}
        if data.feats_scp is None:
            has_feats = False
        else:
            result.feats_scp = {**(result.feats_scp or {}), **data.feats_scp}
    if has_segments and result.segments is not None and len(result.segments) != len(result.utt2spk):
        raise DataDirError("combine: some inputs have segments and some do not")
    if not has_feats:
        result.feats_scp = None
    for name in ("wav_scp", "text", "utt2spk", "utt2dur"):
        setattr(result, name, dict(sorted(getattr(result, name).items())))
    if result.segments is not None:
        result.segments = dict(sorted(result.segments.items()))
    if result.feats_scp is not None:
        result.feats_scp = dict(sorted(result.feats_scp.items()))
    return result


def compute_durations(data: DataDir) -> dict[str, float]:
    """utt2dur from audio headers (or segment bounds)."""
    from asr.audio.io import audio_info

    rec_dur = {rec: audio_info(entry).duration for rec, entry in data.wav_scp.items()}
    if data.segments is None:
        return {utt: rec_dur[utt] for utt in data.utterances}
    return {utt: min(seg.end, rec_dur[seg.recording]) - seg.start
            for utt, seg in data.segments.items()}


# ---------------------------------------------------------------------- helpers
def _few(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _to_float(value: str, path: Path, key: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataDirError(f"{path}: value for {key} is not a number: {value!r}") from None


def _read_map(path: Path, allow_empty_value: bool = False) -> dict[str, str]:
    """``<key> <rest of line>`` lines; checks sorted, unique keys and UTF-8."""
    if not path.exists():
        return {}
    result: dict[str, str] = {}
    previous = None
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataDirError(f"{path}: not valid UTF-8 (byte {err.start})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        key = parts[0]
        value = parts[1] if len(parts) > 1 else ""
        if not value and not allow_empty_value:
            raise DataDirError(f"{path}:{lineno}: no value after id {key!r}")
        if key in result:
            raise DataDirError(f"{path}:{lineno}: duplicate id {key!r}")
        if previous is not None and key < previous:
            raise DataDirError(f"{path}:{lineno}: ids not sorted ({key!r} after {previous!r}); "
                               "sort with LC_ALL=C sort")
        result[key] = value
        previous = key
    return result


def _write_map(path: Path, mapping: dict) -> None:
    lines = [f"{k} {v}".rstrip() for k, v in sorted(mapping.items())]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


__all__ = ["DataDir", "DataDirError", "Segment", "combine", "compute_durations"]
