import math

import pytest
import torch
from torch.distributions import Independent, Normal

from asr.gmm.diag_gmm import DiagGmmSet, split_targets


def frames_of(an4_subset, n=None):
    feats, _ = an4_subset
    x = torch.cat(list(feats.values()))
    return x if n is None else x[:n]


def random_gmm(x, components=(1, 2, 4), seed=0, dtype=torch.float32):
    """GMMs whose means are real frames and variances near the data variance."""
    g = torch.Generator().manual_seed(seed)
    G = sum(components)
    idx = torch.randperm(x.shape[0], generator=g)[:G]
    means = x[idx].double()
    variances = x.double().var(0) * (0.5 + 1.5 * torch.rand(G, x.shape[1], generator=g, dtype=torch.float64))
    gauss_pdf = torch.repeat_interleave(torch.arange(len(components)), torch.tensor(components))
    w = torch.rand(G, generator=g, dtype=torch.float64) + 0.1
    pdf_w = torch.zeros(len(components), dtype=torch.float64).index_add_(0, gauss_pdf, w)
    log_w = (w / pdf_w[gauss_pdf]).log()
    return DiagGmmSet(means.to(dtype), variances.to(dtype), log_w.to(dtype), gauss_pdf,
                      len(components))


def reference_loglikes(gmm, x):
    """Per-Gaussian log densities from torch.distributions, float64, then log-sum-exp."""
    x = x.double()
    out = torch.full((x.shape[0], gmm.num_pdfs), -math.inf, dtype=torch.float64)
    for p in range(gmm.num_pdfs):
        terms = []
        for g in torch.nonzero(gmm.gauss_pdf == p).flatten().tolist():
            dist = Independent(Normal(gmm.means[g].double(), gmm.variances[g].double().sqrt()), 1)
            terms.append(gmm.log_weights[g].double() + dist.log_prob(x))
        out[:, p] = torch.logsumexp(torch.stack(terms, 1), 1)
    return out


def test_loglikes_match_torch_distributions(an4_subset):
    x = frames_of(an4_subset, 2000)
    gmm = random_gmm(x)
    ref = reference_loglikes(gmm, x)
    ours = gmm.loglikes(x)
    assert ours.shape == (2000, 3) and ours.dtype == torch.float32
    # float32 expanded quadratic form vs float64 direct: relative 1e-6 of |loglike|
    assert torch.allclose(ours.double(), ref, rtol=1e-6, atol=1e-4)
    ours64 = random_gmm(x, dtype=torch.float64).loglikes(x)
    assert torch.allclose(ours64, ref, rtol=0, atol=1e-4)


def test_loglikes_of_chosen_pdfs_match_those_columns(an4_subset):
    x = frames_of(an4_subset, 300)
    gmm = random_gmm(x, components=(2, 1, 4, 3, 1))
    pdfs = torch.tensor([3, 0, 4])
    some = gmm.loglikes(x, pdfs=pdfs)
    assert some.shape == (300, 3)
    assert torch.allclose(some, gmm.loglikes(x)[:, pdfs], rtol=1e-6, atol=1e-5)


def test_gauss_loglikes_include_weights(an4_subset):
    x = frames_of(an4_subset, 50)
    gmm = random_gmm(x, components=(3,), dtype=torch.float64)
    per_gauss = gmm.gauss_loglikes(x)
    assert per_gauss.shape == (50, 3)
    assert torch.allclose(torch.logsumexp(per_gauss, 1), gmm.loglikes(x)[:, 0])


def test_update_gives_ml_estimates_for_single_gaussians(an4_subset):
    x = frames_of(an4_subset, 3000).double()
    pdfs = torch.arange(3000) % 2
    gmm = DiagGmmSet.init_single(2, x.mean(0), x.var(0))
    new = gmm.update(gmm.accumulate(x, pdfs), var_floor_fraction=0.0)
    for p in range(2):
        xp = x[pdfs == p]
        assert torch.allclose(new.means[p], xp.mean(0), atol=1e-8)
        assert torch.allclose(new.variances[p], xp.var(0, unbiased=False), atol=1e-8)
    assert torch.allclose(new.log_weights, torch.zeros(2, dtype=torch.float64))


