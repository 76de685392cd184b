"""Attention decoding: joint CTC/attention beam search and attention rescoring of CTC n-best.

The joint search is label-synchronous (one token per step, as in ESPnet): a hypothesis
``g`` extended by token ``c`` scores

    (1 - ctc_weight) * log P_att(g c) + ctc_weight * log P_ctc-prefix(g c)
    + length_penalty * |g c|

where the CTC prefix score is the probability that the label sequence *starts* with
``g c`` (summed over all alignments), and ``<eos>`` gets the full CTC probability of
``g``. With ``ctc_weight = 1`` the search ranks label sequences by CTC probability only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
import torch

from asr.decode.ctc import Hypothesis, ctc_prefix_beam_search, _to_numpy

NEG_INF = float("-inf")


class CTCPrefixScorer:
    """Incremental CTC prefix scores for one utterance (numpy, vectorized over hypotheses
    and candidate tokens).

    The state of a prefix ``g`` is ``r (T, 2)``: log-probabilities that frames ``0..t``
    emit exactly ``g`` with the last frame a label (``r[:, 0]``) or a blank (``r[:, 1]``).

    Args:
        log_probs: ``(T, V)`` CTC log-probabilities.
        blank, eos: their ids.
    """

    def __init__(self, log_probs: torch.Tensor | np.ndarray, blank: int, eos: int):
        self.x = _to_numpy(log_probs)
        self.T = self.x.shape[0]
        self.blank = blank
        self.eos = eos

    def initial_state(self) -> np.ndarray:
        """State of the empty prefix: all blanks so far."""
        r = np.full((self.T, 2), NEG_INF)
        r[:, 1] = np.cumsum(self.x[:, self.blank])
        return r

    def score(self, prefixes: Sequence[Sequence[int]], states: np.ndarray,
              candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prefix scores of ``g + c`` for ``N`` prefixes ``g`` of one length and ``C``
        candidates ``c`` each.

        Args:
            prefixes: ``N`` token sequences (no sos), all of the same length.
            states: their ``r``, ``(N, T, 2)``.
            candidates: ``(N, C)`` token ids (``eos`` allowed, blank not).

        Returns:
            ``psi (N, C)`` log prefix probabilities (for ``eos``: the full probability of
            ``g``) and the new states ``(N, C, T, 2)``.
        """
        length = len(prefixes[0])
        if any(len(p) != length for p in prefixes):
            raise ValueError("CTCPrefixScorer.score needs prefixes of one length")
        T = self.T
        r_sum = np.logaddexp(states[:, :, 0], states[:, :, 1])  # (N, T)
        # phi[t]: probability of g up to frame t at a point where c may start a new label;
        # a repeat of g's last label needs a blank in between.
        phi = np.repeat(r_sum[:, :, None], candidates.shape[1], axis=2)  # (N, T, C)
        if length:
            last = np.array([p[-1] for p in prefixes])
            same = candidates == last[:, None]  # (N, C)
            phi = np.where(same[:, None, :], states[:, :, 1:2], phi)
        xs = self.x[:, candidates]  # (T, N, C)
        r = np.full((T, 2) + candidates.shape, NEG_INF)
        start = max(length, 1)
        if length == 0:
            r[0, 0] = xs[0]
        psi = r[start - 1, 0].copy()
        blank_lp = self.x[:, self.blank]
        for t in range(start, T):
            r[t, 0] = np.logaddexp(r[t - 1, 0], phi[:, t - 1]) + xs[t]
            r[t, 1] = np.logaddexp(r[t - 1, 0], r[t - 1, 1]) + blank_lp[t]
            psi = np.logaddexp(psi, phi[:, t - 1] + xs[t])
        psi = np.where(candidates == self.eos, r_sum[:, -1:], psi)
        return psi, np.transpose(r, (2, 3, 0, 1))


@dataclasses.dataclass
class _Hyp:
    tokens: tuple[int, ...]
    score: float
    att: float
    ctc: float
    ctc_state: np.ndarray | None


