"""Kaldi-compatible acoustic features as stateless torch functions.

Every parameter is explicit; the matching ``nn.Module`` wrappers with dataclass
configs live in :mod:`asr.features.modules`.

Waveform scale
--------------
Waveforms are float tensors in [-1, 1), as :mod:`asr.audio` returns them. Kaldi
computes features on int16-scale sample values, so :func:`fbank` and :func:`mfcc`
first multiply the waveform by ``waveform_scale`` (default 32768). With the
default, the output equals Kaldi's ``compute-fbank-feats`` / ``compute-mfcc-feats``
on the same audio file, and ``dither`` is in int16 units as in Kaldi (Kaldi's
default is 1.0). Pass ``waveform_scale=1.0`` for a waveform that already holds
int16-scale values (kaldi-native-fbank and ``torchaudio.compliance.kaldi`` use the
values they are given as they are: give them ``32768 * waveform`` to match us).

Batching
--------
``waveform`` may be ``(T,)`` (one utterance) or ``(B, T)``.

- Without ``lengths`` every row is a whole utterance of ``T`` samples and the
  result is ``(N, F)`` or ``(B, N, F)`` with ``N = num_frames(T, ...)``.
- With ``lengths`` (``(B,)`` int, samples), row ``b`` holds an utterance in its
  first ``lengths[b]`` samples (the rest is padding and is never read). The result
  is a pair ``(feats (B, N_max, F), frame_lengths (B,))``: row ``b`` holds the
  features of ``waveform[b, :lengths[b]]`` alone in its first ``frame_lengths[b]``
  frames (equal to computing it unbatched, up to last-bit rounding), and zeros
  after them. Padding frames are never computed, so a padded batch costs about
  what its real audio costs.

Frames are strided views of the waveform; the valid frames of all rows are
processed in chunks of up to 512 frames (one batched real FFT and one matrix
product for the mel bank per chunk, sized to stay in cache); there is no Python
loop over frames. Mel banks, windows and DCT matrices are built once per parameter
set and cached.

Numerics: float32 throughout (float64 input gives float64 output). Mel bins that
hold less than about 1e-6 of their frame's energy are at the float32 resolution of
the FFT, in Kaldi as here, and may differ from Kaldi by up to ~1e-2 in the log;
everything else agrees with kaldi-native-fbank to within 1e-3.
"""

from __future__ import annotations

import functools
import math

import torch

WINDOW_TYPES = ("povey", "hamming", "hanning", "rectangular", "blackman")

# Kaldi floors mel energies and frame energies at float32 epsilon before the log.
_EPS = torch.finfo(torch.float32).eps


def frame_sizes(sample_rate: float, frame_length_ms: float,
                frame_shift_ms: float) -> tuple[int, int]:
    """Frame length and shift in samples, truncated as Kaldi does."""
    length = int(sample_rate * 0.001 * frame_length_ms)
    shift = int(sample_rate * 0.001 * frame_shift_ms)
    if length < 1 or shift < 1:
        raise ValueError(
            f"frame length {frame_length_ms} ms / shift {frame_shift_ms} ms at "
            f"{sample_rate} Hz is under one sample")
    return length, shift