def test_weights_act_as_frame_counts(an4_subset):
    x = frames_of(an4_subset, 400)
    pdfs = torch.arange(400) % 3
    gmm = random_gmm(x)
    doubled = gmm.accumulate(torch.cat([x, x]), torch.cat([pdfs, pdfs]))
    weighted = gmm.accumulate(x, pdfs, weights=torch.full((400,), 2.0))
    assert torch.allclose(doubled.occ, weighted.occ)
    assert torch.allclose(doubled.sum_x2, weighted.sum_x2)
    assert math.isclose(doubled.loglike, weighted.loglike, rel_tol=1e-9)
    assert torch.allclose(gmm.accumulate(x, pdfs).occ.sum(), torch.tensor(400.0, dtype=torch.float64))


def test_accumulated_statistics_match_their_definition(an4_subset):
    """occ, sum_x, sum_x2 and the log-likelihood from per-Gaussian posteriors inside
    each frame's pdf (torch.distributions, float64), with uneven mixture sizes, a pdf
    without frames, unsorted pdfs and weights."""
    x = frames_of(an4_subset, 900)
    gmm = random_gmm(x, components=(3, 1, 5, 2), seed=4)
    pdfs = torch.tensor([0, 2, 3, 2, 0, 3] * 150)                    # pdf 1 gets no frame
    weights = torch.rand(900, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    stats = gmm.accumulate(x, pdfs, weights=weights)

    xd = x.double()
    occ = torch.zeros(gmm.num_gauss, dtype=torch.float64)
    sum_x = torch.zeros(gmm.num_gauss, x.shape[1], dtype=torch.float64)
    sum_x2 = torch.zeros_like(sum_x)
    loglike = 0.0
    for p in range(gmm.num_pdfs):
        rows = pdfs == p
        if not rows.any():
            continue
        gs = torch.nonzero(gmm.gauss_pdf == p).flatten().tolist()
        terms = torch.stack([
            gmm.log_weights[g].double()
            + Independent(Normal(gmm.means[g].double(), gmm.variances[g].double().sqrt()), 1)
            .log_prob(xd[rows]) for g in gs], 1)                          # (n_p, K_p)
        frame_ll = torch.logsumexp(terms, 1)
        post = (terms - frame_ll[:, None]).exp() * weights[rows][:, None]
        loglike += float((frame_ll * weights[rows]).sum())
        for j, g in enumerate(gs):
            occ[g] = post[:, j].sum()
            sum_x[g] = (post[:, j:j + 1] * xd[rows]).sum(0)
            sum_x2[g] = (post[:, j:j + 1] * xd[rows] ** 2).sum(0)
    assert torch.allclose(stats.occ, occ, rtol=1e-6, atol=1e-9)
    assert torch.allclose(stats.sum_x, sum_x, rtol=1e-6, atol=1e-6)
    assert torch.allclose(stats.sum_x2, sum_x2, rtol=1e-6, atol=1e-6)
    assert stats.occ[3].item() == 0.0                                  # pdf 1's Gaussian
    assert math.isclose(stats.loglike, loglike, rel_tol=1e-9)
    assert math.isclose(stats.frames, float(weights.sum()), rel_tol=1e-12)


def test_accumulate_rejects_pdfs_outside_the_set(an4_subset):
    x = frames_of(an4_subset, 10)
    gmm = random_gmm(x)
    with pytest.raises(ValueError, match="pdf ids"):
        gmm.accumulate(x, torch.full((10,), 3))


def test_em_increases_likelihood_on_fixed_alignment(an4_subset):
    """Two pdfs with 4 Gaussians each on a fixed alignment: every EM pass gains."""
    x = frames_of(an4_subset, 6000)
    pdfs = (x[:, 0] > x[:, 0].median()).long()       # loud vs quiet frames
    gmm = DiagGmmSet.init_single(2, x.mean(0), x.var(0))
    gmm = gmm.split(torch.tensor([4, 4]), perturb_factor=0.1,
                    generator=torch.Generator().manual_seed(0))
    history = []
    for _ in range(6):
        stats = gmm.accumulate(x, pdfs)
        history.append(stats.avg_loglike)
        gmm = gmm.update(stats, min_occupancy=1.0)
    history.append(gmm.accumulate(x, pdfs).avg_loglike)
    assert gmm.num_gauss == 8
    assert all(b > a for a, b in zip(history, history[1:])), history


def test_split_reaches_targets_and_keeps_weights_normalised(an4_subset):
    x = frames_of(an4_subset, 100)
    gmm = random_gmm(x, components=(1, 2, 1))
    targets = torch.tensor([5, 2, 3])
    new = gmm.split(targets, generator=torch.Generator().manual_seed(1))
    assert new.num_gauss == 10
    assert new.num_components.tolist() == [5, 2, 3]
    pdf_w = torch.zeros(3).index_add_(0, new.gauss_pdf, new.log_weights.exp())
    assert torch.allclose(pdf_w, torch.ones(3), atol=1e-6)
    # Splitting barely moves the likelihood (means perturbed by 1% of a std dev).
    assert torch.allclose(new.loglikes(x), gmm.loglikes(x), atol=0.05)


def test_split_targets_follow_occupancy_power():
    occ = torch.tensor([10000.0, 1000.0, 100.0, 0.0])
    targets = split_targets(occ, total_gauss=40, power=0.2, min_count=1.0)
    assert int(targets.sum()) == 40
    assert targets[3] == 1                             # no data, no split
    assert targets[0] > targets[1] > targets[2]
    ratio = (occ[:3] ** 0.2) / (occ[:3] ** 0.2).sum()
    assert torch.allclose(targets[:3].double() / 39, ratio.double(), atol=0.06)
    # min_count caps a pdf at occ / min_count Gaussians
    capped = split_targets(occ, total_gauss=1000, power=0.2, min_count=20.0)
    assert capped.tolist()[:3] == [499, 49, 4]


def test_low_count_gaussians_are_removed(an4_subset):
    x = frames_of(an4_subset, 500)
    gmm = random_gmm(x, components=(2, 2))
    # pdf 0 gets all frames; pdf 1 gets five, too few for min_occupancy.
    pdfs = torch.zeros(500, dtype=torch.long)
    pdfs[:5] = 1
    stats = gmm.accumulate(x, pdfs)
    new = gmm.update(stats, min_occupancy=10.0)
    assert new.num_components.tolist()[1] == 1          # last Gaussian of a pdf stays
    kept = new.gauss_pdf == 1
    assert torch.allclose(new.log_weights[kept], torch.zeros(1))
    assert new.num_components[0] >= 1
    none_removed = gmm.update(stats, min_occupancy=10.0, remove_low_count=False)
    assert none_removed.num_gauss == 4


def test_variance_floor(an4_subset):
    x = frames_of(an4_subset, 300)
    x = torch.cat([x, x[:1].repeat(50, 1)])            # pdf 1: one frame repeated
    pdfs = torch.cat([torch.zeros(300), torch.ones(50)]).long()
    gmm = DiagGmmSet.init_single(2, x.mean(0), x.var(0))
    new = gmm.update(gmm.accumulate(x, pdfs), var_floor_fraction=0.01)
    floor = 0.01 * x.double().var(0, unbiased=False)
    assert torch.allclose(new.variances[1].double(), floor, rtol=1e-4)


def test_pdf_without_gaussians_rejected():
    with pytest.raises(ValueError, match="at least one"):
        DiagGmmSet(torch.zeros(2, 3), torch.ones(2, 3), torch.zeros(2),
                   torch.tensor([0, 0]), num_pdfs=2)


def test_state_dict_round_trip(an4_subset):
    x = frames_of(an4_subset, 20)
    gmm = random_gmm(x)
    again = DiagGmmSet.from_state_dict(gmm.state_dict())
    assert torch.equal(again.loglikes(x), gmm.loglikes(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu(an4_subset):
    x = frames_of(an4_subset, 1000)
    gmm = random_gmm(x)
    pdfs = torch.arange(1000) % 3
    cuda = gmm.to("cuda")
    assert torch.allclose(cuda.loglikes(x.cuda()).cpu(), gmm.loglikes(x), atol=1e-3)
    a, b = gmm.accumulate(x, pdfs), cuda.accumulate(x.cuda(), pdfs.cuda())
    assert torch.allclose(a.sum_x.cpu(), b.sum_x.cpu(), rtol=1e-4, atol=1e-3)
    new_cpu = gmm.update(a)
    new_cuda = cuda.update(b)
    assert torch.allclose(new_cpu.means, new_cuda.means.cpu(), atol=1e-3)


def test_split_targets_continue_from_current_counts():
    occ = torch.tensor([5000.0, 5000.0, 400.0])
    current = torch.tensor([1, 6, 3])
    targets = split_targets(occ, total_gauss=20, power=0.2, min_count=20.0, current=current)
    assert int(targets.sum()) == 20
    assert bool((targets >= current).all())
    assert targets[0] > current[0]                        # the starved pdf catches up first
