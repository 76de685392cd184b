"""Decoding for end-to-end models.

- :mod:`asr.decode.ctc`: greedy search, CTC prefix beam search with optional word n-gram
  shallow fusion (:class:`KenLM`, :class:`ArpaLM`), forced alignment, and flashlight-text's
  decoder as a reference.
- :mod:`asr.decode.attention`: joint CTC/attention beam search and attention rescoring.

:func:`decode_batch` runs the method named in a :class:`DecodeConfig` on a batch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from asr.decode.attention import (
    CTCPrefixScorer, attention_beam_search, attention_rescoring, joint_beam_search,
)
from asr.decode.ctc import (
    ArpaLM, FlashlightCTCDecoder, Hypothesis, KenLM, WordLM, ctc_forced_align, ctc_greedy_search,
    ctc_prefix_beam_search, token_start_frames, word_timings,
)

METHODS = ("ctc_greedy", "ctc_prefix_beam", "attention", "attention_rescoring")


@dataclasses.dataclass
class DecodeConfig:
    """Decoding options (YAML, e.g. ``conf/e2e/decode.yaml``).

    Attributes:
        method: ``"ctc_greedy"``, ``"ctc_prefix_beam"``, ``"attention"`` (joint
            CTC/attention beam search) or ``"attention_rescoring"`` (CTC n-best re-ranked
            by the decoder).
        beam_size: beam width.
        ctc_weight: CTC weight in the joint search and in rescoring.
        length_penalty: per-token bonus in the joint search.
        length_normalize: rank joint-search results by score per token.
        token_beam: candidate tokens per frame in prefix beam search (default beam_size).
        lm: path of a word n-gram LM (ARPA, or KenLM binary with the kenlm module) for
            shallow fusion in the CTC prefix beam search (also under rescoring).
        lm_backend: ``"auto"`` (kenlm when importable, else the pure-Python ARPA reader),
            ``"kenlm"`` or ``"arpa"``.
        lm_weight, word_score: fusion weights: ``+ lm_weight * log P_lm + word_score * words``.
    """

    method: str = "attention_rescoring"
    beam_size: int = 10
    ctc_weight: float = 0.3
    length_penalty: float = 0.0
    length_normalize: bool = False
    token_beam: int | None = None
    lm: str | None = None
    lm_backend: str = "auto"
    lm_weight: float = 0.5
    word_score: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"decode method must be one of {METHODS}, got {self.method!r}")
        if self.lm_backend not in ("auto", "kenlm", "arpa"):
            raise ValueError(f"lm_backend must be 'auto', 'kenlm' or 'arpa', got "
                             f"{self.lm_backend!r}")


def load_lm(config: DecodeConfig) -> WordLM | None:
    """The word LM named by ``config.lm`` (``None`` when unset)."""
    if not config.lm:
        return None
    if not Path(config.lm).is_file():
        raise FileNotFoundError(f"language model {config.lm} does not exist")
    backend = config.lm_backend
    if backend == "auto":
        try:
            import kenlm  # noqa: F401
            backend = "kenlm"
        except ImportError:
            backend = "arpa"
    return KenLM(config.lm) if backend == "kenlm" else ArpaLM(config.lm)


def decode_batch(model: Any, feats: torch.Tensor, feat_lens: torch.Tensor, config: DecodeConfig,
                 tokenizer: Any = None, lm: WordLM | None = None) -> list[Hypothesis]:
    """Decode a batch ``feats (B, T, F)``, ``feat_lens (B,)``: the best hypothesis per utterance.

    ``lm`` (from :func:`load_lm`) is used by the CTC prefix beam search and rescoring.
    """
    fusion = {}
    if lm is not None:
        fusion = dict(lm=lm, lm_weight=config.lm_weight, word_score=config.word_score)
    with torch.no_grad():
        if config.method == "attention":
            return [n[0] if n else Hypothesis([], float("-inf"))
                    for n in attention_beam_search(
                        model, feats, feat_lens, config.beam_size, config.ctc_weight,
                        config.length_penalty, config.length_normalize, tokenizer)]
        if config.method == "attention_rescoring":
            return attention_rescoring(model, feats, feat_lens, config.beam_size,
                                       config.ctc_weight, tokenizer,
                                       token_beam=config.token_beam, **fusion)
        enc, enc_lens = model.encode(feats, feat_lens)
        log_probs = model.ctc_log_probs(enc)
        if config.method == "ctc_greedy":
            return ctc_greedy_search(log_probs, enc_lens, model.blank_id, tokenizer)
        return [n[0] for n in ctc_prefix_beam_search(
            log_probs, enc_lens, config.beam_size, model.blank_id, token_beam=config.token_beam,
            tokenizer=tokenizer, **fusion)]


__all__ = [
    "METHODS", "ArpaLM", "CTCPrefixScorer", "DecodeConfig", "FlashlightCTCDecoder", "Hypothesis",
    "KenLM", "WordLM", "attention_beam_search", "attention_rescoring", "ctc_forced_align",
    "ctc_greedy_search", "ctc_prefix_beam_search", "decode_batch", "joint_beam_search",
    "load_lm", "token_start_frames", "word_timings",
]
