"""Per-speaker fMLLR (constrained MLLR), Gales 1998, "Maximum likelihood linear
transformations for HMM-based speech recognition" (Kaldi's ``gmm-est-fmllr``).

A speaker's features are mapped by ``W = [A b]`` ``(D, D + 1)``: ``x' = A x + b``; the
model is unchanged. With Gaussian posteriors ``gamma_tg`` (from an alignment or a
first-pass decode) and ``xi_t = [x_t; 1]``, the statistics are

    beta       = sum_{t,g} gamma_tg
    K  (D, D+1) : k_i = sum_{t,g} gamma_tg mu_gi / var_gi xi_t^T
    G_i (D+1, D+1) = sum_{t,g} gamma_tg / var_gi xi_t xi_t^T

and the auxiliary function (log-likelihood of the adapted frames, Jacobian included,
up to a constant) is ``beta log|det A| + sum_i (w_i k_i^T - 1/2 w_i G_i w_i^T)``.
Row ``i`` is updated in closed form, ``w_i = (alpha p_i + k_i) G_i^-1``, with ``p_i =
[c_i, 0]`` the extended cofactor row and ``alpha`` the root of
``alpha^2 p_i G_i^-1 p_i^T + alpha p_i G_i^-1 k_i^T - beta = 0`` that maximises
``beta log|alpha p G^-1 p^T + p G^-1 k^T| - alpha^2 p G^-1 p^T / 2``; each row
update cannot lower the auxiliary function. Repeating over the rows converges.

Statistics are accumulated on the *unadapted* features with posteriors computed on
the currently adapted ones, so a re-estimate starts from the current transform and
replaces it (no composition needed).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from asr.gmm.diag_gmm import DiagGmmSet
from asr.gmm.lda_mllt import apply_transform, gauss_posteriors

log = logging.getLogger(__name__)


def identity_transform(dim: int) -> torch.Tensor:
    """``[I 0]`` ``(dim, dim + 1)`` float64."""
    return torch.cat([torch.eye(dim, dtype=torch.float64),
                      torch.zeros(dim, 1, dtype=torch.float64)], 1)


@dataclass
class FmllrStats:
    """One speaker's statistics (float64): ``beta``, ``k (D, D+1)``, ``g (D, D+1, D+1)``."""

    beta: float
    k: torch.Tensor
    g: torch.Tensor

    @classmethod
    def zeros(cls, dim: int) -> "FmllrStats":
        z = dict(dtype=torch.float64)
        return cls(0.0, torch.zeros(dim, dim + 1, **z), torch.zeros(dim, dim + 1, dim + 1, **z))

    @property
    def dim(self) -> int:
        return self.k.shape[0]

    def accumulate(self, gmm: DiagGmmSet, feats: torch.Tensor, pdfs: torch.Tensor,
                   weights: torch.Tensor | None = None,
                   posterior_feats: torch.Tensor | None = None, chunk: int = 4096) -> float:
        """Add frames ``feats (N, D)`` aligned to ``pdfs (N,)``.

        Gaussian posteriors (within each frame's pdf) are computed on
        ``posterior_feats`` (default ``feats``), e.g. the frames under the current
        transform. Returns the weighted log-likelihood of ``posterior_feats``.
        """
        d = self.dim
        post_src = feats if posterior_feats is None else posterior_feats
        inv_var = gmm.variances.double().cpu().reciprocal()
        mu_inv_var = gmm.means.double().cpu() * inv_var
        total_ll = 0.0
        for start in range(0, feats.shape[0], chunk):
            x = feats[start:start + chunk].double().cpu()
            index, post, ll = gauss_posteriors(gmm, post_src[start:start + chunk],
                                               pdfs[start:start + chunk])
            index, post, ll = index.cpu(), post.cpu(), ll.cpu()
            if weights is not None:
                w = weights[start:start + chunk].double().cpu()
                post = post * w[:, None]
                ll = ll * w
            total_ll += float(ll.sum())
            safe = index.clamp_max(gmm.num_gauss - 1)
            wv = torch.einsum("nk,nkd->nd", post, inv_var[safe])          # sum gamma / var
            wm = torch.einsum("nk,nkd->nd", post, mu_inv_var[safe])       # sum gamma mu / var
            xi = torch.cat([x, torch.ones(x.shape[0], 1, dtype=torch.float64)], 1)
            self.beta += float(post.sum())
            self.k += wm.T @ xi
            outer = (xi[:, :, None] * xi[:, None, :]).reshape(x.shape[0], -1)
            self.g += (wv.T @ outer).view(d, d + 1, d + 1)
        return total_ll

    def add_(self, other: "FmllrStats") -> "FmllrStats":
        self.beta += other.beta
        self.k += other.k
        self.g += other.g
        return self


def fmllr_objective(w: torch.Tensor, stats: FmllrStats) -> float:
    """The auxiliary function (see the module docstring) of ``w (D, D + 1)``."""
    w = w.double()
    d = stats.dim
    return float(stats.beta * torch.linalg.slogdet(w[:, :d])[1]
                 + (w * stats.k).sum()
                 - 0.5 * torch.einsum("ij,ijk,ik->", w, stats.g, w))


