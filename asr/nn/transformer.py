"""Transformer attention decoder (pre-norm layers)."""

from __future__ import annotations

import torch
from torch import nn

from asr.nn.attention import MultiHeadAttention
from asr.nn.conformer import FeedForward
from asr.nn.dropout import Dropout
from asr.nn.mask import target_mask
from asr.nn.pos_enc import AbsolutePositionalEncoding


class TransformerDecoderLayer(nn.Module):
    """Causal self-attention, attention over the encoder output, feed-forward.

    Each sub-layer is ``x + Dropout(f(LayerNorm(x)))``.
    """

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float = 0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.src_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, ff_dim, dropout, activation=nn.ReLU)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, memory: torch.Tensor,
                memory_mask: torch.Tensor | None) -> torch.Tensor:
        """``x (B, U, D)``, ``x_mask (B, U, U)``, ``memory (B, T, D)``,
        ``memory_mask (B, 1, T)`` (None: every frame valid) -> ``(B, U, D)``."""
        h = self.norm1(x)
        x = x + self.dropout(self.self_attn(h, h, h, x_mask))
        h = self.norm2(x)
        x = x + self.dropout(self.src_attn(h, memory, memory, memory_mask))
        return x + self.dropout(self.ff(self.norm3(x)))


class TransformerDecoder(nn.Module):
    """Token embedding + absolute positions, ``num_layers`` decoder layers, output projection.

    ``forward(memory (B, T, D), memory_mask (B, 1, T), ys (B, U), ys_lens (B,))``
    returns logits ``(B, U, V)``.
    """

    def __init__(self, vocab_size: int, d_model: int = 144, n_heads: int = 4,
                 ff_dim: int = 576, num_layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos_enc = AbsolutePositionalEncoding(d_model, dropout)
        self.layers = nn.ModuleList(
            TransformerDecoderLayer(d_model, n_heads, ff_dim, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.output = nn.Linear(d_model, vocab_size)

    def forward(self, memory: torch.Tensor, memory_mask: torch.Tensor | None, ys: torch.Tensor,
                ys_lens: torch.Tensor) -> torch.Tensor:
        x, _ = self.pos_enc(self.embed(ys))
        mask = target_mask(ys_lens, ys.size(1))
        for layer in self.layers:
            x = layer(x, mask, memory, memory_mask)
        return self.output(self.norm(x))

    def next_token_log_probs(self, memory: torch.Tensor, memory_mask: torch.Tensor | None,
                             ys: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the token after each unpadded prefix.

        Args:
            memory: ``(N, T, D)`` encoder output (one row per hypothesis; a tensor
                expanded from ``(1, T, D)`` has its keys and values projected once).
            memory_mask: ``(N, 1, T)`` bool, or None when every frame is valid.
            ys: ``(N, L)`` prefixes, all of length ``L`` (starting with ``<sos>``).

        Returns:
            ``(N, V)`` log-probabilities.
        """
        lens = torch.full((ys.size(0),), ys.size(1), dtype=torch.long, device=ys.device)
        logits = self.forward(memory, memory_mask, ys, lens)[:, -1]
        return torch.log_softmax(logits, dim=-1)