def num_frames(num_samples, frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
               sample_rate: float = 16000, snip_edges: bool = True):
    """Number of frames Kaldi extracts from ``num_samples`` samples.

    ``num_samples`` is an int or an integer tensor (e.g. ``lengths (B,)``); the
    result has the same kind.

    - ``snip_edges=True``: only frames that fit entirely in the signal:
      ``0`` if ``num_samples < length`` else ``1 + (num_samples - length) // shift``.
    - ``snip_edges=False``: ``(num_samples + shift // 2) // shift``; frames are
      centred on multiples of the shift and the signal is reflected at its ends.
    """
    length, shift = frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)
    if isinstance(num_samples, torch.Tensor):
        return _count(num_samples, length, shift, snip_edges)
    if snip_edges:
        return 0 if num_samples < length else 1 + (num_samples - length) // shift
    return (num_samples + shift // 2) // shift


def padded_window_size(frame_length: int, round_to_power_of_two: bool) -> int:
    """FFT size: the frame length, or the next power of two if asked."""
    if not round_to_power_of_two:
        return frame_length
    return 1 << (frame_length - 1).bit_length()


# ---------------------------------------------------------------------------
# Cached constant matrices (built in float64, stored as float32 on CPU).

@functools.lru_cache(maxsize=64)
def _window_cpu(window_type: str, frame_length: int, blackman_coeff: float) -> torch.Tensor:
    if window_type not in WINDOW_TYPES:
        raise ValueError(f"unknown window_type {window_type!r}; expected one of {WINDOW_TYPES}")
    i = torch.arange(frame_length, dtype=torch.float64)
    a = 2 * math.pi / (frame_length - 1) if frame_length > 1 else 0.0
    if window_type == "hanning":
        w = 0.5 - 0.5 * torch.cos(a * i)
    elif window_type == "hamming":
        w = 0.54 - 0.46 * torch.cos(a * i)
    elif window_type == "povey":
        w = (0.5 - 0.5 * torch.cos(a * i)).pow(0.85)
    elif window_type == "rectangular":
        w = torch.ones_like(i)
    else:
        w = blackman_coeff - 0.5 * torch.cos(a * i) + (0.5 - blackman_coeff) * torch.cos(2 * a * i)
    return w.float()


@functools.lru_cache(maxsize=64)
def _scaled_window_cpu(window_type: str, frame_length: int, blackman_coeff: float,
                       scale: float) -> torch.Tensor:
    return _window_cpu(window_type, frame_length, blackman_coeff) * scale


def window_function(window_type: str, frame_length: int,
                    blackman_coeff: float = 0.42) -> torch.Tensor:
    """Kaldi's analysis window, ``(frame_length,)`` float32.

    ``povey`` is Hann raised to 0.85; Hann/Hamming/Blackman are the symmetric
    forms (``cos(2 pi i / (L - 1))``).
    """
    return _window_cpu(window_type, frame_length, blackman_coeff).clone()


def _mel_scale(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(freq / 700.0)


@functools.lru_cache(maxsize=64)
def _mel_banks_cpu(num_bins: int, fft_size: int, sample_rate: float,
                   low_freq: float, high_freq: float) -> torch.Tensor:
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq = nyquist + high_freq
    if not (0.0 <= low_freq < nyquist and 0.0 < high_freq <= nyquist and low_freq < high_freq):
        raise ValueError(
            f"bad mel band edges low_freq={low_freq} high_freq={high_freq} "
            f"for sample rate {sample_rate}")
    if num_bins < 3:
        raise ValueError(f"num_mel_bins must be at least 3, got {num_bins}")
    num_fft_bins = fft_size // 2
    mel_low = _mel_scale(torch.tensor(low_freq, dtype=torch.float64))
    mel_high = _mel_scale(torch.tensor(high_freq, dtype=torch.float64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    b = torch.arange(num_bins, dtype=torch.float64).unsqueeze(1)
    left = mel_low + b * delta
    center = mel_low + (b + 1) * delta
    right = mel_low + (b + 2) * delta
    # Kaldi's banks cover FFT bins 0 .. fft_size/2 - 1; the Nyquist bin gets weight 0.
    mel = _mel_scale(torch.arange(num_fft_bins, dtype=torch.float64) * (sample_rate / fft_size))
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    weights = torch.where(mel <= center, up, down)
    weights = torch.where((mel > left) & (mel < right), weights, torch.zeros_like(weights))
    banks = torch.zeros(num_fft_bins + 1, num_bins, dtype=torch.float64)
    banks[:num_fft_bins] = weights.t()
    return banks.float()


def mel_banks(num_bins: int, fft_size: int, sample_rate: float = 16000,
              low_freq: float = 20.0, high_freq: float = 0.0) -> torch.Tensor:
    """Kaldi's triangular mel filters as a ``(fft_size // 2 + 1, num_bins)`` matrix.

    ``power_spectrum (..., fft_size // 2 + 1) @ mel_banks(...)`` gives the mel
    energies. ``high_freq <= 0`` means ``nyquist + high_freq``.
    """
    return _mel_banks_cpu(num_bins, fft_size, float(sample_rate), float(low_freq),
                          float(high_freq)).clone()


@functools.lru_cache(maxsize=64)
def _mel_blocks_cpu(num_bins: int, fft_size: int, sample_rate: float, low_freq: float,
                    high_freq: float) -> tuple[tuple[int, int, torch.Tensor], ...]:
    """The mel bank split into groups of about 16 adjacent filters.

    Each group is ``(first_fft_bin, end_fft_bin, weights (end - first, group_size))``
    covering only the FFT bins where the group's filters are non-zero, so the
    product skips most of the zeros of the band-diagonal matrix.
    """
    banks = _mel_banks_cpu(num_bins, fft_size, sample_rate, low_freq, high_freq)
    num_groups = max(1, round(num_bins / 16))
    edges = [round(num_bins * g / num_groups) for g in range(num_groups + 1)]
    groups = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        cols = banks[:, lo:hi]
        used = torch.nonzero(cols.abs().sum(dim=1) > 0).flatten()
        first, end = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 1)
        groups.append((first, end, cols[first:end].contiguous()))
    return tuple(groups)


def _apply_mel(power: torch.Tensor, blocks) -> torch.Tensor:
    """``power (n, fft_size // 2 + 1)`` times the blocked mel bank: ``(n, num_bins)``."""
    if len(blocks) == 1:
        first, end, weights = blocks[0]
        return torch.matmul(power[:, first:end], _on(weights, power))
    return torch.cat([torch.matmul(power[:, first:end], _on(weights, power))
                      for first, end, weights in blocks], dim=1)


@functools.lru_cache(maxsize=64)
def _dct_cpu(num_ceps: int, num_bins: int, cepstral_lifter: float) -> torch.Tensor:
    if not 0 < num_ceps <= num_bins:
        raise ValueError(f"num_ceps={num_ceps} must be in 1..num_mel_bins={num_bins}")
    n = torch.arange(num_bins, dtype=torch.float64)
    k = torch.arange(num_ceps, dtype=torch.float64).unsqueeze(1)
    dct = math.sqrt(2.0 / num_bins) * torch.cos(math.pi / num_bins * (n + 0.5) * k)
    dct[0] = math.sqrt(1.0 / num_bins)
    if cepstral_lifter != 0.0:
        lifter = 1.0 + 0.5 * cepstral_lifter * torch.sin(math.pi * k / cepstral_lifter)
        dct = dct * lifter
    return dct.t().contiguous().float()


def dct_matrix(num_ceps: int, num_bins: int, cepstral_lifter: float = 22.0) -> torch.Tensor:
    """Kaldi's orthonormal DCT-II with the cepstral lifter folded in, ``(num_bins, num_ceps)``.

    ``log_mel (..., num_bins) @ dct_matrix(...)`` gives the (liftered) cepstra.
    """
    return _dct_cpu(num_ceps, num_bins, float(cepstral_lifter)).clone()


_device_cache: dict = {}


def _on(tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``tensor`` (a cached CPU constant) on the device and dtype of ``like``, cached."""
    if tensor.device == like.device and tensor.dtype == like.dtype:
        return tensor
    key = (id(tensor), like.device, like.dtype)
    hit = _device_cache.get(key)
    if hit is None or hit[0] is not tensor:
        hit = (tensor, tensor.to(device=like.device, dtype=like.dtype))
        _device_cache[key] = hit
    return hit[1]


# ---------------------------------------------------------------------------
# Framing.

def _reflect(index: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Kaldi's edge reflection: -1 -> 0, -2 -> 1, ..., n -> n-1, n+1 -> n-2 (repeatedly)."""
    period = 2 * length
    r = torch.remainder(index, period)
    return torch.where(r < length, r, period - 1 - r)


def _check_waveform(waveform: torch.Tensor) -> None:
    if not isinstance(waveform, torch.Tensor):
        raise ValueError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if not waveform.is_floating_point():
        raise ValueError(
            f"waveform must be a float tensor (got {waveform.dtype}); convert int16 samples "
            "with .float() and pass waveform_scale=1.0")
    if waveform.dim() not in (1, 2):
        raise ValueError(f"waveform must be (T,) or (B, T), got shape {tuple(waveform.shape)}")


def _frames(waveform: torch.Tensor, lengths: torch.Tensor | None, length: int, shift: int,
            snip_edges: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Strided frames ``(B, N, length)`` of ``(B, T)`` and frame counts ``(B,)``.

    The frames are a view (no copy) with ``snip_edges``; otherwise a view of the
    rows padded by reflection. Frames at or past a row's count are junk that the
    caller skips.
    """
    batch, total = waveform.shape
    if lengths is None:
        lengths = torch.full((batch,), total, dtype=torch.long, device=waveform.device)
    counts = _count(lengths, length, shift, snip_edges)
    max_frames = int(counts.max()) if batch > 0 else 0
    if max_frames == 0:
        return waveform.new_zeros(batch, 0, length), counts
    if snip_edges:
        needed = (max_frames - 1) * shift + length
        return waveform[:, :needed].unfold(1, length, shift), counts
    # Frame f starts at f * shift + shift // 2 - length // 2; pad each row by
    # reflecting it at its own ends, then frame the padded rows with a plain stride.
    first = shift // 2 - length // 2
    span = (max_frames - 1) * shift + length
    pos = torch.arange(first, first + span, device=waveform.device)
    index = _reflect(pos.unsqueeze(0), lengths.unsqueeze(1).clamp_min(1))
    padded = torch.gather(waveform, 1, index)
    return padded.unfold(1, length, shift), counts


def _count(lengths: torch.Tensor, length: int, shift: int, snip_edges: bool) -> torch.Tensor:
    if snip_edges:
        return torch.where(lengths < length, torch.zeros_like(lengths),
                           1 + torch.div(lengths - length, shift, rounding_mode="floor"))
    return torch.div(lengths + shift // 2, shift, rounding_mode="floor")


# Frames are processed in chunks of this many so that the FFT buffer stays in cache.
_CHUNK_FRAMES = 512


def _chunks(counts: list[int], size: int) -> list[list[tuple[int, int, int]]]:
    """Group the frames ``(row, start, end)`` of all rows into chunks of at most ``size``."""
    chunks, current, filled = [], [], 0
    for b, count in enumerate(counts):
        for start in range(0, count, size):
            end = min(start + size, count)
            if filled + end - start > size:
                chunks.append(current)
                current, filled = [], 0
            current.append((b, start, end))
            filled += end - start
    if current:
        chunks.append(current)
    return chunks


def _features(waveform: torch.Tensor, lengths: torch.Tensor | None, head, out_dim: int, *,
              sample_rate: float, frame_length_ms: float, frame_shift_ms: float,
              dither: float, preemphasis_coefficient: float, remove_dc_offset: bool,
              window_type: str, blackman_coeff: float, round_to_power_of_two: bool,
              snip_edges: bool, want_energy: bool, raw_energy: bool,
              waveform_scale: float, generator: torch.Generator | None):
    """Shared front end of fbank and MFCC.

    Frames every row, then for each chunk of ``n`` frames computes the power
    spectrum ``(n, fft_size // 2 + 1)`` and the log energy ``(n,)`` (or None) and
    stores ``head(power, log_energy) -> (n, out_dim)`` in the output.
    Frames past a row's frame count (padding) are never computed and stay zero.
    """
    _check_waveform(waveform)
    squeeze = waveform.dim() == 1
    x = waveform.unsqueeze(0) if squeeze else waveform
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=x.device).long()
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"lengths must be ({x.shape[0]},), got {tuple(lengths.shape)}")
        if bool((lengths < 0).any()) or bool((lengths > x.shape[1]).any()):
            raise ValueError(f"lengths must lie in 0..{x.shape[1]} samples, got {lengths.tolist()}")
    if not waveform_scale > 0.0:
        raise ValueError(f"waveform_scale must be positive, got {waveform_scale}")
    length, shift = frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)
    fft_size = padded_window_size(length, round_to_power_of_two)
    frames, counts = _frames(x, lengths, length, shift, snip_edges)
    batch, max_frames = frames.shape[:2]
    out = frames.new_zeros(batch, max_frames, out_dim)
    # Everything up to the FFT is linear, so the waveform scale is folded into the
    # window (exact for the default power of two); energies get it squared.
    window = _on(_scaled_window_cpu(window_type, length, float(blackman_coeff),
                                    float(waveform_scale)), x)
    energy_scale = float(waveform_scale) ** 2
    c = preemphasis_coefficient
    # The zero padding past ``length`` is written once and never touched again.
    chunks = _chunks(counts.tolist(), _CHUNK_FRAMES)
    largest = max((sum(end - start for _, start, end in pieces) for pieces in chunks), default=0)
    buf = frames.new_zeros(largest, fft_size)
    for pieces in chunks:
        if len(pieces) == 1:
            b, start, end = pieces[0]
            chunk = frames[b, start:end]
        else:  # several short utterances in one chunk
            chunk = torch.cat([frames[b, start:end] for b, start, end in pieces])
        n = chunk.shape[0]
        if dither != 0.0:
            noise = torch.randn(chunk.shape, generator=generator, dtype=chunk.dtype,
                                device=chunk.device if generator is None else generator.device)
            chunk = chunk + (dither / waveform_scale) * noise.to(chunk.device)
        # Kaldi's order: remove the DC offset, take the raw energy, pre-emphasise
        # (y[i] = x[i] - c x[i-1], y[0] = x[0] - c x[0]), window, zero-pad.
        if remove_dc_offset:
            chunk = chunk - chunk.mean(dim=-1, keepdim=True)
        log_energy = None
        if want_energy and raw_energy:
            log_energy = torch.linalg.vecdot(chunk, chunk).mul_(energy_scale)
            log_energy = log_energy.clamp_min_(_EPS).log_()
        padded = buf[:n]
        body = padded[:, :length]
        if c != 0.0:
            torch.sub(chunk[:, 1:], chunk[:, :-1], alpha=c, out=body[:, 1:])
            torch.mul(chunk[:, 0], 1.0 - c, out=body[:, 0])
        else:
            body.copy_(chunk)
        body.mul_(window)
        if want_energy and not raw_energy:
            log_energy = torch.linalg.vecdot(body, body).clamp_min_(_EPS).log_()
        spec = torch.view_as_real(torch.fft.rfft(padded, dim=-1)).square_()
        power = spec[..., 0] + spec[..., 1]
        feats = head(power, log_energy)
        offset = 0
        for b, start, end in pieces:
            out[b, start:end] = feats[offset:offset + end - start]
            offset += end - start
    if lengths is not None:
        return out, counts
    return out[0] if squeeze else out


def fbank(waveform: torch.Tensor, sample_rate: float = 16000, *,
          lengths: torch.Tensor | None = None,
          num_mel_bins: int = 80, frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
          dither: float = 0.0, preemphasis_coefficient: float = 0.97,
          remove_dc_offset: bool = True, window_type: str = "povey",
          blackman_coeff: float = 0.42, round_to_power_of_two: bool = True,
          snip_edges: bool = True, low_freq: float = 20.0, high_freq: float = 0.0,
          use_energy: bool = False, raw_energy: bool = True, energy_floor: float = 0.0,
          use_log_fbank: bool = True, use_power: bool = True,
          waveform_scale: float = 32768.0, generator: torch.Generator | None = None):
    """Kaldi log mel filterbank energies (``compute-fbank-feats``).

    Args:
        waveform: ``(T,)`` or ``(B, T)`` float samples in [-1, 1) (see the module
            docstring for ``waveform_scale`` and for batching with ``lengths``).
        sample_rate: Hz.
        lengths: optional ``(B,)`` valid samples per row of a padded batch.
        num_mel_bins: number of triangular mel filters.
        frame_length_ms, frame_shift_ms: frame size and hop in milliseconds.
        dither: std of Gaussian noise added to every sample (int16 units with the
            default scale); 0 turns it off. ``generator`` seeds it.
        preemphasis_coefficient: ``y[i] = x[i] - c x[i-1]`` inside each frame.
        remove_dc_offset: subtract each frame's mean first.
        window_type: ``povey``, ``hamming``, ``hanning``, ``rectangular`` or
            ``blackman`` (with ``blackman_coeff``).
        round_to_power_of_two: zero-pad frames to a power-of-two FFT size.
        snip_edges: see :func:`num_frames`.
        low_freq, high_freq: mel band edges in Hz; ``high_freq <= 0`` is an offset
            from the Nyquist frequency.
        use_energy: prepend the log frame energy as column 0.
        raw_energy: energy before pre-emphasis and windowing (else after).
        energy_floor: floor on the energy (linear), 0 for none.
        use_log_fbank: log of the mel energies (floored at float32 epsilon).
        use_power: power spectrum (else magnitude).

    Returns:
        ``(N, F)`` / ``(B, N, F)`` float features with ``F = num_mel_bins +
        use_energy``; with ``lengths``, the pair ``(feats, frame_lengths)``.
    """
    fft_size = padded_window_size(frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)[0],
                                  round_to_power_of_two)
    blocks = _mel_blocks_cpu(num_mel_bins, fft_size, float(sample_rate), float(low_freq),
                             float(high_freq))

    def head(power, log_energy):
        if not use_power:
            power = power.sqrt_()
        mel = _apply_mel(power, blocks)
        if use_log_fbank:
            mel = mel.clamp_min_(_EPS).log_()
        if not use_energy:
            return mel
        if energy_floor > 0.0:
            log_energy = log_energy.clamp_min_(math.log(energy_floor))
        return torch.cat([log_energy.unsqueeze(-1), mel], dim=-1)

    return _features(
        waveform, lengths, head, num_mel_bins + int(use_energy), sample_rate=sample_rate,
        frame_length_ms=frame_length_ms, frame_shift_ms=frame_shift_ms, dither=dither,
        preemphasis_coefficient=preemphasis_coefficient, remove_dc_offset=remove_dc_offset,
        window_type=window_type, blackman_coeff=blackman_coeff,
        round_to_power_of_two=round_to_power_of_two, snip_edges=snip_edges,
        want_energy=use_energy, raw_energy=raw_energy, waveform_scale=waveform_scale,
        generator=generator)


def mfcc(waveform: torch.Tensor, sample_rate: float = 16000, *,
         lengths: torch.Tensor | None = None,
         num_ceps: int = 13, num_mel_bins: int = 23, cepstral_lifter: float = 22.0,
         frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0, dither: float = 0.0,
         preemphasis_coefficient: float = 0.97, remove_dc_offset: bool = True,
         window_type: str = "povey", blackman_coeff: float = 0.42,
         round_to_power_of_two: bool = True, snip_edges: bool = True,
         low_freq: float = 20.0, high_freq: float = 0.0, use_energy: bool = True,
         raw_energy: bool = True, energy_floor: float = 0.0,
         waveform_scale: float = 32768.0, generator: torch.Generator | None = None):
    """Kaldi MFCCs (``compute-mfcc-feats``).

    The log mel energies (power spectrum, floored at float32 epsilon) go through an
    orthonormal DCT-II, keep ``num_ceps`` coefficients and are liftered with
    ``1 + cepstral_lifter / 2 * sin(pi k / cepstral_lifter)`` (0 turns it off). With
    ``use_energy`` coefficient 0 is replaced by the log frame energy. Other
    arguments, the shapes and ``lengths`` are as in :func:`fbank`.

    Returns:
        ``(N, num_ceps)`` / ``(B, N, num_ceps)``; with ``lengths``, the pair
        ``(feats, frame_lengths)``.
    """
    fft_size = padded_window_size(frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)[0],
                                  round_to_power_of_two)
    blocks = _mel_blocks_cpu(num_mel_bins, fft_size, float(sample_rate), float(low_freq),
                             float(high_freq))
    dct_cpu = _dct_cpu(num_ceps, num_mel_bins, float(cepstral_lifter))

    def head(power, log_energy):
        log_mel = _apply_mel(power, blocks).clamp_min_(_EPS).log_()
        ceps = torch.matmul(log_mel, _on(dct_cpu, log_mel))
        if use_energy:
            if energy_floor > 0.0:
                log_energy = log_energy.clamp_min_(math.log(energy_floor))
            ceps[:, 0] = log_energy
        return ceps

    return _features(
        waveform, lengths, head, num_ceps, sample_rate=sample_rate,
        frame_length_ms=frame_length_ms, frame_shift_ms=frame_shift_ms, dither=dither,
        preemphasis_coefficient=preemphasis_coefficient, remove_dc_offset=remove_dc_offset,
        window_type=window_type, blackman_coeff=blackman_coeff,
        round_to_power_of_two=round_to_power_of_two, snip_edges=snip_edges,
        want_energy=use_energy, raw_energy=raw_energy, waveform_scale=waveform_scale,
        generator=generator)


# ---------------------------------------------------------------------------
# Post-processing: deltas, splicing, CMVN.

def _clamped_rows(feats: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Rows ``clamp(t + offset, 0, N - 1)`` of ``feats (..., N, F)``: ``(..., N, K, F)``."""
    n = feats.shape[-2]
    index = (torch.arange(n, device=feats.device).unsqueeze(1)
             + offsets.to(feats.device).unsqueeze(0)).clamp_(0, n - 1)
    return feats[..., index, :]


@functools.lru_cache(maxsize=16)
def _delta_windows(order: int, window: int) -> tuple[torch.Tensor, ...]:
    """Kaldi's regression windows; window ``i`` has ``2 * i * window + 1`` taps."""
    first = torch.arange(-window, window + 1, dtype=torch.float64)
    first = first / (2 * sum(j * j for j in range(1, window + 1)))
    windows = [torch.ones(1, dtype=torch.float64)]
    for _ in range(order):
        prev = windows[-1]
        # Full convolution of the previous window with the first-order one.
        conv = torch.zeros(len(prev) + len(first) - 1, dtype=torch.float64)
        for j, w in enumerate(first.tolist()):
            conv[j:j + len(prev)] += w * prev
        windows.append(conv)
    return tuple(windows)


def compute_deltas(feats: torch.Tensor, order: int = 2, window: int = 2) -> torch.Tensor:
    """Kaldi's ``add-deltas``: ``[x, delta x, delta^2 x, ...]`` along the feature axis.

    ``feats`` is ``(N, F)`` or ``(B, N, F)`` with every frame valid (pad batches
    per utterance yourself). The first-order delta is
    ``sum_{j=-W..W} j x[t+j] / (2 sum_{j=1..W} j^2)``; order ``i`` applies the
    ``i``-fold convolution of that window to ``x`` directly. Out-of-range frames
    repeat the first/last frame. Returns ``(..., N, F * (order + 1))``.
    """
    if order < 0 or window < 1:
        raise ValueError(f"compute_deltas needs order >= 0 and window >= 1, got {order}, {window}")
    if feats.dim() not in (2, 3):
        raise ValueError(f"feats must be (N, F) or (B, N, F), got {tuple(feats.shape)}")
    if feats.shape[-2] == 0:
        return feats.new_zeros(*feats.shape[:-1], feats.shape[-1] * (order + 1))
    windows = _delta_windows(order, window)
    reach = order * window
    rows = _clamped_rows(feats, torch.arange(-reach, reach + 1))  # (..., N, 2R+1, F)
    blocks = [feats]
    for i in range(1, order + 1):
        taps = windows[i].to(feats.dtype).to(feats.device)
        offset = reach - i * window
        taps_rows = rows[..., offset:offset + len(taps), :]
        blocks.append(torch.einsum("...nkf,k->...nf", taps_rows, taps))
    return torch.cat(blocks, dim=-1)


def splice(feats: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Kaldi's ``splice-feats``: each frame with ``left`` frames before and ``right`` after.

    ``feats (N, F)`` or ``(B, N, F)`` -> ``(..., N, F * (left + 1 + right))``, blocks
    ordered from ``t - left`` to ``t + right``; out-of-range frames repeat the
    first/last frame.
    """
    if left < 0 or right < 0:
        raise ValueError(f"splice contexts must be >= 0, got left={left} right={right}")
    if feats.shape[-2] == 0:
        return feats.new_zeros(*feats.shape[:-1], feats.shape[-1] * (left + 1 + right))
    rows = _clamped_rows(feats, torch.arange(-left, right + 1))
    return rows.reshape(*rows.shape[:-2], -1)


def cmvn_stats(feats: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """CMVN statistics of ``feats (N, F)``: ``(count, sum (F,), sum_of_squares (F,))``.

    Sums are float64; stats of several utterances add up element-wise.
    """
    if feats.dim() != 2:
        raise ValueError(f"feats must be (N, F), got {tuple(feats.shape)}")
    x = feats.double()
    return float(x.shape[0]), x.sum(dim=0), (x * x).sum(dim=0)


def apply_cmvn(feats: torch.Tensor, stats: tuple[float, torch.Tensor, torch.Tensor],
               norm_vars: bool = False) -> torch.Tensor:
    """Kaldi's ``apply-cmvn``: subtract the mean, optionally divide by the std.

    ``feats (..., F)``; ``stats`` as from :func:`cmvn_stats` (possibly summed). The
    variance is floored at 1e-20 as in Kaldi. Returns a new tensor of ``feats``'s dtype.
    """
    count, total, total_sq = stats
    count = float(count)
    if count < 1.0:
        raise ValueError(f"CMVN stats have count {count} < 1: no frames were accumulated")
    if total.shape[-1] != feats.shape[-1]:
        raise ValueError(f"CMVN stats have dim {total.shape[-1]}, features have {feats.shape[-1]}")
    mean = total.double() / count
    if not norm_vars:
        return feats - mean.to(feats.dtype).to(feats.device)
    var = (total_sq.double() / count - mean * mean).clamp_min(1e-20)
    scale = 1.0 / var.sqrt()
    offset = -mean * scale
    return feats * scale.to(feats.dtype).to(feats.device) + offset.to(feats.dtype).to(feats.device)
