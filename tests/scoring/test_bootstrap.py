from __future__ import annotations

import numpy as np
import pytest

from asr.scoring.bootstrap import bootstrap_error_rate_ci
from asr.scoring.wer import score


def _arrays(result):
    return (
        np.array([u.counts.errors for u in result.utts]),
        np.array([u.counts.ref_len for u in result.utts]),
    )


def test_ci_contains_point_estimate_and_is_seeded(an4_ref, an4_hyp):
    result = score(an4_ref, an4_hyp)
    errors, lens = _arrays(result)
    lo, hi = bootstrap_error_rate_ci(errors, lens, num_resamples=1000, seed=3)
    assert lo < result.error_rate < hi
    assert hi - lo < 0.2
    assert bootstrap_error_rate_ci(errors, lens, num_resamples=1000, seed=3) == (lo, hi)
    assert bootstrap_error_rate_ci(errors, lens, num_resamples=1000, seed=4) != (lo, hi)


def test_chunked_equals_unchunked(monkeypatch):
    rng = np.random.default_rng(0)
    errors, lens = rng.integers(0, 4, 50), rng.integers(1, 10, 50)
    whole = bootstrap_error_rate_ci(errors, lens, num_resamples=300, seed=1)
    monkeypatch.setattr("asr.scoring.bootstrap._MAX_ELEMENTS", 50 * 7)  # 7 resamples per chunk
    assert bootstrap_error_rate_ci(errors, lens, num_resamples=300, seed=1) == pytest.approx(whole)


def test_ci_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    errors, lens = rng.integers(0, 4, 40), rng.integers(1, 10, 40)
    lo, hi = bootstrap_error_rate_ci(errors, lens, num_resamples=500, seed=7)
    gen = np.random.default_rng(7)
    idx = gen.integers(0, 40, size=(500, 40))
    rates = [errors[i].sum() / lens[i].sum() for i in idx]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(rates, [2.5, 97.5])))


def test_no_errors_gives_zero_width():
    assert bootstrap_error_rate_ci(np.zeros(5), np.ones(5)) == (0.0, 0.0)


def test_empty_reference_rejected():
    with pytest.raises(ValueError, match="no tokens"):
        bootstrap_error_rate_ci(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        bootstrap_error_rate_ci(np.zeros(0), np.zeros(0))
