"""Feature shards, their index, and CMVN statistics files.

Shards
------
One shard file per extraction job, e.g. ``<featdir>/raw_fbank_train.3.bin``: the
feature matrices of the job's utterances one after another, each ``(frames, dim)``
in C order, little-endian ``float32`` or ``float16``, with no header and no
padding. A shard is written to a temporary file beside its final path, fsynced
and renamed into place when the job ends, so a failed job leaves no shard (and
no partial one) behind.

Index
-----
A text file (``feats.scp`` in a data dir), one line per utterance::

    <utt-id> <shard-path>:<byte-offset>:<frames>x<dim>:<dtype>

e.g. ``an251-fash-b /data/an4/fbank/raw_fbank_train.1.bin:94080:98x80:float32``.
The value is parsed from the right, so the shard path may itself contain ``:``.
Relative shard paths are resolved against the current directory (as in Kaldi)
or against ``root`` when a reader is given one. Lines keep the order they were
written in; a reader iterates in that order. Note that Kaldi's own tools cannot
read these shards (they are not Kaldi ``ark`` files).

CMVN statistics
---------------
An ``.npz`` file with arrays ``keys`` (K,) str, ``count`` (K,) float64,
``sum`` (K, dim) float64 and ``sumsq`` (K, dim) float64: one row per speaker,
or a single row keyed ``global``. Written atomically.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np
import torch

from asr.features import functional as F
from asr.utils.io import atomic_open

log = logging.getLogger(__name__)

DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}
GLOBAL_KEY = "global"


@dataclass(frozen=True)
class FeatEntry:
    """Where an utterance's ``(frames, dim)`` matrix lies: ``nbytes`` at ``offset`` in ``path``."""

    utt: str
    path: str
    offset: int
    frames: int
    dim: int
    dtype: str = "float32"

    @property
    def value(self) -> str:
        """The index value (everything after the utterance id)."""
        return f"{self.path}:{self.offset}:{self.frames}x{self.dim}:{self.dtype}"

    @property
    def nbytes(self) -> int:
        return self.frames * self.dim * DTYPES[self.dtype].itemsize

    @classmethod
    def parse(cls, utt: str, value: str, where: str = "feature index") -> "FeatEntry":
        parts = value.rsplit(":", 3)
        try:
            path, offset, shape, dtype = parts
            frames, dim = shape.split("x")
            entry = cls(utt, path, int(offset), int(frames), int(dim), dtype)
        except ValueError:
            raise ValueError(
                f"{where}: utterance {utt}: expected <shard>:<offset>:<frames>x<dim>:<dtype>, "
                f"got {value!r}") from None
        if dtype not in DTYPES or entry.offset < 0 or entry.frames < 0 or entry.dim < 1:
            raise ValueError(f"{where}: utterance {utt}: bad entry {value!r} "
                             f"(dtype must be one of {sorted(DTYPES)})")
        return entry


class ShardWriter:
    """Appends feature matrices to one shard file, atomically.

    Use as a context manager; the shard appears at ``path`` only when the ``with``
    block ends without an exception::

        with ShardWriter("fbank/raw_fbank.1.bin") as writer:
            entry = writer.write("utt1", feats)   # feats (frames, dim)
        entries = writer.entries
    """

    def __init__(self, path: str | Path, dtype: str = "float32") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"shard dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        self.path = str(path)
        self.dtype = dtype
        self.entries: list[FeatEntry] = []
        self._offset = 0
        self._stack: contextlib.ExitStack | None = None
        self._handle = None

    def __enter__(self) -> "ShardWriter":
        self._stack = contextlib.ExitStack()
        self._handle = self._stack.enter_context(atomic_open(self.path, "wb"))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack, self._handle = self._stack, None, None
        return stack.__exit__(exc_type, exc, tb)

    def write(self, utt: str, feats) -> FeatEntry:
        """Append ``feats (frames, dim)`` (tensor or array) for ``utt``; returns its entry."""
        if self._handle is None:
            raise RuntimeError("ShardWriter.write outside its with block")
        if isinstance(feats, torch.Tensor):
            feats = feats.detach().cpu().numpy()
        feats = np.ascontiguousarray(feats, dtype=DTYPES[self.dtype])
        if feats.ndim != 2 or feats.shape[1] < 1:
            raise ValueError(f"utterance {utt}: features must be (frames, dim), got {feats.shape}")
        if any(ch.isspace() for ch in utt) or not utt:
            raise ValueError(f"utterance id {utt!r} is empty or contains whitespace")
        self._handle.write(feats.tobytes())
        entry = FeatEntry(utt, self.path, self._offset, feats.shape[0], feats.shape[1], self.dtype)
        self._offset += entry.nbytes
        self.entries.append(entry)
        return entry


