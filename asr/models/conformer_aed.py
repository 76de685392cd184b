"""Conformer encoder + CTC head + Transformer attention decoder (hybrid CTC/attention).

Token ids follow :mod:`asr.text.tokenizer`: 0 is the CTC blank, ``vocab_size - 1`` is
``<sos/eos>``. Targets are padded with ``-1``.

The loss is **per utterance**: ``ctc_weight * CTC + (1 - ctc_weight) * attention``, each
summed over the batch's tokens/frames and divided by the batch size ``B`` (as in ESPnet
and WeNet). ``acc`` is the attention decoder's token accuracy (eos included).

Interface (the trainer and :mod:`asr.decode` rely on it)::

    forward(feats (B, T, F), feat_lens (B,), targets (B, U), target_lens (B,))
        -> {"loss", "ctc_loss", "att_loss", "acc"}
    encode(feats, feat_lens) -> enc (B, T', D), enc_lens (B,)     T' = ((T - 1) // 2 - 1) // 2
    ctc_log_probs(enc) -> (B, T', V)
    decoder_log_probs(enc (1, T', D), enc_len, ys (N, L)) -> (N, V)   next-token log-probs
    incremental_decoder(enc (1, T', D), enc_len) -> the same as a function of ys, with a
        cache for prefixes that grow one token per call (optional for a decoder model)
    attention_scores(enc (1, T', D), enc_len, hyps) -> (N,)          log P(y <eos> | x)
    blank_id, sos_id, eos_id
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch
from torch import nn

from asr.models.registry import register_model
from asr.nn.conformer import ConformerEncoder
from asr.nn.mask import make_non_pad_mask
from asr.nn.transformer import TransformerDecoder

IGNORE_ID = -1


@dataclasses.dataclass
class ConformerAEDConfig:
    """Sizes and loss weights; every size is set here only.

    Attributes:
        input_dim: feature dimension ``F`` (e.g. 80 fbank bins).
        vocab_size: tokenizer vocabulary ``V`` (blank 0 and ``<sos/eos>`` ``V-1`` included).
        d_model: encoder and decoder width.
        subsampling_channels: channels of the two subsampling convolutions (default
            ``d_model``; fewer make the front-end much cheaper on CPU).
        subsampling: frame-rate reduction of the front-end, 4 (40 ms encoder frames), 6
            or 8; a larger factor makes every block cheaper (fewer frames) but needs
            more encoder frames than output tokens for CTC.
        n_heads: attention heads (encoder and decoder).
        ff_dim: encoder feed-forward width.
        num_blocks: Conformer blocks.
        conv_kernel: depthwise conv kernel (odd).
        conv_norm: ``"batch_norm"``, ``"masked_batch_norm"`` (statistics over valid
            frames only, which makes ``trainer.pad_to_multiple`` harmless) or
            ``"layer_norm"`` in the conv module.
        relative_pos: relative-position self-attention (else absolute encodings).
        decoder_layers: Transformer decoder layers (0 gives a CTC-only model;
            ``ctc_weight`` must then be 1).
        decoder_ff_dim: decoder feed-forward width.
        dropout: dropout everywhere.
        ctc_weight: weight of the CTC loss in ``[0, 1]``. At 1 (with a decoder) or 0, some
            parameters get no gradient, which DistributedDataParallel rejects unless told
            to look for unused parameters; for CTC-only training set ``decoder_layers: 0``.
        label_smoothing: attention loss label smoothing.
        feat_norm: ``"utterance"`` (mean/variance normalization over each utterance's
            valid frames inside the model) or ``"none"`` (features arrive normalized).
    """

    input_dim: int
    vocab_size: int
    d_model: int = 144
    subsampling_channels: int | None = None
    subsampling: int = 4
    n_heads: int = 4
    ff_dim: int = 576
    num_blocks: int = 8
    conv_kernel: int = 15
    conv_norm: str = "batch_norm"
    relative_pos: bool = True
    decoder_layers: int = 2
    decoder_ff_dim: int = 576
    dropout: float = 0.1
    ctc_weight: float = 0.3
    label_smoothing: float = 0.1
    feat_norm: str = "utterance"

    def __post_init__(self) -> None:
        if not 0.0 <= self.ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must be in [0, 1], got {self.ctc_weight}")
        if self.decoder_layers == 0 and self.ctc_weight != 1.0:
            raise ValueError("decoder_layers = 0 needs ctc_weight = 1.0")
        if self.feat_norm not in ("utterance", "none"):
            raise ValueError(f"feat_norm must be 'utterance' or 'none', got {self.feat_norm!r}")
        if self.vocab_size < 3:
            raise ValueError(f"vocab_size must be at least 3, got {self.vocab_size}")


def normalize_utterances(feats: torch.Tensor, feat_lens: torch.Tensor,
                         eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance mean/variance normalization over valid frames; padding stays 0.

    ``feats (B, T, F)``, ``feat_lens (B,)`` -> ``(B, T, F)``.
    """
    valid = make_non_pad_mask(feat_lens, feats.size(1)).unsqueeze(-1).to(feats.dtype)
    count = valid.sum(1, keepdim=True).clamp(min=1.0)
    mean = (feats * valid).sum(1, keepdim=True) / count
    var = (((feats - mean) * valid) ** 2).sum(1, keepdim=True) / count
    return (feats - mean) / torch.sqrt(var + eps) * valid


