"""Reading audio files into float32 waveforms.

A *wav entry* is what a Kaldi ``wav.scp`` line holds after the recording id:

- a path readable by soundfile (WAV, FLAC, OGG, ...);
- ``raw:<encoding>:<rate>:<path>`` for headerless PCM, e.g. ``raw:s16be:16000:a.raw``
  (encodings ``s16le``, ``s16be``, ``s32le``, ``s32be``, ``f32le``, ``u8``);
- a shell pipeline ending in ``|`` whose standard output is a WAV/FLAC stream (Kaldi's
  ``flac -c -d -s x.flac |`` convention).

Waveforms are ``(T,)`` float32 in [-1, 1), mono, at the requested rate.
"""

from __future__ import annotations

import io
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from asr.audio.resample import resample

log = logging.getLogger(__name__)

_RAW_DTYPES = {
    "s16le": ("<i2", 32768.0),
    "s16be": (">i2", 32768.0),
    "s32le": ("<i4", 2147483648.0),
    "s32be": (">i4", 2147483648.0),
    "f32le": ("<f4", 1.0),
    "u8": ("u1", 128.0),
}


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, too short, non-finite."""


@dataclass(frozen=True)
class RawFormat:
    """Headerless PCM: sample encoding (see ``_RAW_DTYPES``), rate in Hz, channels."""

    encoding: str = "s16le"
    sample_rate: int = 16000
    channels: int = 1

    def __post_init__(self) -> None:
        if self.encoding not in _RAW_DTYPES:
            raise ValueError(f"unknown raw encoding {self.encoding!r}; use one of {sorted(_RAW_DTYPES)}")


@dataclass(frozen=True)
class AudioInfo:
    """Header facts: rate (Hz), frames (samples per channel), channels, duration (s)."""

    sample_rate: int
    num_frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.sample_rate


def parse_wav_entry(entry: str) -> tuple[str, str | RawFormat | None]:
    """Split a wav.scp entry into ``(kind, detail)``.

    Returns ``("pipe", command)``, ``("raw", RawFormat)`` with the path in
    ``RawFormat``-less form via :func:`_raw_path`, or ``("file", None)``.
    """
    entry = entry.strip()
    if entry.endswith("|"):
        return "pipe", entry[:-1].strip()
    if entry.startswith("raw:"):
        parts = entry.split(":", 3)
        if len(parts) != 4:
            raise ValueError(f"raw wav entry must be raw:<encoding>:<rate>:<path>, got {entry!r}")
        _, encoding, rate, _path = parts
        try:
            return "raw", RawFormat(encoding=encoding, sample_rate=int(rate))
        except ValueError as err:
            raise ValueError(f"bad raw wav entry {entry!r}: {err}") from None
    return "file", None


def _raw_path(entry: str) -> str:
    return entry.split(":", 3)[3]


def entry_path(entry: str) -> str | None:
    """The file a wav entry reads (``None`` for a pipe command)."""
    kind, _ = parse_wav_entry(entry)
    if kind == "pipe":
        return None
    return _raw_path(entry) if kind == "raw" else entry.strip()


def raw_entry(path: str | Path, fmt: RawFormat) -> str:
    """The wav.scp entry for a headerless PCM file."""
    return f"raw:{fmt.encoding}:{fmt.sample_rate}:{path}"


def _read_raw(path: str, fmt: RawFormat) -> tuple[np.ndarray, int]:
    dtype, scale = _RAW_DTYPES[fmt.encoding]
    try:
        data = np.fromfile(path, dtype=dtype)
    except OSError as err:
        raise FileNotFoundError(f"cannot read raw audio {path}: {err}") from None
    if data.size % fmt.channels:
        raise AudioError(f"{path}: {data.size} samples is not a multiple of {fmt.channels} channels")
    samples = data.astype(np.float32)
    if fmt.encoding == "u8":
        samples -= 128.0
    samples /= scale
    return samples.reshape(-1, fmt.channels), fmt.sample_rate


def _read_soundfile(source, name: str) -> tuple[np.ndarray, int]:
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except sf.LibsndfileError as err:
        raise AudioError(f"cannot decode audio {name}: {err}") from None
    except RuntimeError as err:  # older soundfile raises RuntimeError
        raise AudioError(f"cannot decode audio {name}: {err}") from None
    return data, rate


def _read_pipe(command: str) -> tuple[np.ndarray, int]:
    proc = subprocess.run(command, shell=True, capture_output=True, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()[-500:]
        raise AudioError(f"audio command failed (exit {proc.returncode}): {command!r}: {stderr}")
    if not proc.stdout:
        raise AudioError(f"audio command produced no output: {command!r}")
    return _read_soundfile(io.BytesIO(proc.stdout), f"output of {command!r}")


def read_audio(entry: str | Path) -> tuple[np.ndarray, int]:
    """Read a wav entry without conversion: ``(samples (T, C) float32, rate)``."""
    entry = str(entry)
    kind, detail = parse_wav_entry(entry)
    if kind == "pipe":
        return _read_pipe(detail)  # type: ignore[arg-type]
    if kind == "raw":
        path = _raw_path(entry)
        if not Path(path).is_file():
            raise FileNotFoundError(f"audio file not found: {path}")
        return _read_raw(path, detail)  # type: ignore[arg-type]
    if not Path(entry).is_file():
        raise FileNotFoundError(f"audio file not found: {entry}")
    if Path(entry).stat().st_size == 0:
        raise AudioError(f"{entry}: empty file (0 bytes)")
    return _read_soundfile(entry, entry)


def audio_info(entry: str | Path) -> AudioInfo:
    """Rate, length and channels, from the header where the format has one."""
    entry = str(entry)
    kind, detail = parse_wav_entry(entry)
    if kind == "file":
        if not Path(entry).is_file():
            raise FileNotFoundError(f"audio file not found: {entry}")
        try:
            info = sf.info(entry)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(f"cannot decode audio {entry}: {err}") from None
        return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels))
    if kind == "raw":
        fmt: RawFormat = detail  # type: ignore[assignment]
        path = Path(_raw_path(entry))
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {path}")
        width = np.dtype(_RAW_DTYPES[fmt.encoding][0]).itemsize
        return AudioInfo(fmt.sample_rate, path.stat().st_size // (width * fmt.channels), fmt.channels)
    samples, rate = _read_pipe(detail)  # type: ignore[arg-type]
    return AudioInfo(rate, samples.shape[0], samples.shape[1])


def load_audio(entry: str | Path, sample_rate: int | None = 16000, *,
               min_duration: float = 0.0, max_duration: float | None = None,
               start: float = 0.0, end: float | None = None) -> torch.Tensor:
    """Load a wav entry as a mono float32 waveform ``(T,)`` at ``sample_rate`` Hz.

    Multi-channel audio is averaged to mono; other rates are resampled
    (``sample_rate=None`` keeps the file's rate). ``start``/``end`` (seconds) cut a
    segment, as Kaldi ``segments`` do. Raises :class:`AudioError` naming the file for
    empty, too short (< ``min_duration`` s), too long or non-finite audio, and
    FileNotFoundError for a missing file.
    """
    samples, rate = read_audio(entry)
    if start > 0 or end is not None:
        first = int(round(start * rate))
        last = samples.shape[0] if end is None or end < 0 else int(round(end * rate))
        if first >= samples.shape[0]:
            raise AudioError(f"{entry}: segment starts at {start:.2f} s, after the end "
                             f"({samples.shape[0] / rate:.2f} s)")
        samples = samples[first:last]
    if samples.shape[0] == 0:
        raise AudioError(f"{entry}: empty audio (0 samples)")
    if not np.isfinite(samples).all():
        bad = int((~np.isfinite(samples)).sum())
        raise AudioError(f"{entry}: {bad} samples are NaN or infinite")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    wave = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))
    if sample_rate is not None and rate != sample_rate:
        log.debug("resampling %s from %d to %d Hz", entry, rate, sample_rate)
        wave = resample(wave, rate, sample_rate)
        rate = sample_rate
    duration = wave.shape[0] / rate
    if duration < min_duration:
        raise AudioError(f"{entry}: {duration:.3f} s of audio is shorter than the minimum "
                         f"{min_duration:.3f} s")
    if max_duration is not None and duration > max_duration:
        raise AudioError(f"{entry}: {duration:.1f} s of audio is longer than the maximum "
                         f"{max_duration:.1f} s")
    return wave
