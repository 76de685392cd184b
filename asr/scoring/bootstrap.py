"""Bootstrap confidence intervals of a corpus error rate, resampling utterances."""

from __future__ import annotations

import numpy as np

# Resample rows handled at once: bounds the (chunk, num_utts) index matrix in memory.
_MAX_ELEMENTS = 4_000_000


def bootstrap_error_rate_ci(
    errors: np.ndarray,
    ref_lens: np.ndarray,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``sum(errors) / sum(ref_lens)``.

    Each resample draws ``U`` utterances with replacement (``U`` = number of
    utterances) and recomputes the corpus-level rate.

    Args:
        errors: (U,) errors (S + D + I) per utterance.
        ref_lens: (U,) reference length per utterance (words or characters).
        num_resamples: number of bootstrap resamples.
        seed: seed of the numpy generator; the same seed gives the same interval.
        confidence: coverage of the interval, e.g. 0.95.

    Returns:
        (low, high) as fractions (not percent).
    """
    errors = np.asarray(errors, dtype=np.float64)
    ref_lens = np.asarray(ref_lens, dtype=np.float64)
    if errors.shape != ref_lens.shape or errors.ndim != 1:
        raise ValueError(
            f"errors {errors.shape} and ref_lens {ref_lens.shape} must be equal 1-D shapes"
        )
    num_utts = errors.shape[0]
    if num_utts == 0:
        raise ValueError("cannot bootstrap an empty set of utterances")
    if ref_lens.sum() == 0:
        raise ValueError("reference has no tokens: the error rate is undefined")
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_ELEMENTS // num_utts)
    rates = np.empty(num_resamples)
    for start in range(0, num_resamples, chunk):
        stop = min(num_resamples, start + chunk)
        idx = rng.integers(0, num_utts, size=(stop - start, num_utts))
        num, den = errors[idx].sum(axis=1), ref_lens[idx].sum(axis=1)
        # A resample of only empty references has no rate; it is left out (nan).
        rates[start:stop] = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.nanpercentile(rates, [tail, 100.0 - tail])
    return float(low), float(high)