def add_sos_eos(targets: torch.Tensor, target_lens: torch.Tensor, sos: int, eos: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input and output sequences.

    ``targets (B, U)`` padded with -1 -> ``ys_in (B, U+1)`` = ``<sos> y`` (padded with eos)
    and ``ys_out (B, U+1)`` = ``y <eos>`` (padded with -1).
    """
    b, u = targets.shape
    valid = make_non_pad_mask(target_lens, u)
    body = targets.masked_fill(~valid, eos)
    ys_in = torch.cat([torch.full((b, 1), sos, dtype=targets.dtype, device=targets.device),
                       body], dim=1)
    ys_out = torch.cat([targets.masked_fill(~valid, IGNORE_ID),
                        torch.full((b, 1), IGNORE_ID, dtype=targets.dtype,
                                   device=targets.device)], dim=1)
    ys_out[torch.arange(b, device=targets.device), target_lens] = eos
    return ys_in, ys_out


@register_model("conformer_aed")
class ConformerAED(nn.Module):
    """Hybrid CTC/attention model. See the module docstring for the loss."""

    config_class = ConformerAEDConfig
    blank_id = 0

    def __init__(self, config: ConformerAEDConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = ConformerEncoder(c.input_dim, c.d_model, c.n_heads, c.ff_dim, c.num_blocks,
                                        c.conv_kernel, c.dropout, c.relative_pos, c.conv_norm,
                                        c.subsampling_channels, c.subsampling)
        self.ctc_head = nn.Linear(c.d_model, c.vocab_size)
        self.decoder = (TransformerDecoder(c.vocab_size, c.d_model, c.n_heads, c.decoder_ff_dim,
                                           c.decoder_layers, c.dropout)
                        if c.decoder_layers > 0 else None)

    @property
    def sos_id(self) -> int:
        return self.config.vocab_size - 1

    @property
    def eos_id(self) -> int:
        return self.config.vocab_size - 1

    @property
    def has_decoder(self) -> bool:
        return self.decoder is not None

    def encode(self, feats: torch.Tensor, feat_lens: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``feats (B, T, F)``, ``feat_lens (B,)`` -> ``enc (B, T', D)``, ``enc_lens (B,)``."""
        if self.config.feat_norm == "utterance":
            feats = normalize_utterances(feats, feat_lens)
        return self.encoder(feats, feat_lens)

    def ctc_log_probs(self, enc: torch.Tensor) -> torch.Tensor:
        """``enc (B, T', D)`` -> CTC log-probabilities ``(B, T', V)``."""
        return torch.log_softmax(self.ctc_head(enc).float(), dim=-1)  # fp32 under autocast

    def ctc_loss(self, enc: torch.Tensor, enc_lens: torch.Tensor, targets: torch.Tensor,
                 target_lens: torch.Tensor) -> torch.Tensor:
        """Summed CTC loss over the batch (utterances too short for their target give 0)."""
        log_probs = self.ctc_log_probs(enc).transpose(0, 1)  # (T', B, V)
        flat = targets[make_non_pad_mask(target_lens, targets.size(1))]
        return nn.functional.ctc_loss(log_probs.float(), flat, enc_lens, target_lens,
                                      blank=self.blank_id, reduction="sum", zero_infinity=True)

    def attention_logits(self, enc: torch.Tensor, enc_lens: torch.Tensor, ys_in: torch.Tensor,
                         ys_in_lens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder: ``ys_in (B, L)`` -> logits ``(B, L, V)``."""
        if self.decoder is None:
            raise ValueError("this model has no attention decoder (decoder_layers = 0)")
        memory_mask = make_non_pad_mask(enc_lens, enc.size(1)).unsqueeze(1)
        return self.decoder(enc, memory_mask, ys_in, ys_in_lens)

    def forward(self, feats: torch.Tensor, feat_lens: torch.Tensor, targets: torch.Tensor,
                target_lens: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hybrid loss on a batch.

        Args:
            feats: ``(B, T, F)`` float features.
            feat_lens: ``(B,)`` valid frames.
            targets: ``(B, U)`` token ids padded with -1.
            target_lens: ``(B,)`` valid tokens.

        Returns:
            ``loss`` (scalar, per utterance, differentiable) and float tensors
            ``ctc_loss``, ``att_loss`` (per utterance) and ``acc`` (token accuracy).
        """
        batch = feats.size(0)
        enc, enc_lens = self.encode(feats, feat_lens)
        w = self.config.ctc_weight
        zero = enc.new_zeros(())
        ctc = self.ctc_loss(enc, enc_lens, targets, target_lens) / batch if w > 0 else zero
        att, acc = zero, zero
        if w < 1.0:
            ys_in, ys_out = add_sos_eos(targets, target_lens, self.sos_id, self.eos_id)
            logits = self.attention_logits(enc, enc_lens, ys_in, target_lens + 1)
            att = nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), ys_out.reshape(-1),
                ignore_index=IGNORE_ID, label_smoothing=self.config.label_smoothing,
                reduction="sum") / batch
            valid = ys_out != IGNORE_ID
            acc = ((logits.argmax(-1) == ys_out) & valid).sum().float() / valid.sum().clamp(min=1)
        loss = w * ctc + (1.0 - w) * att
        return {"loss": loss, "ctc_loss": ctc.detach(), "att_loss": att.detach(),
                "acc": acc.detach()}

    # -- what the decoders need ------------------------------------------------------------

    def decoder_log_probs(self, enc: torch.Tensor, enc_len: torch.Tensor | int,
                          ys: torch.Tensor) -> torch.Tensor:
        """Next-token log-probabilities for ``N`` prefixes of one utterance.

        Args:
            enc: ``(1, T', D)`` encoder output of the utterance.
            enc_len: its valid length.
            ys: ``(N, L)`` prefixes starting with ``<sos>``.

        Returns:
            ``(N, V)``.
        """
        if self.decoder is None:
            raise ValueError("this model has no attention decoder (decoder_layers = 0)")
        # expanded, not copied: the decoder projects the shared memory once; every frame
        # is valid, so no memory mask
        memory = enc[:, : int(enc_len)].expand(ys.size(0), -1, -1)
        return self.decoder.next_token_log_probs(memory, None, ys)

    def incremental_decoder(self, enc: torch.Tensor, enc_len: torch.Tensor | int
                            ) -> Callable[[torch.Tensor], torch.Tensor]:
        """As :meth:`decoder_log_probs` for one utterance (``enc (1, T', D)``), but for
        prefixes that grow one token per call (a beam search): ``ys (N, L)`` -> ``(N, V)``
        with each layer's keys and values kept between calls (see
        :class:`asr.nn.transformer.IncrementalDecoding`). Needs eval mode."""
        if self.decoder is None:
            raise ValueError("this model has no attention decoder (decoder_layers = 0)")
        return self.decoder.incremental(enc[:, : int(enc_len)])

    def attention_scores(self, enc: torch.Tensor, enc_len: torch.Tensor | int,
                         hyps: list[list[int]]) -> torch.Tensor:
        """Decoder log-likelihood ``log P(y <eos> | x)`` of each hypothesis of one utterance.

        ``enc (1, T', D)``, ``hyps`` N token lists (no sos/eos) -> ``(N,)``.
        """
        if not hyps:
            return enc.new_zeros(0)
        lens = torch.tensor([len(h) for h in hyps], dtype=torch.long, device=enc.device)
        targets = torch.full((len(hyps), max(1, int(lens.max()))), IGNORE_ID, dtype=torch.long,
                             device=enc.device)
        for i, hyp in enumerate(hyps):
            targets[i, : len(hyp)] = torch.tensor(hyp, dtype=torch.long)
        ys_in, ys_out = add_sos_eos(targets, lens, self.sos_id, self.eos_id)
        n = len(hyps)
        memory = enc[:, : int(enc_len)].expand(n, -1, -1)
        mem_lens = torch.full((n,), memory.size(1), dtype=torch.long, device=enc.device)
        logp = torch.log_softmax(self.attention_logits(memory, mem_lens, ys_in, lens + 1), -1)
        valid = ys_out != IGNORE_ID
        picked = logp.gather(2, ys_out.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return (picked * valid).sum(1)