def joint_beam_search(
    next_log_probs: Callable[[torch.Tensor], torch.Tensor] | None,
    ctc_log_probs: torch.Tensor | None, sos: int, eos: int, blank: int = 0, beam_size: int = 10,
    ctc_weight: float = 0.3, length_penalty: float = 0.0, length_normalize: bool = False,
    max_len: int | None = None, pre_beam: int | None = None, nbest: int = 1,
) -> list[Hypothesis]:
    """Label-synchronous beam search for one utterance.

    Args:
        next_log_probs: maps prefixes ``(N, L)`` (starting with ``sos``) to next-token
            log-probabilities ``(N, V)``; may be ``None`` when ``ctc_weight == 1``.
        ctc_log_probs: ``(T, V)``; may be ``None`` when ``ctc_weight == 0``.
        beam_size: hypotheses kept per step.
        ctc_weight: weight of the CTC prefix score in ``[0, 1]``.
        length_penalty: added per output token (eos included).
        length_normalize: rank finished hypotheses by ``score / (len + 1)``.
        max_len: most tokens (default ``T``, or 200 without CTC).
        pre_beam: candidate tokens per hypothesis, chosen by the attention score
            (default ``int(1.5 * beam_size)``); with ``ctc_weight == 1`` every token is scored.
        nbest: finished hypotheses returned.

    Returns:
        up to ``nbest`` :class:`Hypothesis` objects, best first (tokens without sos/eos).
    """
    if not 0.0 <= ctc_weight <= 1.0:
        raise ValueError(f"ctc_weight must be in [0, 1], got {ctc_weight}")
    use_att = ctc_weight < 1.0
    use_ctc = ctc_weight > 0.0
    if use_att and next_log_probs is None:
        raise ValueError("ctc_weight < 1 needs an attention decoder")
    if use_ctc and ctc_log_probs is None:
        raise ValueError("ctc_weight > 0 needs CTC log-probabilities")
    scorer = CTCPrefixScorer(ctc_log_probs, blank, eos) if use_ctc else None
    if max_len is None:
        max_len = scorer.T if scorer is not None else 200
    vocab = None
    if scorer is not None:
        vocab = scorer.x.shape[1]
    running = [_Hyp((), 0.0, 0.0, 0.0, scorer.initial_state() if scorer else None)]
    ended: list[_Hyp] = []
    pre_beam = pre_beam or int(1.5 * beam_size)
    for step in range(max_len + 1):
        att_lp = None
        if use_att:
            ys = torch.tensor([(sos,) + h.tokens for h in running], dtype=torch.long)
            att_lp = next_log_probs(ys).float().cpu().numpy().astype(np.float64)  # (N, V)
            vocab = att_lp.shape[1]
        # Candidate tokens per hypothesis: (N, C).
        if step == max_len:  # out of room: only eos may follow
            cands = np.full((len(running), 1), eos)
        elif use_att:
            rows = att_lp.copy()
            rows[:, blank] = NEG_INF
            k = min(pre_beam, vocab - 1)
            cands = np.argpartition(-rows, k - 1, axis=1)[:, :k]
        else:
            cands = np.tile(np.array([c for c in range(vocab) if c != blank]), (len(running), 1))
        prev_att = np.array([h.att for h in running])[:, None]
        att_new = prev_att + (np.take_along_axis(att_lp, cands, 1) if use_att
                              else np.zeros(cands.shape))
        if scorer is not None:
            ctc_new, states = scorer.score([h.tokens for h in running],
                                           np.stack([h.ctc_state for h in running]), cands)
        else:
            ctc_new, states = np.zeros(cands.shape), None
        total = ((1.0 - ctc_weight) * att_new + ctc_weight * ctc_new
                 + length_penalty * (step + 1))
        expansions = []  # (score, hyp index, token, att, ctc, state)
        for i, j in zip(*np.nonzero(total > NEG_INF)):
            expansions.append((float(total[i, j]), int(i), int(cands[i, j]),
                               float(att_new[i, j]), float(ctc_new[i, j]),
                               None if states is None else states[i, j]))
        expansions.sort(key=lambda e: e[0], reverse=True)
        new_running = []
        for score, i, c, att, ctc, state in expansions[:beam_size]:
            if c == eos:
                ended.append(_Hyp(running[i].tokens, score, att, ctc, None))
            else:
                new_running.append(_Hyp(running[i].tokens + (c,), score, att, ctc,
                                        None if state is None else state.copy()))
        running = new_running
        if not running:
            break
        # Scores never grow without a length bonus, so a finished hypothesis that beats
        # every running one cannot be overtaken.
        if (ended and length_penalty <= 0.0 and not length_normalize
                and max(h.score for h in ended) >= running[0].score and len(ended) >= nbest):
            break

    def final(h: _Hyp) -> float:
        return h.score / (len(h.tokens) + 1) if length_normalize else h.score

    ended.sort(key=final, reverse=True)
    return [Hypothesis(list(h.tokens), final(h), ctc_score=h.ctc, att_score=h.att)
            for h in ended[:nbest]]


