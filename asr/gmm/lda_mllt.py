"""Spliced-frame LDA and MLLT (global semi-tied covariance), as Kaldi's ``train_lda_mllt.sh``.

The tri2 front end: 13-dim CMVN'd MFCC -> splice +-``context`` frames (``(T, 13 * 7)``
= 91 dims) -> one ``(40, 91)`` matrix, the product ``MLLT @ LDA``.

- **LDA** (Kaldi's ``acc-lda`` + ``estimate-lda``): classes are the pdfs of an
  alignment. With the total scatter ``T`` and between-class scatter ``B`` (class
  means about the global mean, weighted by counts), the within-class scatter is
  ``W = T - B``. Whitening by ``W = L L^T`` and diagonalising ``L^-1 B L^-T = U S U^T``
  gives ``M = U[:, :dim]^T L^-1``: the rows with the largest between/within ratios,
  scaled so that the projected within-class covariance is the identity.
- **MLLT** (Gales 1999, "Semi-tied covariance matrices for hidden Markov models";
  Kaldi's ``MlltAccs``): a square ``A`` such that diagonal Gaussians fit ``A x`` well.
  Statistics per output dimension ``i``:
  ``G_i = sum_{t,g} gamma_tg / var_gi (x_t - mu_g)(x_t - mu_g)^T`` and the frame count
  ``beta``. The auxiliary function ``beta log|det A| - 1/2 sum_i a_i G_i a_i^T`` is
  maximised row by row: ``a_i = c_i G_i^-1 sqrt(beta / (c_i G_i^-1 c_i^T))`` with
  ``c_i`` the i-th row of the cofactor matrix of ``A``; each row update increases it.
  The model follows with ``mu_g <- A mu_g`` (variances re-estimated by the next EM
  pass, or exactly with :func:`transform_model` from the same statistics).

Gaussian posteriors come from an alignment: each frame's pdf, and within it the
posterior of each of the pdf's Gaussians (:func:`gauss_posteriors`). Frames can be
weighted (e.g. silence weight 0, as Kaldi's ``weight-silence-post 0.0``:
:func:`silence_weights`).

A transform is saved as ``{"format": "asr.gmm.transform", "matrix": (out, in[+1]),
"splice": context, "kind": str, ...}`` by :func:`save_transform` (atomically).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asr.features import functional as F
from asr.gmm.diag_gmm import DiagGmmSet
from asr.utils.io import atomic_open

TRANSFORM_FORMAT = "asr.gmm.transform"
_LOG_2PI = math.log(2 * math.pi)


# -------------------------------------------------------------------- transforms

def splice_frames(feats: torch.Tensor, context: int = 3) -> torch.Tensor:
    """``(T, F)`` -> ``(T, F * (2 context + 1))``, frames ``t - context .. t + context``
    (edges repeat the first/last frame, as Kaldi's ``splice-feats``)."""
    return F.splice(feats, context, context)


def apply_transform(feats: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``feats (T, D)`` times ``matrix (D', D)`` or affine ``(D', D + 1)`` (last column
    the offset) -> ``(T, D')`` in ``feats``'s dtype."""
    d = feats.shape[-1]
    m = matrix.to(feats.device, torch.float64)
    if m.shape[1] == d:
        out = feats.double() @ m.T
    elif m.shape[1] == d + 1:
        out = feats.double() @ m[:, :d].T + m[:, d]
    else:
        raise ValueError(f"transform {tuple(matrix.shape)} does not fit features of dim {d}")
    return out.to(feats.dtype)


def to_affine(matrix: torch.Tensor, in_dim: int) -> torch.Tensor:
    """``(D', in_dim)`` linear or ``(D', in_dim + 1)`` affine -> ``(D', in_dim + 1)`` float64."""
    m = matrix.double()
    if m.shape[1] == in_dim:
        return torch.cat([m, m.new_zeros(m.shape[0], 1)], 1)
    if m.shape[1] == in_dim + 1:
        return m
    raise ValueError(f"transform {tuple(matrix.shape)} does not fit input dim {in_dim}")


def compose_affine(outer: torch.Tensor, inner: torch.Tensor, in_dim: int) -> torch.Tensor:
    """``x -> outer(inner(x))`` as ``(D'', in_dim + 1)``; ``inner`` maps ``in_dim`` -> ``D'``
    and ``outer`` maps ``D'`` -> ``D''``; either may be linear or affine."""
    i = to_affine(inner, in_dim)
    o = to_affine(outer, i.shape[0])
    out = o[:, :-1] @ i
    out[:, -1] += o[:, -1]
    return out


def save_transform(path: str | Path, matrix: torch.Tensor, **info) -> None:
    """Write ``matrix`` and metadata (``splice``, ``kind``, ...) atomically."""
    state = {"format": TRANSFORM_FORMAT, "version": 1,
             "matrix": matrix.detach().double().cpu(), **info}
    with atomic_open(path, "wb") as handle:
        torch.save(state, handle)


def load_transform(path: str | Path) -> dict:
    """The dict written by :func:`save_transform` (``matrix`` float64)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"transform {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file: one clear line for the CLI
        raise ValueError(f"{path}: cannot read the transform ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != TRANSFORM_FORMAT:
        raise ValueError(f"{path}: not an {TRANSFORM_FORMAT} file")
    return state


# -------------------------------------------------------------------- posteriors

def gauss_posteriors(gmm: DiagGmmSet, feats: torch.Tensor, pdfs: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Posteriors of the Gaussians of each frame's pdf.

    Args:
        feats: ``(N, D)`` frames; ``pdfs``: ``(N,)`` long pdf per frame.
    Returns:
        ``index (N, K)`` long Gaussian ids (``G`` marks padding), ``post (N, K)``
        float64 posteriors (0 on padding) and ``loglike (N,)`` float64 log p(x | pdf).
    """
    pdfs = pdfs.to(gmm.device, torch.long)
    index = gmm.pad_index[pdfs]                                     # (N, K)
    valid = index < gmm.num_gauss
    safe = index.clamp_max(gmm.num_gauss - 1)
    # log(w N(x)) = gconst + x^2 . (-1 / (2 var)) + x . (mu / var), for the gathered
    # Gaussians only (cheaper than scoring every pdf and picking one).
    inv_var = gmm.variances.double().reciprocal()
    mean_inv_var = gmm.means.double() * inv_var
    gconst = (gmm.log_weights.double() - 0.5 * (gmm.dim * _LOG_2PI + gmm.variances.double().log().sum(1)
                                                + (gmm.means.double() * mean_inv_var).sum(1)))
    x = feats.to(gmm.device, torch.float64)
    ll = (gconst[safe] + torch.einsum("nd,nkd->nk", x * x, -0.5 * inv_var[safe])
          + torch.einsum("nd,nkd->nk", x, mean_inv_var[safe]))
    ll = ll.masked_fill(~valid, -math.inf)
    frame_ll = torch.logsumexp(ll, 1)
    return index, torch.exp(ll - frame_ll[:, None]), frame_ll


def silence_weights(tm, transition_ids: torch.Tensor, silence_weight: float) -> torch.Tensor:
    """``(T,)`` float64 frame weights from an alignment's transition ids: ``silence_weight``
    on frames of a silence phone (``tm.topology.is_silence``), else 1 (Kaldi's
    ``weight-silence-post``)."""
    sil = torch.tensor([tm.topology.is_silence(p) for p in tm.phones], dtype=torch.bool)
    phone = tm.tid_to_phone()[transition_ids.long().cpu()]
    w = torch.ones(transition_ids.shape[0], dtype=torch.float64)
    w[sil[phone]] = silence_weight
    return w


# -------------------------------------------------------------------- LDA

@dataclass
class LdaStats:
    """Class statistics for LDA (float64): ``count (C,)``, ``sum (C, D)`` per class,
    ``scatter (D, D)`` = sum of ``x x^T`` over all frames (weighted)."""

    count: torch.Tensor
    sum: torch.Tensor
    scatter: torch.Tensor

    @classmethod
    def zeros(cls, num_classes: int, dim: int) -> "LdaStats":
        z = dict(dtype=torch.float64)
        return cls(torch.zeros(num_classes, **z), torch.zeros(num_classes, dim, **z),
                   torch.zeros(dim, dim, **z))

    def accumulate(self, feats: torch.Tensor, classes: torch.Tensor,
                   weights: torch.Tensor | None = None) -> "LdaStats":
        """Add frames ``(N, D)`` of classes ``(N,)`` (optional weights ``(N,)``)."""
        x = feats.double().cpu()
        c = classes.long().cpu()
        w = torch.ones(x.shape[0], dtype=torch.float64) if weights is None else weights.double().cpu()
        if x.shape[1] != self.sum.shape[1]:
            raise ValueError(f"LDA stats: features have dim {x.shape[1]}, stats {self.sum.shape[1]}")
        self.count.index_add_(0, c, w)
        self.sum.index_add_(0, c, x * w[:, None])
        self.scatter += (x * w[:, None]).T @ x
        return self

    def add_(self, other: "LdaStats") -> "LdaStats":
        self.count += other.count
        self.sum += other.sum
        self.scatter += other.scatter
        return self


def estimate_lda(stats: LdaStats, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """LDA matrix ``(dim, D)`` and the eigenvalues ``(D,)`` (between/within ratios,
    descending) from class statistics.

    The output features have within-class covariance ``I`` and between-class
    covariance ``diag(eigenvalues[:dim])``.
    """
    total = float(stats.count.sum())
    if total <= 0:
        raise ValueError("LDA: no frames were accumulated")
    d = stats.scatter.shape[0]
    if not 0 < dim <= d:
        raise ValueError(f"LDA: output dim {dim} must be in 1..{d}")
    mean = stats.sum.sum(0) / total
    total_cov = stats.scatter / total - torch.outer(mean, mean)
    seen = stats.count > 0
    class_mean = stats.sum[seen] / stats.count[seen, None]
    diff = class_mean - mean
    between = (diff * (stats.count[seen, None] / total)).T @ diff
    within = total_cov - between
    within = 0.5 * (within + within.T)
    chol = torch.linalg.cholesky(within)
    chol_inv = torch.linalg.solve_triangular(chol, torch.eye(d, dtype=torch.float64), upper=False)
    b = chol_inv @ between @ chol_inv.T
    evals, evecs = torch.linalg.eigh(0.5 * (b + b.T))
    order = torch.argsort(evals, descending=True)
    evals, evecs = evals[order], evecs[:, order]
    return evecs[:, :dim].T @ chol_inv, evals


# -------------------------------------------------------------------- MLLT

@dataclass
class MlltStats:
    """Per-Gaussian statistics from which MLLT and the transformed model follow
    (float64): ``occ (G,)`` and ``scatter (G, D, D)``, the sums of ``gamma`` and of
    ``gamma (x - mu_g)(x - mu_g)^T`` about the means of the model that accumulated
    them."""

    occ: torch.Tensor
    scatter: torch.Tensor

    @classmethod
    def zeros(cls, num_gauss: int, dim: int) -> "MlltStats":
        z = dict(dtype=torch.float64)
        return cls(torch.zeros(num_gauss, **z), torch.zeros(num_gauss, dim, dim, **z))

    def accumulate(self, gmm: DiagGmmSet, feats: torch.Tensor, pdfs: torch.Tensor,
                   weights: torch.Tensor | None = None, chunk: int = 65536,
                   min_post: float = 1e-4) -> float:
        """Add frames ``(N, D)`` aligned to ``pdfs (N,)``; returns their total weighted
        log-likelihood under ``gmm``. Gaussian posteriors under ``min_post`` are
        dropped (most frames have one or two Gaussians that matter; Kaldi prunes
        small posteriors at random instead). Pass many frames at once: the scatter
        is one matrix product per Gaussian per chunk."""
        g = self.occ.shape[0]
        means = gmm.means.double().cpu()
        total_ll = 0.0
        for start in range(0, feats.shape[0], chunk):
            x = feats[start:start + chunk].double().cpu()
            index, post, ll = gauss_posteriors(gmm, x, pdfs[start:start + chunk])
            index, post, ll = index.cpu(), post.cpu(), ll.cpu()
            if weights is not None:
                w = weights[start:start + chunk].double().cpu()
                post = post * w[:, None]
                total_ll += float((ll * w).sum())
            else:
                total_ll += float(ll.sum())
            rows, k = torch.nonzero((post >= min_post) & (index < g), as_tuple=True)
            idx = index[rows, k]
            order = torch.argsort(idx, stable=True)
            idx, p, rows = idx[order], post[rows, k][order], rows[order]
            diff = x[rows] - means[idx]                                   # (M, D)
            weighted = diff * p[:, None]
            self.occ.index_add_(0, idx, p)
            counts = torch.bincount(idx, minlength=g).tolist()
            offset = 0
            for gauss, n in enumerate(counts):
                if n:
                    seg = slice(offset, offset + n)
                    self.scatter[gauss] += weighted[seg].T @ diff[seg]
                    offset += n
        return total_ll


def mllt_objective(a: torch.Tensor, g: torch.Tensor, beta: float) -> float:
    """``beta log|det A| - 1/2 sum_i a_i G_i a_i^T`` for ``a (D, D)``, ``g (D, D, D)``."""
    return float(beta * torch.linalg.slogdet(a)[1]
                 - 0.5 * torch.einsum("ij,ijk,ik->", a, g, a))


def mllt_g_stats(stats: MlltStats, gmm: DiagGmmSet) -> tuple[torch.Tensor, float]:
    """``G (D, D, D)`` with ``G_i = sum_g scatter_g(about mu_g) / var_gi`` and ``beta``."""
    g = torch.einsum("gi,gjk->ijk", 1.0 / gmm.variances.cpu().double(), stats.scatter)
    return g, float(stats.occ.sum())


def estimate_mllt(g: torch.Tensor, beta: float, num_iters: int = 10,
                  init: torch.Tensor | None = None) -> tuple[torch.Tensor, float, float]:
    """Row-by-row MLLT update (Gales 1999). Returns ``A (D, D)`` and the auxiliary
    function before and after (per frame)."""
    d = g.shape[0]
    a = torch.eye(d, dtype=torch.float64) if init is None else init.double().clone()
    g_inv = np.linalg.inv(g.numpy())
    before = mllt_objective(a, g, beta)
    an = a.numpy().copy()
    for _ in range(num_iters):
        for i in range(d):
            # Row i of the cofactor matrix, up to a common scale (det A * A^-T).
            c = np.linalg.inv(an)[:, i]
            gc = g_inv[i] @ c
            an[i] = gc * math.sqrt(beta / float(c @ gc))
    a = torch.from_numpy(an)
    after = mllt_objective(a, g, beta)
    return a, before / beta, after / beta


def transform_model(gmm: DiagGmmSet, a: torch.Tensor, stats: MlltStats | None = None,
                    var_floor: float = 1e-4) -> DiagGmmSet:
    """The GMMs in the space ``x' = A x``: means ``A mu``; variances ``diag(A S_g A^T) /
    occ_g`` from ``stats`` for Gaussians with data (the ML estimate), else unchanged
    (as Kaldi's ``gmm-transform-means``)."""
    a = a.double()
    means = gmm.means.double().cpu() @ a.T
    variances = gmm.variances.double().cpu().clone()
    if stats is not None:
        scat = stats.scatter
        occ = stats.occ
        seen = occ > 1.0
        new_var = torch.einsum("ij,gjk,ik->gi", a, scat[seen], a) / occ[seen, None]
        variances[seen] = new_var.clamp_min(var_floor)
    dtype = gmm.means.dtype
    return DiagGmmSet(means.to(dtype), variances.to(dtype), gmm.log_weights.cpu(),
                      gmm.gauss_pdf.cpu(), gmm.num_pdfs).to(gmm.device)
