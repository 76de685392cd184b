"""A set of diagonal-covariance GMMs, one per pdf, as stacked tensors.

All Gaussians of all pdfs live in one set of tensors::

    means      (G, D)   float
    variances  (G, D)   float
    log_weights (G,)    float, log mixture weight inside its pdf
    gauss_pdf  (G,)     long, pdf of each Gaussian, sorted ascending

Per-frame log-likelihoods of every Gaussian are one matrix product (the quadratic
form expanded as ``x^2 . (-1/(2 var)) + x . (mu/var) + const``) whose columns are laid
out pdf by pdf in a padded ``(P, K_max)`` grid (padding columns score ``-inf``), so a
pdf's likelihood is a log-sum-exp over the last axis of ``(N, P, K_max)`` with no
gather. Everything runs on the device the tensors are on (CPU or CUDA).

Training (EM) is split in three steps: :meth:`DiagGmmSet.accumulate` gathers
zeroth/first/second-order statistics from frames with their pdf (an alignment) or
frame-level pdf posteriors, :meth:`DiagGmmSet.update` is the M-step (variance floor,
low-count removal), :meth:`DiagGmmSet.split` grows mixtures towards per-pdf targets
from :func:`split_targets`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import torch

_LOG_2PI = math.log(2 * math.pi)


@dataclass
class GmmStats:
    """Sufficient statistics per Gaussian (float64).

    ``occ (G,)`` zeroth order, ``sum_x (G, D)`` first, ``sum_x2 (G, D)`` second;
    ``loglike`` is the total log-likelihood of the accumulated frames (weighted) and
    ``frames`` their total weight.
    """

    occ: torch.Tensor
    sum_x: torch.Tensor
    sum_x2: torch.Tensor
    loglike: float = 0.0
    frames: float = 0.0

    @classmethod
    def zeros(cls, num_gauss: int, dim: int, device: torch.device | str = "cpu") -> "GmmStats":
        z = dict(dtype=torch.float64, device=device)
        return cls(torch.zeros(num_gauss, **z), torch.zeros(num_gauss, dim, **z),
                   torch.zeros(num_gauss, dim, **z))

    @property
    def avg_loglike(self) -> float:
        """Average log-likelihood per frame (``nan`` with no frames)."""
        return self.loglike / self.frames if self.frames > 0 else float("nan")


class DiagGmmSet:
    """Diagonal GMMs for ``num_pdfs`` pdfs (see the module docstring for shapes)."""

    def __init__(self, means: torch.Tensor, variances: torch.Tensor,
                 log_weights: torch.Tensor, gauss_pdf: torch.Tensor, num_pdfs: int) -> None:
        gauss_pdf = gauss_pdf.to(means.device, torch.long)
        if means.dim() != 2 or variances.shape != means.shape:
            raise ValueError(f"gmm: means {tuple(means.shape)} and variances "
                             f"{tuple(variances.shape)} must both be (G, D)")
        if log_weights.shape != means.shape[:1] or gauss_pdf.shape != means.shape[:1]:
            raise ValueError("gmm: log_weights and gauss_pdf must be (G,)")
        if len(gauss_pdf) > 1 and bool((gauss_pdf[1:] < gauss_pdf[:-1]).any()):
            raise ValueError("gmm: gauss_pdf must be sorted by pdf")
        counts = torch.bincount(gauss_pdf, minlength=num_pdfs)
        if len(counts) != num_pdfs or bool((counts == 0).any()):
            raise ValueError(f"gmm: every pdf in 0..{num_pdfs - 1} needs at least one "
                             f"Gaussian (counts {counts.tolist()})")
        if bool((variances <= 0).any()):
            raise ValueError("gmm: variances must be positive")
        self.means = means
        self.variances = variances
        self.log_weights = log_weights
        self.gauss_pdf = gauss_pdf
        self.num_pdfs = num_pdfs
        self._prepare(counts)

    def _prepare(self, counts: torch.Tensor) -> None:
        """Precompute the expanded quadratic form in a padded ``(P, K_max)`` layout.

        ``log N(x; mu, var) + log w = [x, x^2] . [mu/var, -1/(2 var)] + gconst``, so
        one matrix product of ``[x, x^2] (N, 2D)`` with ``_proj (2D, P * K_max)``
        gives every component of every pdf; padding columns get ``gconst = -inf``.
        """
        inv_var = self.variances.reciprocal()
        mean_inv_var = self.means * inv_var                              # (G, D)
        gconst = (self.log_weights - 0.5 * (
            self.dim * _LOG_2PI + self.variances.log().sum(1)
            + (self.means * mean_inv_var).sum(1)))                       # (G,)
        kmax = int(counts.max())
        starts = torch.cumsum(counts, 0) - counts
        k = torch.arange(kmax, device=self.device)
        valid = k[None, :] < counts[:, None]                             # (P, K_max)
        index = starts[:, None] + k[None, :]
        # pad_index[p, k] = k-th Gaussian of pdf p, or G past its end.
        self.pad_index = torch.where(valid, index, torch.full_like(index, self.num_gauss))
        self.num_components = counts                                     # (P,)
        # slot_of_gauss[g] = column of Gaussian g in the padded layout.
        self.slot_of_gauss = (self.gauss_pdf * kmax
                              + torch.arange(self.num_gauss, device=self.device)
                              - starts[self.gauss_pdf])
        cols = self.num_pdfs * kmax
        proj = self.means.new_zeros(2 * self.dim, cols)
        proj[:self.dim, self.slot_of_gauss] = mean_inv_var.T
        proj[self.dim:, self.slot_of_gauss] = -0.5 * inv_var.T
        bias = self.means.new_full((cols,), -math.inf)
        bias[self.slot_of_gauss] = gconst
        self._proj, self._bias, self._kmax = proj, bias, kmax

    # -- construction -------------------------------------------------------------

    @classmethod
    def init_single(cls, num_pdfs: int, mean: torch.Tensor, variance: torch.Tensor) -> "DiagGmmSet":
        """One Gaussian per pdf, all equal to ``mean (D,)`` / ``variance (D,)`` (flat start)."""
        means = mean.reshape(1, -1).repeat(num_pdfs, 1)
        variances = variance.reshape(1, -1).repeat(num_pdfs, 1)
        return cls(means, variances, torch.zeros(num_pdfs, dtype=means.dtype, device=means.device),
                   torch.arange(num_pdfs, device=means.device), num_pdfs)

    @property
    def num_gauss(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def device(self) -> torch.device:
        return self.means.device

    def to(self, device: torch.device | str | None = None,
           dtype: torch.dtype | None = None) -> "DiagGmmSet":
        kw = dict(device=device, dtype=dtype)
        return DiagGmmSet(self.means.to(**kw), self.variances.to(**kw),
                          self.log_weights.to(**kw), self.gauss_pdf.to(device),
                          self.num_pdfs)

    def state_dict(self) -> dict:
        return {"means": self.means.cpu(), "variances": self.variances.cpu(),
                "log_weights": self.log_weights.cpu(), "gauss_pdf": self.gauss_pdf.cpu(),
                "num_pdfs": self.num_pdfs}

    @classmethod
    def from_state_dict(cls, state: dict) -> "DiagGmmSet":
        return cls(state["means"], state["variances"], state["log_weights"],
                   state["gauss_pdf"], int(state["num_pdfs"]))

    # -- likelihoods ----------------------------------------------------------------

    def _component_loglikes(self, feats: torch.Tensor,
                            columns: tuple[torch.Tensor, torch.Tensor] | None = None
                            ) -> torch.Tensor:
        """``(N, P', K_max)``: log(w * N(x)) of each pdf's components, ``-inf`` padded;
        ``P' = P``, or the pdfs of ``columns`` (``_pdf_columns``'s projection and bias)."""
        x = feats.to(self.means.dtype)
        proj, bias = (self._proj, self._bias) if columns is None else columns
        out = torch.addmm(bias, torch.cat([x, x * x], 1), proj)
        return out.view(x.shape[0], -1, self._kmax)

    def _pdf_columns(self, pdfs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The projection ``(2D, len(pdfs) * K_max)`` and bias of the pdfs ``pdfs (P',)``."""
        pdfs = pdfs.to(self.device, torch.long)
        cols = (pdfs[:, None] * self._kmax
                + torch.arange(self._kmax, device=self.device)).reshape(-1)
        return self._proj[:, cols], self._bias[cols]

    def gauss_loglikes(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats (N, D)`` -> ``(N, G)``: log(weight * N(x; mu, var)) per Gaussian."""
        comp = self._component_loglikes(feats)
        return comp.view(comp.shape[0], -1)[:, self.slot_of_gauss]

    def loglikes(self, feats: torch.Tensor, pdfs: torch.Tensor | None = None,
                 chunk: int = 32768) -> torch.Tensor:
        """``feats (N, D)`` -> ``(N, P)`` log-likelihood of every pdf for every frame,
        or ``(N, len(pdfs))`` of the pdfs ``pdfs`` only, in that order.

        Only some pdfs are needed to align an utterance (those of its transcript's
        states), and with thousands of pdfs computing just those is many times faster.
        Frames go through in chunks of ``chunk`` to bound the ``(N, P, K_max)``
        intermediate."""
        columns = None if pdfs is None else self._pdf_columns(pdfs)
        out = []
        for start in range(0, feats.shape[0], chunk):
            comp = self._component_loglikes(feats[start:start + chunk], columns)
            top = comp.amax(-1, keepdim=True)
            out.append(comp.sub_(top).exp_().sum(-1).log_().add_(top.squeeze(-1)))
        return torch.cat(out) if len(out) != 1 else out[0]

    # -- EM -----------------------------------------------------------------------

    def accumulate(self, feats: torch.Tensor, pdfs: torch.Tensor,
                   weights: torch.Tensor | None = None) -> GmmStats:
        """E-step statistics from frames with a pdf each.

        Args:
            feats: ``(N, D)`` frames.
            pdfs: ``(N,)`` long pdf of each frame (an alignment). For frame-level
                posteriors over several pdfs repeat the frame once per pdf.
            weights: optional ``(N,)`` posterior of that pdf for that frame (default 1).

        Returns:
            :class:`GmmStats` on this set's device; ``loglike`` is the weighted sum of
            the frames' pdf log-likelihoods under the current model.

        Frames are grouped by pdf, and each pdf's statistics are two matrix products
        of its ``(n_p, K_p)`` component posteriors with its frames: the work grows
        with the pdf's own components ``K_p``, not with the largest pdf's, and there
        is no per-Gaussian scatter. Computed in float64.
        """
        stats = GmmStats.zeros(self.num_gauss, self.dim, self.device)
        x_all = feats.to(self.device, torch.float64)
        pdfs = pdfs.to(self.device, torch.long)
        if weights is not None:
            weights = weights.to(self.device, torch.float64)
        if pdfs.numel() == 0:
            return stats
        if int(pdfs.min()) < 0 or int(pdfs.max()) >= self.num_pdfs:
            raise ValueError(f"gmm: pdf ids must lie in 0..{self.num_pdfs - 1}")
        order = torch.argsort(pdfs, stable=True)
        frame_counts = torch.bincount(pdfs, minlength=self.num_pdfs).tolist()
        gauss_counts = self.num_components.tolist()
        means = self.means.double()
        inv_var = self.variances.double().reciprocal()
        # log w + log N(x) = x . (mu/var) - 0.5 x^2 . (1/var) + gconst; float64 keeps
        # the expanded form's cancellation harmless
        gconst = (self.log_weights.double()
                  - 0.5 * (self.dim * _LOG_2PI + self.variances.double().log().sum(1)
                           + (means * means * inv_var).sum(1)))
        proj = torch.cat([means * inv_var, -0.5 * inv_var], 1)          # (G, 2D)
        loglike = x_all.new_zeros(())
        weight = x_all.new_zeros(())
        frame_start = gauss_start = 0
        for n, k in zip(frame_counts, gauss_counts):
            if n:
                rows = order[frame_start:frame_start + n]
                x = x_all[rows]                                          # (n, D)
                xx = torch.cat([x, x * x], 1)                            # (n, 2D)
                g = slice(gauss_start, gauss_start + k)
                comp = torch.addmm(gconst[g], xx, proj[g].T)             # (n, k)
                frame_ll = torch.logsumexp(comp, dim=1)                  # (n,)
                post = torch.exp(comp - frame_ll[:, None])               # (n, k)
                if weights is None:
                    loglike += frame_ll.sum()
                    weight += n
                else:
                    w = weights[rows]
                    post = post * w[:, None]
                    loglike += frame_ll @ w
                    weight += w.sum()
                moments = post.T @ xx                                    # (k, 2D)
                stats.occ[g] = post.sum(0)
                stats.sum_x[g] = moments[:, :self.dim]
                stats.sum_x2[g] = moments[:, self.dim:]
            frame_start += n
            gauss_start += k
        stats.loglike, stats.frames = float(loglike), float(weight)
        return stats

    def update(self, stats: GmmStats, *, min_occupancy: float = 10.0,
               min_weight: float = 1e-5, var_floor_fraction: float = 0.01,
               remove_low_count: bool = True) -> "DiagGmmSet":
        """M-step: a new set with maximum-likelihood weights, means and variances.

        - Variances are floored at ``var_floor_fraction`` times the global variance
          of the accumulated data.
        - A Gaussian with occupancy under ``min_occupancy`` or weight under
          ``min_weight`` is removed when ``remove_low_count`` (never the last one of
          its pdf); kept ones keep their old mean and variance.
        - A pdf without any data keeps its old parameters.
        """
        dev, dtype = self.device, self.means.dtype
        occ = stats.occ.to(dev)
        pdf_occ = torch.zeros(self.num_pdfs, dtype=torch.float64, device=dev)
        pdf_occ.index_add_(0, self.gauss_pdf, occ)
        total = occ.sum().clamp_min(1e-300)
        global_mean = stats.sum_x.sum(0) / total
        global_var = (stats.sum_x2.sum(0) / total - global_mean ** 2).clamp_min(1e-10)
        var_floor = var_floor_fraction * global_var                  # (D,)

        safe = occ.clamp_min(1e-300)[:, None]
        new_means = stats.sum_x.to(dev) / safe
        new_vars = torch.maximum(stats.sum_x2.to(dev) / safe - new_means ** 2, var_floor)
        has_data = pdf_occ[self.gauss_pdf] > 0
        weights = torch.where(has_data, occ / pdf_occ[self.gauss_pdf].clamp_min(1e-300),
                              self.log_weights.double().exp())
        low = has_data & ((occ < min_occupancy) | (weights < min_weight))
        fit = has_data & ~low
        means = torch.where(fit[:, None], new_means, self.means.double())
        variances = torch.where(fit[:, None], new_vars, self.variances.double())

        keep = torch.ones_like(low)
        if remove_low_count:
            keep = ~low
            # A pdf whose Gaussians are all low keeps its best one.
            kept_per_pdf = torch.zeros(self.num_pdfs, dtype=torch.long, device=dev)
            kept_per_pdf.index_add_(0, self.gauss_pdf, keep.long())
            for p in torch.nonzero(kept_per_pdf == 0).flatten().tolist():
                members = torch.nonzero(self.gauss_pdf == p).flatten()
                keep[members[occ[members].argmax()]] = True
        weights = weights.clamp_min(min_weight) * keep
        pdf_w = torch.zeros(self.num_pdfs, dtype=torch.float64, device=dev)
        pdf_w.index_add_(0, self.gauss_pdf, weights)
        weights = weights / pdf_w[self.gauss_pdf]
        k = keep
        return DiagGmmSet(means[k].to(dtype), variances[k].to(dtype),
                          weights[k].log().to(dtype), self.gauss_pdf[k], self.num_pdfs)

    def split(self, targets: torch.Tensor, perturb_factor: float = 0.01,
              generator: torch.Generator | None = None) -> "DiagGmmSet":
        """Grow pdf ``p`` to ``targets[p]`` Gaussians (never shrinks).

        As Kaldi's ``DiagGmm::Split``: repeatedly take the heaviest Gaussian of the
        pdf, halve its weight, and replace it by two copies whose means move by
        ``+-perturb_factor * std * n``, ``n ~ N(0, I)``.
        """
        targets = targets.cpu().long()
        if targets.shape != (self.num_pdfs,):
            raise ValueError(f"gmm split: targets must be ({self.num_pdfs},), "
                             f"got {tuple(targets.shape)}")
        means = self.means.detach().cpu().double()
        variances = self.variances.detach().cpu().double()
        weights = self.log_weights.detach().cpu().double().exp()
        pdf_list = self.gauss_pdf.cpu().tolist()
        groups: list[list[int]] = [[] for _ in range(self.num_pdfs)]
        for g, p in enumerate(pdf_list):
            groups[p].append(g)
        out_m, out_v, out_w, out_p = [], [], [], []
        for p, members in enumerate(groups):
            m = [means[g] for g in members]
            v = [variances[g] for g in members]
            w = [float(weights[g]) for g in members]
            while len(m) < int(targets[p]):
                j = max(range(len(w)), key=w.__getitem__)
                delta = perturb_factor * v[j].sqrt() * torch.randn(
                    self.dim, generator=generator, dtype=torch.float64)
                w[j] /= 2
                m.append(m[j] + delta)
                v.append(v[j].clone())
                w.append(w[j])
                m[j] = m[j] - delta
            out_m += m
            out_v += v
            out_w += w
            out_p += [p] * len(m)
        kw = dict(device=self.device, dtype=self.means.dtype)
        return DiagGmmSet(torch.stack(out_m).to(**kw), torch.stack(out_v).to(**kw),
                          torch.tensor(out_w, dtype=torch.float64).log().to(**kw),
                          torch.tensor(out_p, device=self.device), self.num_pdfs)

    def pdf_occupancy(self, stats: GmmStats) -> torch.Tensor:
        """``(P,)`` float64 occupancy per pdf from per-Gaussian stats."""
        occ = torch.zeros(self.num_pdfs, dtype=torch.float64, device=stats.occ.device)
        return occ.index_add_(0, self.gauss_pdf.to(stats.occ.device), stats.occ)

    def __repr__(self) -> str:
        return f"DiagGmmSet(pdfs={self.num_pdfs}, gauss={self.num_gauss}, dim={self.dim})"


def split_targets(pdf_occ: torch.Tensor, total_gauss: int, power: float = 0.2,
                  min_count: float = 20.0, current: torch.Tensor | None = None) -> torch.Tensor:
    """Gaussians per pdf for a total of ``total_gauss`` (Kaldi's ``GetSplitTargets``).

    Starting from ``current`` counts (default one per pdf), the next Gaussian goes to
    the pdf with the largest ``occ^power / n_components``, so counts grow as
    ``occ^power``; a pdf stops growing when one more Gaussian would leave each no
    more than ``min_count`` frames. Counts never go below ``current``.

    Args:
        pdf_occ: ``(P,)`` occupancy (frames) per pdf.
        current: ``(P,)`` Gaussians each pdf has now.
    Returns:
        ``(P,)`` long target counts, summing to ``max(total_gauss, sum(current))``
        unless ``min_count`` stops every pdf first.
    """
    occ = pdf_occ.detach().double().cpu().tolist()
    counts = [1] * len(occ) if current is None else [int(c) for c in current.cpu().tolist()]
    heap = [(-(o ** power) / counts[p], p) for p, o in enumerate(occ) if o > 0]
    heapq.heapify(heap)
    total = sum(counts)
    while total < total_gauss and heap:
        _, p = heapq.heappop(heap)
        if (counts[p] + 1) * min_count >= occ[p]:
            continue  # too little data for another Gaussian: drop from the queue
        counts[p] += 1
        total += 1
        heapq.heappush(heap, (-(occ[p] ** power) / counts[p], p))
    return torch.tensor(counts, dtype=torch.long)
