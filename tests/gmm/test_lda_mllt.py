import math

import pytest
import torch

from asr.gmm.diag_gmm import DiagGmmSet
from asr.gmm.lda_mllt import (LdaStats, MlltStats, apply_transform, compose_affine,
                              estimate_lda, estimate_mllt, load_transform, mllt_g_stats,
                              save_transform, splice_frames, transform_model)


def _cloud(chol: torch.Tensor) -> torch.Tensor:
    """``2 D`` points ``+-sqrt(D) L e_j``: mean exactly 0, covariance exactly ``L L^T``."""
    d = chol.shape[0]
    cols = math.sqrt(d) * chol.T                     # rows are sqrt(D) (L e_j)^T
    return torch.cat([cols, -cols])


def test_lda_two_classes_known_solution():
    """Two equally likely classes sharing within-class covariance W: the one useful
    direction is W^-1 (mu_a - mu_b), with between/within ratio delta^T W^-1 delta / 4."""
    chol = torch.tensor([[1.0, 0, 0], [0.5, 2.0, 0], [-0.3, 0.2, 0.7]], dtype=torch.float64)
    within = chol @ chol.T
    mu_a = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    mu_b = torch.tensor([-0.5, 1.0, 0.5], dtype=torch.float64)
    cloud = _cloud(chol)
    x = torch.cat([mu_a + cloud, mu_b + cloud])
    labels = torch.tensor([0] * len(cloud) + [1] * len(cloud))
    stats = LdaStats.zeros(2, 3).accumulate(x, labels)
    m, evals = estimate_lda(stats, 3)
    delta = mu_a - mu_b
    direction = torch.linalg.solve(within, delta)
    cos = torch.dot(m[0], direction) / (m[0].norm() * direction.norm())
    assert abs(abs(float(cos)) - 1) < 1e-10
    assert float(evals[0]) == pytest.approx(float(delta @ direction) / 4, rel=1e-10)
    assert torch.allclose(evals[1:], torch.zeros(2, dtype=torch.float64), atol=1e-10)
    # Output features are white within each class.
    assert torch.allclose(m @ within @ m.T, torch.eye(3, dtype=torch.float64), atol=1e-10)


def test_lda_reduces_dimension_and_rejects_bad_dim():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 4, (500,), generator=gen)
    x[:, 0] += 3 * labels
    stats = LdaStats.zeros(4, 6).accumulate(x, labels)
    m, evals = estimate_lda(stats, 2)
    assert m.shape == (2, 6)
    assert bool((evals[:-1] >= evals[1:]).all())
    with pytest.raises(ValueError, match="output dim"):
        estimate_lda(stats, 7)
    with pytest.raises(ValueError, match="no frames"):
        estimate_lda(LdaStats.zeros(4, 6), 2)


def _shared_full_cov_data(num_classes=4, per_class=3000, dim=4, seed=1):
    gen = torch.Generator().manual_seed(seed)
    rot = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))[0]
    scale = torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64)[:dim])
    mix = rot @ scale
    means = 3 * torch.randn(num_classes, dim, generator=gen, dtype=torch.float64)
    x = torch.cat([means[c] + torch.randn(per_class, dim, generator=gen, dtype=torch.float64)
                   @ mix.T for c in range(num_classes)])
    pdfs = torch.arange(num_classes).repeat_interleave(per_class)
    return x, pdfs, mix @ mix.T


def _ml_diag_gmm(x, pdfs, num_pdfs):
    means = torch.stack([x[pdfs == p].mean(0) for p in range(num_pdfs)])
    variances = torch.stack([x[pdfs == p].var(0, unbiased=False) for p in range(num_pdfs)])
    return DiagGmmSet(means, variances, torch.zeros(num_pdfs, dtype=torch.float64),
                      torch.arange(num_pdfs), num_pdfs)


def _total_loglike(gmm, x, pdfs):
    return float(gmm.loglikes(x)[torch.arange(len(pdfs)), pdfs].sum())