def write_index(path: str | Path, entries: Iterable[FeatEntry]) -> None:
    """Write index lines for ``entries`` (in the given order) atomically."""
    with atomic_open(path, "w") as handle:
        for entry in entries:
            handle.write(f"{entry.utt} {entry.value}\n")


def read_index(path: str | Path) -> list[FeatEntry]:
    """Parse an index file; a malformed or duplicate line raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"feature index {path} does not exist")
    entries, seen = [], set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{path}:{number}: expected '<utt> <value>', got {line.strip()!r}")
            if fields[0] in seen:
                raise ValueError(f"{path}:{number}: utterance {fields[0]} appears twice")
            seen.add(fields[0])
            entries.append(FeatEntry.parse(fields[0], fields[1], f"{path}:{number}"))
    return entries


@dataclass
class CmvnStats:
    """Per-key (speaker or ``global``) CMVN statistics, float64."""

    keys: list[str]
    count: np.ndarray   # (K,)
    sum: np.ndarray     # (K, dim)
    sumsq: np.ndarray   # (K, dim)

    def __post_init__(self) -> None:
        self._row = {key: i for i, key in enumerate(self.keys)}

    @property
    def is_global(self) -> bool:
        return self.keys == [GLOBAL_KEY]

    def get(self, key: str) -> tuple[float, torch.Tensor, torch.Tensor]:
        """``(count, sum (dim,), sumsq (dim,))`` of ``key``, as ``functional.apply_cmvn`` takes."""
        if key not in self._row:
            raise ValueError(f"no CMVN statistics for {key!r}")
        i = self._row[key]
        return float(self.count[i]), torch.from_numpy(self.sum[i]), torch.from_numpy(self.sumsq[i])


def save_cmvn(path: str | Path, stats: CmvnStats) -> None:
    """Write ``stats`` as an ``.npz`` file, atomically."""
    with atomic_open(path, "wb") as handle:
        np.savez(handle, keys=np.array(stats.keys, dtype=str), count=stats.count,
                 sum=stats.sum, sumsq=stats.sumsq)


def load_cmvn(path: str | Path) -> CmvnStats:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CMVN statistics file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            return CmvnStats([str(k) for k in data["keys"]], data["count"], data["sum"],
                             data["sumsq"])
    except (KeyError, ValueError, OSError) as err:
        raise ValueError(f"{path}: not a CMVN statistics file ({err})") from None


class FeatureReader:
    """Random access by utterance id and in-order iteration over an index.

    Args:
        index: an index file path, a list of :class:`FeatEntry`, or a mapping
            ``utt -> value`` (e.g. ``DataDir.feats_scp``).
        root: directory that relative shard paths are resolved against (default:
            the current directory).
        cmvn: statistics to apply on read (``None``: raw features).
        utt2spk: needed when ``cmvn`` is per speaker.
        norm_vars: also normalise variances.

    ``reader[utt]`` and iteration give float32 arrays ``(frames, dim)``.
    """

    def __init__(self, index, root: str | Path | None = None, cmvn: CmvnStats | None = None,
                 utt2spk: Mapping[str, str] | None = None, norm_vars: bool = False) -> None:
        if isinstance(index, (str, Path)):
            self.name = str(index)
            entries = read_index(index)
        elif isinstance(index, Mapping):
            self.name = "feature index"
            entries = [FeatEntry.parse(utt, value) for utt, value in index.items()]
        else:
            self.name = "feature index"
            entries = list(index)
        self.entries: dict[str, FeatEntry] = {e.utt: e for e in entries}
        self.root = None if root is None else Path(root)
        self.cmvn = cmvn
        self.utt2spk = utt2spk
        self.norm_vars = norm_vars
        if cmvn is not None and not cmvn.is_global and utt2spk is None:
            raise ValueError("per-speaker CMVN statistics need utt2spk")
        self._maps: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, utt: str) -> bool:
        return utt in self.entries

    @property
    def utts(self) -> list[str]:
        return list(self.entries)

    @property
    def dim(self) -> int:
        dims = {e.dim for e in self.entries.values()}
        if len(dims) != 1:
            raise ValueError(f"{self.name}: utterances have different dims {sorted(dims)}")
        return dims.pop()

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() or self.root is None else self.root / p

    def _shard(self, entry: FeatEntry) -> np.ndarray:
        shard = self._maps.get(entry.path)
        if shard is None:
            path = self._resolve(entry.path)
            if not path.is_file():
                raise FileNotFoundError(
                    f"{self.name}: utterance {entry.utt}: shard {path} does not exist")
            size = path.stat().st_size
            shard = (np.memmap(path, dtype=np.uint8, mode="r") if size
                     else np.zeros(0, dtype=np.uint8))
            self._maps[entry.path] = shard
        return shard

    def raw(self, utt: str) -> np.ndarray:
        """Stored features of ``utt`` as float32 ``(frames, dim)``, without CMVN."""
        entry = self.entries.get(utt)
        if entry is None:
            raise KeyError(f"utterance {utt} is not in {self.name}")
        if entry.nbytes == 0:
            return np.zeros((entry.frames, entry.dim), dtype=np.float32)
        shard = self._shard(entry)
        end = entry.offset + entry.nbytes
        if end > shard.shape[0]:
            raise ValueError(f"{self.name}: utterance {utt}: bytes {entry.offset}..{end} lie past "
                             f"the end of shard {entry.path} ({shard.shape[0]} bytes)")
        data = shard[entry.offset:end].view(DTYPES[entry.dtype])
        return data.reshape(entry.frames, entry.dim).astype(np.float32)

    def __getitem__(self, utt: str) -> np.ndarray:
        feats = self.raw(utt)
        if self.cmvn is None:
            return feats
        key = GLOBAL_KEY if self.cmvn.is_global else self.utt2spk.get(utt)
        if key is None:
            raise ValueError(f"utterance {utt} has no speaker in utt2spk")
        normed = F.apply_cmvn(torch.from_numpy(feats), self.cmvn.get(key), self.norm_vars)
        return normed.numpy()

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for utt in self.entries:
            yield utt, self[utt]


def accumulate_cmvn(reader: FeatureReader, utt2spk: Mapping[str, str] | None = None) -> CmvnStats:
    """CMVN statistics of every utterance in ``reader`` (raw features).

    With ``utt2spk`` one row per speaker (sorted); without it, one ``global`` row.
    """
    per_key: dict[str, list] = {}
    for utt in reader.utts:
        if utt2spk is None:
            key = GLOBAL_KEY
        elif utt in utt2spk:
            key = utt2spk[utt]
        else:
            raise ValueError(f"utterance {utt} has no speaker in utt2spk")
        count, total, total_sq = F.cmvn_stats(torch.from_numpy(reader.raw(utt)))
        acc = per_key.get(key)
        if acc is None:
            per_key[key] = [count, total, total_sq]
        else:
            acc[0] += count
            acc[1] += total
            acc[2] += total_sq
    if not per_key:
        raise ValueError(f"{reader.name}: no utterances to accumulate CMVN statistics from")
    keys = sorted(per_key)
    return CmvnStats(keys, np.array([per_key[k][0] for k in keys], dtype=np.float64),
                     np.stack([per_key[k][1].numpy() for k in keys]),
                     np.stack([per_key[k][2].numpy() for k in keys]))
