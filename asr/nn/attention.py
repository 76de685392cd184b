"""Multi-head attention with boolean masks (``True`` = may attend)."""

from __future__ import annotations

import math

import torch
from torch import nn

from asr.nn.dropout import Dropout


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over ``H`` heads.

    Args:
        d_model: model dimension ``D`` (divisible by ``n_heads``).
        n_heads: number of heads ``H``.
        dropout: dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.h = n_heads
        self.d_k = d_model // n_heads
        self.linear_q = nn.Linear(d_model, d_model)
        self.linear_k = nn.Linear(d_model, d_model)
        self.linear_v = nn.Linear(d_model, d_model)
        self.linear_out = nn.Linear(d_model, d_model)
        self.dropout = Dropout(dropout)

    def _heads(self, x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
        b, t, _ = x.shape
        return linear(x).view(b, t, self.h, self.d_k).transpose(1, 2)  # (B, H, T, d_k)

    def _shared_heads(self, x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
        """As :meth:`_heads`, but a tensor expanded along the batch (stride 0: one encoder
        output shared by every hypothesis of a beam search) is projected once."""
        if x.size(0) > 1 and x.stride(0) == 0:
            return self._heads(x[:1], linear).expand(x.size(0), -1, -1, -1)
        return self._heads(x, linear)

    def _attend(self, scores: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None) -> torch.Tensor:
        """``scores (B, H, Tq, Tk)``, ``v (B, H, Tk, d_k)``, ``mask (B, 1 or Tq, Tk)``
        -> ``(B, Tq, D)``."""
        if mask is not None:
            allowed = mask.unsqueeze(1)  # (B, 1, Tq|1, Tk)
            # The most negative finite value rather than -inf: a query row with nothing to
            # attend to (e.g. an empty utterance) then gets zero weights, and no NaN
            # appears in the forward or backward pass.
            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1).masked_fill(~allowed, 0.0)
        else:
            weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(self.dropout(weights), v)  # (B, H, Tq, d_k)
        b, _, tq, _ = out.shape
        return self.linear_out(out.transpose(1, 2).reshape(b, tq, self.h * self.d_k))

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """``query (B, Tq, D)``, ``key``/``value (B, Tk, D)``, ``mask (B, 1 or Tq, Tk)``
        -> ``(B, Tq, D)``."""
        q = self._heads(query, self.linear_q)
        k = self._shared_heads(key, self.linear_k)
        v = self._shared_heads(value, self.linear_v)
        return self.attend_heads(q, k, v, mask)

    def attend_heads(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled dot-product attention of projected heads: ``q (B, H, Tq, d_k)``,
        ``k``/``v (B or 1, H, Tk, d_k)``, ``mask (B, 1 or Tq, Tk)`` -> ``(B, Tq, D)``."""
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
        return self._attend(scores, v, mask)


def rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """Turn scores against relative positions into query/key scores.

    Args:
        scores: ``(B, H, T, 2T-1)``, column ``j`` for the distance ``T - 1 - j``.

    Returns:
        ``(B, H, T, T)`` with ``out[..., i, k] = scores[..., i, T - 1 - i + k]``
        (the distance ``i - k`` between query ``i`` and key ``k``).
    """
    b, h, t, _ = scores.shape
    rows = torch.arange(t, device=scores.device).unsqueeze(1)
    cols = torch.arange(t, device=scores.device).unsqueeze(0)
    index = (t - 1 - rows + cols).expand(b, h, t, t)
    return torch.gather(scores, 3, index)


class RelPositionMultiHeadAttention(MultiHeadAttention):
    """Self-attention with Transformer-XL relative positions (as in Conformer).

    ``score(i, k) = (q_i + u)·k_k + (q_i + v)·p_{i-k}`` with learned biases ``u``, ``v``
    per head and ``p`` the projected relative positional encoding.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__(d_model, n_heads, dropout)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(n_heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(n_heads, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def forward(self, x: torch.Tensor, pos: torch.Tensor,  # type: ignore[override]
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, T, D)``, ``pos (1, 2T-1, D)``, ``mask (B, 1 or T, T)`` -> ``(B, T, D)``."""
        q = self._heads(x, self.linear_q).transpose(1, 2)  # (B, T, H, d_k)
        k = self._heads(x, self.linear_k)
        v = self._heads(x, self.linear_v)
        p = self._heads(pos, self.linear_pos)  # (1, H, 2T-1, d_k)
        q_u = (q + self.pos_bias_u).transpose(1, 2)  # (B, H, T, d_k)
        q_v = (q + self.pos_bias_v).transpose(1, 2)
        content = torch.matmul(q_u, k.transpose(-2, -1))
        position = rel_shift(torch.matmul(q_v, p.transpose(-2, -1)))
        return self._attend((content + position) / math.sqrt(self.d_k), v, mask)