def _max_correlation(cov):
    sd = torch.diag(cov).sqrt()
    corr = cov / (sd[:, None] * sd[None, :])
    return float((corr - torch.eye(len(sd), dtype=cov.dtype)).abs().max())


def test_mllt_increases_auxiliary_and_likelihood_and_diagonalises():
    x, pdfs, cov = _shared_full_cov_data()
    gmm = _ml_diag_gmm(x, pdfs, 4)
    stats = MlltStats.zeros(gmm.num_gauss, gmm.dim)
    ll_before = stats.accumulate(gmm, x, pdfs)
    assert ll_before == pytest.approx(_total_loglike(gmm, x, pdfs), rel=1e-9)
    g, beta = mllt_g_stats(stats, gmm)
    assert beta == pytest.approx(len(x))
    a, aux_before, aux_after = estimate_mllt(g, beta, num_iters=20)
    assert aux_after > aux_before + 0.1
    # The shared full covariance becomes (nearly) diagonal in the new space.
    assert _max_correlation(cov) > 0.5
    assert _max_correlation(a @ cov @ a.T) < 0.05
    # Data likelihood in the new space (Jacobian included) goes up.
    new_gmm = transform_model(gmm, a, stats)
    y = apply_transform(x, a)
    ll_after = _total_loglike(new_gmm, y, pdfs) + len(x) * float(torch.linalg.slogdet(a)[1])
    assert ll_after > ll_before + 0.1 * len(x)
    # Means alone (Kaldi's gmm-transform-means) already increase it.
    means_only = transform_model(gmm, a)
    assert torch.allclose(means_only.means, gmm.means @ a.T)


def test_mllt_on_diagonal_data_stays_near_identity():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(20000, 3, generator=gen, dtype=torch.float64) * torch.tensor([2.0, 1.0, 0.5],
                                                                                  dtype=torch.float64)
    pdfs = torch.zeros(20000, dtype=torch.long)
    gmm = _ml_diag_gmm(x, pdfs, 1)
    stats = MlltStats.zeros(1, 3)
    stats.accumulate(gmm, x, pdfs)
    a, before, after = estimate_mllt(*mllt_g_stats(stats, gmm))
    assert after >= before - 1e-12
    # Up to the scales of the dimensions (std 2, 1, 0.5), A is the identity.
    sd = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
    assert torch.allclose((a * sd[None, :] / sd[:, None]).abs(),
                          torch.eye(3, dtype=torch.float64), atol=0.03)


def test_splice_and_affine_helpers():
    x = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    s = splice_frames(x, 1)
    assert s.shape == (4, 9)
    assert torch.equal(s[0, :3], x[0]) and torch.equal(s[0, 6:], x[1])   # edge repeats
    assert torch.equal(s[3, 6:], x[3])
    aff = torch.randn(2, 4, dtype=torch.float64)
    assert torch.allclose(apply_transform(x.double(), aff), x.double() @ aff[:, :3].T + aff[:, 3])
    outer = torch.randn(2, 3, dtype=torch.float64)
    inner = torch.randn(3, 4, dtype=torch.float64)
    both = compose_affine(outer, inner, 3)
    assert torch.allclose(apply_transform(x.double(), both),
                          apply_transform(apply_transform(x.double(), inner), outer))
    with pytest.raises(ValueError, match="does not fit"):
        apply_transform(x, torch.randn(2, 7))


def test_transform_save_load_round_trip(tmp_path):
    m = torch.randn(40, 91, dtype=torch.float64)
    save_transform(tmp_path / "final.mat", m, kind="lda_mllt", splice=3)
    state = load_transform(tmp_path / "final.mat")
    assert torch.equal(state["matrix"], m) and state["splice"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["final.mat"]     # no temp files left
    with pytest.raises(FileNotFoundError, match="missing.mat"):
        load_transform(tmp_path / "missing.mat")
    (tmp_path / "bad.mat").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.mat"):
        load_transform(tmp_path / "bad.mat")
