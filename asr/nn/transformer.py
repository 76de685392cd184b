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

    def step(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None,
             memory_kv: tuple[torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The layer at one new position, in eval mode (no dropout).

        Args:
            x: ``(N, 1, D)`` layer input at the new position.
            past: self-attention keys and values of the earlier positions, each
                ``(N, H, L-1, d_k)``, or None at the first position.
            memory_kv: the encoder output projected by ``src_attn``'s key and value
                layers, each ``(1 or N, H, T, d_k)`` (every frame valid).

        Returns:
            ``(N, 1, D)`` output at the new position, and the keys and values of all
            ``L`` positions (the ``past`` of the next step).
        """
        attn = self.self_attn
        h = self.norm1(x)
        k, v = attn._heads(h, attn.linear_k), attn._heads(h, attn.linear_v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        x = x + attn.attend_heads(attn._heads(h, attn.linear_q), k, v)
        src = self.src_attn
        q = src._heads(self.norm2(x), src.linear_q)
        x = x + src.attend_heads(q, *memory_kv)
        return x + self.ff(self.norm3(x)), (k, v)


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

    def incremental(self, memory: torch.Tensor) -> "IncrementalDecoding":
        """A cached next-token function for one utterance (``memory (1, T, D)``, every
        frame valid); see :class:`IncrementalDecoding`."""
        return IncrementalDecoding(self, memory)


class IncrementalDecoding:
    """Next-token log-probabilities for prefixes that grow one token per call, as in a
    beam search, without recomputing the prefixes: each layer's self-attention keys and
    values are kept per prefix, and the encoder output is projected once per utterance.
    The same numbers as :meth:`TransformerDecoder.next_token_log_probs` (up to float
    rounding); the decoder must be in eval mode.

    ``IncrementalDecoding(decoder, memory (1, T, D))``; calling it with ``ys (N, L)``
    (prefixes starting with ``<sos>``, all of length ``L``) returns ``(N, V)``. A prefix
    whose parent (the prefix without its last token) was not among the previous call's
    rows has its parent computed first.
    """

    def __init__(self, decoder: "TransformerDecoder", memory: torch.Tensor):
        if memory.size(0) != 1:
            raise ValueError(f"memory must be (1, T, D), one utterance; got {tuple(memory.shape)}")
        if decoder.training:
            raise ValueError("incremental decoding needs the decoder in eval mode (no dropout)")
        self.decoder = decoder
        self.memory_kv = [(layer.src_attn._heads(memory, layer.src_attn.linear_k),
                           layer.src_attn._heads(memory, layer.src_attn.linear_v))
                          for layer in decoder.layers]
        self.length = 0  # length of the prefixes in self.states
        self.states: dict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def __call__(self, ys: torch.Tensor) -> torch.Tensor:
        prefixes = [tuple(row) for row in ys.tolist()]
        length = ys.size(1)
        ys = ys.to(self.memory_kv[0][0].device)
        pasts = self._parent_states(prefixes, ys) if length > 1 else None
        x, _ = self.decoder.pos_enc(self.decoder.embed(ys[:, -1:]), offset=length - 1)
        new_pasts = []
        for i, layer in enumerate(self.decoder.layers):
            past = None
            if pasts is not None:
                past = (torch.stack([p[i][0] for p in pasts]),
                        torch.stack([p[i][1] for p in pasts]))
            x, kv = layer.step(x, past, self.memory_kv[i])
            new_pasts.append(kv)
        self.states = {p: [(k[n], v[n]) for k, v in new_pasts] for n, p in enumerate(prefixes)}
        self.length = length
        logits = self.decoder.output(self.decoder.norm(x[:, -1]))
        return torch.log_softmax(logits, dim=-1)

    def _parent_states(self, prefixes: list[tuple[int, ...]], ys: torch.Tensor
                       ) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
        """Per prefix, the kept keys and values of its parent (computed if missing)."""
        parents = {p[:-1] for p in prefixes}
        known = self.states if self.length == len(prefixes[0]) - 1 else {}
        missing = sorted(parents - known.keys())
        if missing:
            kept = dict(known)
            self(torch.tensor(missing, dtype=ys.dtype, device=ys.device))
            self.states.update(kept)
        return [self.states[p[:-1]] for p in prefixes]