def attention_beam_search(model: Any, feats: torch.Tensor, feat_lens: torch.Tensor,
                          beam_size: int = 10, ctc_weight: float = 0.3,
                          length_penalty: float = 0.0, length_normalize: bool = False,
                          tokenizer: Any = None, nbest: int = 1,
                          decoder_cache: bool = True) -> list[list[Hypothesis]]:
    """Joint CTC/attention beam search on a batch with a model such as
    :class:`asr.models.ConformerAED` (``encode``, ``ctc_log_probs``, ``decoder_log_probs``,
    ``sos_id``, ``eos_id``, ``blank_id``). With ``decoder_cache`` and a model that has
    ``incremental_decoder``, the decoder keeps each prefix's keys and values between
    steps; otherwise it recomputes every prefix (same hypotheses, slower).

    ``feats (B, T, F)``, ``feat_lens (B,)`` -> per utterance up to ``nbest`` hypotheses.
    """
    with torch.no_grad():
        enc, enc_lens = model.encode(feats, feat_lens)
        ctc_lp = model.ctc_log_probs(enc) if ctc_weight > 0 else None
        results = []
        for b in range(enc.size(0)):
            n = int(enc_lens[b])
            enc_b = enc[b: b + 1]

            next_lp = None
            if ctc_weight < 1 and decoder_cache and hasattr(model, "incremental_decoder"):
                next_lp = model.incremental_decoder(enc_b, n)
            elif ctc_weight < 1:
                def next_lp(ys: torch.Tensor, enc_b=enc_b, n=n) -> torch.Tensor:
                    return model.decoder_log_probs(enc_b, n, ys.to(enc.device))

            hyps = joint_beam_search(
                next_lp, ctc_lp[b, :n] if ctc_lp is not None else None,
                model.sos_id, model.eos_id, model.blank_id, beam_size, ctc_weight,
                length_penalty, length_normalize, max_len=n, nbest=nbest)
            for h in hyps:
                h.text = tokenizer.decode(h.tokens) if tokenizer is not None else ""
            results.append(hyps)
    return results


def attention_rescoring(model: Any, feats: torch.Tensor, feat_lens: torch.Tensor,
                        beam_size: int = 10, ctc_weight: float = 0.3, tokenizer: Any = None,
                        **search_options: Any) -> list[Hypothesis]:
    """CTC prefix beam search n-best, re-ranked by the attention decoder.

    Each of the ``beam_size`` CTC hypotheses gets
    ``ctc_weight * log P_ctc + (1 - ctc_weight) * log P_att(y <eos>)``; the best is
    returned per utterance, keeping its CTC alignment. ``search_options`` go to
    :func:`asr.decode.ctc.ctc_prefix_beam_search` (``lm``, ``lm_weight``, ...); with an
    LM, the CTC part is the fused score.
    """
    with torch.no_grad():
        enc, enc_lens = model.encode(feats, feat_lens)
        ctc_lp = model.ctc_log_probs(enc)
        nbests = ctc_prefix_beam_search(ctc_lp, enc_lens, beam_size=beam_size, nbest=beam_size,
                                        blank=model.blank_id, tokenizer=tokenizer,
                                        **search_options)
        results = []
        for b, hyps in enumerate(nbests):
            att = model.attention_scores(enc[b: b + 1], enc_lens[b], [h.tokens for h in hyps])
            best = None
            for h, a in zip(hyps, att.tolist()):
                h.att_score = a
                combined = ctc_weight * h.score + (1.0 - ctc_weight) * a
                if best is None or combined > best[0]:
                    best = (combined, h)
            hyp = best[1]
            hyp.score = best[0]
            results.append(hyp)
    return results