def estimate_fmllr(stats: FmllrStats, init: torch.Tensor | None = None, num_iters: int = 10,
                   min_count: float = 50.0) -> tuple[torch.Tensor, float, float]:
    """Row-by-row fMLLR estimate. Returns ``W (D, D + 1)`` and the auxiliary function
    per frame before and after. With fewer than ``min_count`` frames of (weighted)
    data, returns ``init`` (default the identity) unchanged."""
    d = stats.dim
    w = identity_transform(d) if init is None else init.double().clone()
    if stats.beta < min_count:
        return w, float("nan"), float("nan")
    beta = stats.beta
    before = fmllr_objective(w, stats)
    # Many tiny (D x D) steps: numpy keeps the per-row overhead low.
    g_inv = np.linalg.inv(stats.g.numpy())
    k = stats.k.numpy()
    wn = w.numpy().copy()
    for _ in range(num_iters):
        for i in range(d):
            cof = np.linalg.inv(wn[:, :d])[:, i]         # cofactor row i, up to det(A)
            p = np.append(cof, 0.0)
            gp, gk = g_inv[i] @ p, g_inv[i] @ k[i]
            a, b = float(p @ gp), float(p @ gk)
            disc = math.sqrt(b * b + 4 * a * beta)
            roots = [(-b + disc) / (2 * a), (-b - disc) / (2 * a)]
            alpha = max(roots, key=lambda r: beta * math.log(abs(r * a + b) + 1e-300)
                        - 0.5 * r * r * a)
            wn[i] = alpha * gp + gk
    w = torch.from_numpy(wn)
    after = fmllr_objective(w, stats)
    if after < before:  # numerical trouble only: keep the starting point
        log.warning("fmllr: auxiliary function fell from %.4f to %.4f; keeping the old "
                    "transform", before / beta, after / beta)
        return (identity_transform(d) if init is None else init.double().clone(),
                before / beta, before / beta)
    return w, before / beta, after / beta


def estimate_speaker_transforms(gmm: DiagGmmSet, feats: Mapping[str, torch.Tensor],
                                pdfs: Mapping[str, torch.Tensor],
                                spk2utt: Mapping[str, Sequence[str]], *,
                                init: Mapping[str, torch.Tensor] | None = None,
                                weights: Mapping[str, torch.Tensor] | None = None,
                                num_iters: int = 10,
                                min_count: float = 50.0
                                ) -> tuple[dict[str, torch.Tensor], dict[str, dict]]:
    """fMLLR per speaker from per-frame pdfs (an alignment or first-pass best path).

    Args:
        feats: utt -> unadapted ``(T, D)`` features (the model's space before fMLLR).
        pdfs: utt -> ``(T,)`` pdf per frame; utterances without pdfs are left out.
        spk2utt: speaker -> utterances.
        init: speaker -> current ``(D, D + 1)`` transform (posteriors are computed on
            the adapted frames and the estimate starts from it); default identity.
        weights: utt -> ``(T,)`` frame weights (e.g. 0 on silence, as Kaldi's
            ``weight-silence-post 0.0``); default 1.

    Returns:
        speaker -> ``(D, D + 1)`` transform, and speaker -> ``{"frames", "aux_before",
        "aux_after"}`` (auxiliary function per frame).
    """
    transforms, info = {}, {}
    for spk, utts in spk2utt.items():
        utts = [u for u in utts if u in feats and u in pdfs]
        if not utts:
            continue
        dim = feats[utts[0]].shape[1]
        w0 = init.get(spk) if init is not None else None
        w0 = identity_transform(dim) if w0 is None else w0.double()
        for u in utts:
            if pdfs[u].shape[0] != feats[u].shape[0]:
                raise ValueError(f"fmllr: utterance {u!r} has {feats[u].shape[0]} frames but "
                                 f"{pdfs[u].shape[0]} aligned pdfs")
        x = torch.cat([feats[u] for u in utts])
        wts = None if weights is None else torch.cat([weights[u].double() for u in utts])
        stats = FmllrStats.zeros(dim)
        stats.accumulate(gmm, x, torch.cat([pdfs[u] for u in utts]), wts,
                         posterior_feats=apply_transform(x, w0))
        w, before, after = estimate_fmllr(stats, w0, num_iters, min_count)
        transforms[spk] = w
        info[spk] = {"frames": stats.beta, "aux_before": before, "aux_after": after}
    return transforms, info


def adapt_features(feats: Mapping[str, torch.Tensor], utt2spk: Mapping[str, str],
                   transforms: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Apply each utterance's speaker transform; utterances of a speaker without one
    are passed through unchanged."""
    out = {}
    for utt, x in feats.items():
        w = transforms.get(utt2spk.get(utt, utt))
        out[utt] = x if w is None else apply_transform(x, w)
    return out
