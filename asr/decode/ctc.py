"""CTC decoding: greedy, prefix beam search with optional word n-gram shallow fusion,
forced alignment, and a flashlight-text reference decoder.

Inputs are CTC log-probabilities ``(B, T, V)`` (natural log) with per-utterance valid
lengths ``(B,)``; frame ``t`` of a 4x-subsampled model starts at ``t * 0.04`` seconds.
Every decoder returns :class:`Hypothesis` objects with token ids, text (when a
tokenizer is given) and a frame-level alignment.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch

NEG_INF = float("-inf")
WORD_BOUNDARY = "\u2581"  # "▁"
LOG10 = math.log(10.0)


@dataclasses.dataclass
class Hypothesis:
    """One decoding result.

    Attributes:
        tokens: token ids (no blank, no sos/eos).
        score: the search score (log domain, natural log).
        text: decoded text ("" without a tokenizer).
        alignment: CTC decoders: the label of every frame ``(T,)`` (0 = blank) on the
            best path of ``tokens``; ``None`` for attention-only results.
        token_frames: frame index where each token is first emitted (for word timings).
        ctc_score, att_score, lm_score: the parts of ``score`` where they apply.
    """

    tokens: list[int]
    score: float
    text: str = ""
    alignment: list[int] | None = None
    token_frames: list[int] | None = None
    ctc_score: float = 0.0
    att_score: float = 0.0
    lm_score: float = 0.0


def _log_add(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def _to_numpy(log_probs: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(log_probs, torch.Tensor):
        return log_probs.detach().cpu().double().numpy()
    return np.asarray(log_probs, dtype=np.float64)


def _lengths(lengths: torch.Tensor | Sequence[int] | None, batch: int, frames: int) -> list[int]:
    if lengths is None:
        return [frames] * batch
    return [int(n) for n in lengths]


def token_start_frames(alignment: Sequence[int], blank: int = 0) -> list[int]:
    """First frame of every emitted token on a CTC path ``(T,)`` of labels."""
    starts = []
    prev = blank
    for t, label in enumerate(alignment):
        if label != blank and label != prev:
            starts.append(t)
        prev = label
    return starts


def ctc_forced_align(log_probs: torch.Tensor | np.ndarray, tokens: Sequence[int],
                     blank: int = 0) -> tuple[list[int], float]:
    """Viterbi alignment of ``tokens`` to one utterance's frames.

    Args:
        log_probs: ``(T, V)`` log-probabilities.
        tokens: the label sequence (no blanks).

    Returns:
        ``(labels (T,), log-probability of that path)``; raises ``ValueError`` if
        ``tokens`` cannot fit in ``T`` frames.
    """
    lp = _to_numpy(log_probs)
    num_frames = lp.shape[0]
    ext = [blank]
    for tok in tokens:
        ext += [int(tok), blank]
    ext_arr = np.array(ext)
    num_states = len(ext)
    # A state may skip the blank before it when its label differs from two states back.
    skip = np.zeros(num_states, dtype=bool)
    skip[2:] = (ext_arr[2:] != blank) & (ext_arr[2:] != ext_arr[:-2])
    emit = lp[:, ext_arr]  # (T, S)
    score = np.full(num_states, NEG_INF)
    score[0] = emit[0, 0]
    if num_states > 1:
        score[1] = emit[0, 1]
    back = np.zeros((num_frames, num_states), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, num_frames):
        prev1 = np.full(num_states, NEG_INF)
        prev1[1:] = score[:-1]
        prev2 = np.full(num_states, NEG_INF)
        prev2[2:] = np.where(skip[2:], score[:-2], NEG_INF)
        stacked = np.stack([score, prev1, prev2])
        back[t] = stacked.argmax(0)
        score = stacked.max(0) + emit[t]
    finals = [num_states - 1] + ([num_states - 2] if num_states > 1 else [])
    end = max(finals, key=lambda s: score[s])
    if score[end] == NEG_INF:
        raise ValueError(f"cannot align {len(tokens)} tokens to {num_frames} frames")
    path = [0] * num_frames
    state = end
    for t in range(num_frames - 1, -1, -1):
        path[t] = int(ext_arr[state])
        state -= int(back[t, state])
    return path, float(score[end])


def ctc_greedy_search(log_probs: torch.Tensor, lengths: torch.Tensor | None = None,
                      blank: int = 0, tokenizer: Any = None) -> list[Hypothesis]:
    """Best label per frame, repeats merged, blanks dropped (batched argmax).

    ``log_probs (B, T, V)``, ``lengths (B,)`` -> one :class:`Hypothesis` per utterance
    (``score`` is the best path's log-probability).
    """
    best_lp, best = log_probs.max(dim=-1)  # (B, T)
    best_np, best_lp_np = best.cpu().numpy(), best_lp.cpu().double().numpy()
    results = []
    for b, n in enumerate(_lengths(lengths, log_probs.size(0), log_probs.size(1))):
        path = [int(x) for x in best_np[b, :n]]
        starts = token_start_frames(path, blank)
        tokens = [path[t] for t in starts]
        score = float(best_lp_np[b, :n].sum())
        results.append(Hypothesis(tokens, score, _text(tokenizer, tokens), path, starts,
                                  ctc_score=score))
    return results


def _text(tokenizer: Any, tokens: Sequence[int]) -> str:
    return tokenizer.decode(tokens) if tokenizer is not None else ""


def word_timings(hyp: Hypothesis, token_strings: Sequence[str], frame_shift: float = 0.04
                 ) -> list[tuple[str, float, float]]:
    """Words of a CTC hypothesis with start and end times in seconds.

    A token whose string starts with ``▁`` begins a word. A word starts at the first
    frame of its first token and ends after the last frame of its last token's run of
    frames on ``hyp.alignment``. ``frame_shift``: seconds per alignment frame (0.04 for
    4x subsampling of 10 ms frames).
    """
    if hyp.alignment is None or hyp.token_frames is None:
        raise ValueError("word timings need a hypothesis with a frame alignment")
    words: list[list] = []  # [text, first frame, last frame]
    for tok, start in zip(hyp.tokens, hyp.token_frames):
        end = start
        while end + 1 < len(hyp.alignment) and hyp.alignment[end + 1] == tok:
            end += 1
        piece = token_strings[tok]
        text = piece.lstrip(WORD_BOUNDARY)
        if piece.startswith(WORD_BOUNDARY) or not words:
            words.append(["", None, None])
        if text:
            word = words[-1]
            word[0] += text
            word[1] = start if word[1] is None else word[1]
            word[2] = end
    return [(w, s * frame_shift, (e + 1) * frame_shift) for w, s, e in words if w]


# -- word language models for shallow fusion --------------------------------------------------


class WordLM(Protocol):
    """A word-level LM for shallow fusion; scores are natural-log probabilities."""

    def begin(self) -> Any:
        """The state at the start of a sentence."""

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        """``log P(word | state)`` and the state after ``word``."""

    def end(self, state: Any) -> float:
        """``log P(</s> | state)``."""

    def vocabulary(self) -> list[str] | None:
        """The LM's words, sorted (None when unknown), for scoring unfinished words."""


def arpa_unigrams(path: str | Path) -> list[str] | None:
    """The words of an ARPA file's 1-gram section (plain or .gz), or None when the file
    is not ARPA text (a KenLM binary)."""
    import gzip

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            if handle.readline().strip() != "\\data\\":
                return None
            section = False
            for line in handle:
                line = line.strip()
                if line == "\\1-grams:":
                    section = True
                elif section and line.startswith("\\"):
                    break
                elif section and line:
                    words.append(line.split()[1])
    except UnicodeDecodeError:
        return None
    return words


class KenLM:
    """A KenLM model (ARPA or binary) through the ``kenlm`` Python module."""

    def __init__(self, path: str | Path):
        try:
            import kenlm
        except ImportError as err:
            raise ImportError("KenLM fusion needs the 'kenlm' Python module "
                              "(pip install kenlm); ArpaLM reads ARPA files without it") from err
        if not Path(path).is_file():
            raise FileNotFoundError(f"language model {path} does not exist")
        self._kenlm = kenlm
        self.model = kenlm.Model(str(path))
        self.path = Path(path)
        self._vocabulary: list[str] | None = None

    def begin(self) -> Any:
        state = self._kenlm.State()
        self.model.BeginSentenceWrite(state)
        return state

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        out = self._kenlm.State()
        return self.model.BaseScore(state, word, out) * LOG10, out

    def end(self, state: Any) -> float:
        return self.model.BaseScore(state, "</s>", self._kenlm.State()) * LOG10

    def vocabulary(self) -> list[str] | None:
        if self._vocabulary is None:  # read once: a search builds one fusion per utterance
            words = arpa_unigrams(self.path)
            self._vocabulary = sorted(words) if words is not None else []
        return self._vocabulary or None


class ArpaLM:
    """A backoff n-gram LM read from an ARPA file in pure Python (small LMs, tests).

    The state is the tuple of the last ``order - 1`` words. Words missing from the
    vocabulary score as ``<unk>`` (or ``unk_log10`` when the LM has no ``<unk>``).
    """

    def __init__(self, path: str | Path, unk_log10: float = -10.0):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ARPA file {path} does not exist")
        self.probs: dict[tuple[str, ...], float] = {}
        self.backoffs: dict[tuple[str, ...], float] = {}
        self.order = 0
        self.unk_log10 = unk_log10
        self._vocabulary: list[str] | None = None
        section = 0
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
                self.order = max(self.order, section)
                continue
            if section == 0:
                continue
            fields = line.split()
            if len(fields) < section + 1:
                raise ValueError(f"{path}:{lineno}: malformed {section}-gram line {line!r}")
            words = tuple(fields[1: section + 1])
            self.probs[words] = float(fields[0])
            if len(fields) > section + 1:
                self.backoffs[words] = float(fields[section + 1])
        if self.order == 0:
            raise ValueError(f"{path}: no n-gram sections found")

    def _log10(self, history: tuple[str, ...], word: str) -> float:
        backoff = 0.0
        for start in range(len(history) + 1):
            context = history[start:]
            if context + (word,) in self.probs:
                return backoff + self.probs[context + (word,)]
            backoff += self.backoffs.get(context, 0.0)
        return self.unk_log10

    def begin(self) -> tuple[str, ...]:
        return ("<s>",)

    def score(self, state: tuple[str, ...], word: str) -> tuple[float, tuple[str, ...]]:
        if (word,) not in self.probs and ("<unk>",) in self.probs:
            word = "<unk>"
        new_state = (state + (word,))[-(self.order - 1):] if self.order > 1 else ()
        return self._log10(state, word) * LOG10, new_state

    def end(self, state: tuple[str, ...]) -> float:
        return self._log10(state, "</s>") * LOG10

    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(words[0] for words in self.probs if len(words) == 1)
        return self._vocabulary


# -- prefix beam search -----------------------------------------------------------------------


@dataclasses.dataclass
class _LMContext:
    """LM bookkeeping of one prefix: completed words are scored, the last word is open."""

    state: Any
    score: float
    word: str
    num_words: int


class _Fusion:
    """Scores prefixes with a word LM; word boundaries come from ``▁`` in token strings.

    Completed words are scored when the next word starts. The open (last) word is
    scored at once when it cannot become an LM word (it starts no word of the LM's
    vocabulary), as pyctcdecode does; otherwise a prefix that never closes its word
    would pay no LM cost while it lasts and crowd the beam with run-on "words"."""

    def __init__(self, lm: WordLM, token_strings: Sequence[str], weight: float,
                 word_score: float):
        self.lm = lm
        self.tokens = list(token_strings)
        self.weight = weight
        self.word_score = word_score
        self.cache: dict[tuple[int, ...], _LMContext] = {(): _LMContext(lm.begin(), 0.0, "", 0)}
        self.vocabulary = lm.vocabulary() if hasattr(lm, "vocabulary") else None
        self.dead_end: dict[str, bool] = {}

    def context(self, prefix: tuple[int, ...]) -> _LMContext:
        ctx = self.cache.get(prefix)
        if ctx is None:
            parent = self.context(prefix[:-1])
            piece = self.tokens[prefix[-1]]
            if piece.startswith(WORD_BOUNDARY) and parent.word:
                lm_score, state = self.lm.score(parent.state, parent.word)
                ctx = _LMContext(state, parent.score + lm_score, piece[1:], parent.num_words + 1)
            else:
                ctx = _LMContext(parent.state, parent.score, parent.word + piece.lstrip(
                    WORD_BOUNDARY), parent.num_words)
            self.cache[prefix] = ctx
        return ctx

    def _starts_no_word(self, word: str) -> bool:
        known = self.dead_end.get(word)
        if known is None:
            i = bisect.bisect_left(self.vocabulary, word)
            known = not (i < len(self.vocabulary) and self.vocabulary[i].startswith(word))
            self.dead_end[word] = known
        return known

    def bonus(self, prefix: tuple[int, ...]) -> float:
        ctx = self.context(prefix)
        score = ctx.score
        if ctx.word and self.vocabulary is not None and self._starts_no_word(ctx.word):
            score += self.lm.score(ctx.state, ctx.word)[0]
        return self.weight * score + self.word_score * ctx.num_words

    def final(self, prefix: tuple[int, ...]) -> tuple[float, float]:
        """``(fused bonus, LM log-prob)`` with the open word and ``</s>`` scored."""
        ctx = self.context(prefix)
        score, state, words = ctx.score, ctx.state, ctx.num_words
        if ctx.word:
            word_lp, state = self.lm.score(state, ctx.word)
            score += word_lp
            words += 1
        score += self.lm.end(state)
        return self.weight * score + self.word_score * words, score


def ctc_prefix_beam_search(
    log_probs: torch.Tensor, lengths: torch.Tensor | None = None, beam_size: int = 10,
    blank: int = 0, nbest: int = 1, token_beam: int | None = None, lm: WordLM | None = None,
    lm_weight: float = 0.5, word_score: float = 0.0, token_strings: Sequence[str] | None = None,
    tokenizer: Any = None,
) -> list[list[Hypothesis]]:
    """CTC prefix beam search: sums over all paths of each prefix, keeps ``beam_size`` prefixes.

    Args:
        log_probs: ``(B, T, V)`` CTC log-probabilities.
        lengths: ``(B,)`` valid frames (default all ``T``).
        beam_size: prefixes kept after every frame.
        nbest: hypotheses returned per utterance (at most ``beam_size``).
        token_beam: only the ``token_beam`` most likely tokens of each frame extend
            prefixes (default ``beam_size``; ``V`` disables the pruning).
        lm: optional word LM (:class:`KenLM`, :class:`ArpaLM`, ...) for shallow fusion:
            ``score = log P_ctc + lm_weight * log P_lm + word_score * words``; needs
            ``token_strings`` (or ``tokenizer.tokens``) where ``▁`` starts a word.
        tokenizer: gives ``text`` (and default ``token_strings``).

    Returns:
        per utterance, the ``nbest`` best :class:`Hypothesis` objects, best first, each
        with its Viterbi frame alignment.
    """
    batch, frames, vocab = log_probs.shape
    token_beam = min(vocab, token_beam or beam_size)
    # Batched pre-pruning: the candidate tokens of every frame of every utterance at once.
    top_ids_np = log_probs.topk(token_beam, dim=-1).indices.cpu().numpy()
    lp_np = _to_numpy(log_probs)
    top_lp_np = np.take_along_axis(lp_np, top_ids_np, axis=-1)
    fusion_args = None
    if lm is not None:
        strings = token_strings if token_strings is not None else getattr(tokenizer, "tokens", None)
        if strings is None:
            raise ValueError("LM fusion needs token_strings or a tokenizer to find word boundaries")
        fusion_args = (lm, strings, lm_weight, word_score)
    results = []
    for b, n in enumerate(_lengths(lengths, batch, frames)):
        fusion = _Fusion(*fusion_args) if fusion_args else None
        hyps = _prefix_search_one(lp_np[b, :n], top_ids_np[b, :n], top_lp_np[b, :n], blank,
                                  beam_size, nbest, fusion)
        for hyp in hyps:
            hyp.text = _text(tokenizer, hyp.tokens)
            if n > 0:
                hyp.alignment, _ = ctc_forced_align(lp_np[b, :n], hyp.tokens, blank)
                hyp.token_frames = token_start_frames(hyp.alignment, blank)
            else:
                hyp.alignment, hyp.token_frames = [], []
        results.append(hyps)
    return results


def _prefix_search_one(lp: np.ndarray, cand_ids: np.ndarray, cand_lp: np.ndarray, blank: int,
                       beam_size: int, nbest: int, fusion: _Fusion | None) -> list[Hypothesis]:
    """One utterance. ``lp (T, V)``, ``cand_ids``/``cand_lp (T, K)``."""
    # prefix -> [log P(prefix, ends in blank), log P(prefix, ends in a label)]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
    for t in range(lp.shape[0]):
        blank_lp = float(lp[t, blank])
        cands = [(int(c), float(p)) for c, p in zip(cand_ids[t], cand_lp[t]) if c != blank]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_b, p_nb) in beams.items():
            total = _log_add(p_b, p_nb)
            entry = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            entry[0] = _log_add(entry[0], total + blank_lp)
            last = prefix[-1] if prefix else None
            for c, p in cands:
                new = prefix + (c,)
                new_entry = nxt.setdefault(new, [NEG_INF, NEG_INF])
                if c == last:
                    # "a a" needs a blank between; without one it stays "a".
                    new_entry[1] = _log_add(new_entry[1], p_b + p)
                    entry[1] = _log_add(entry[1], p_nb + p)
                else:
                    new_entry[1] = _log_add(new_entry[1], total + p)
        if fusion is None:
            ranked = sorted(nxt.items(), key=lambda kv: _log_add(*kv[1]), reverse=True)
        else:
            ranked = sorted(nxt.items(), key=lambda kv: _log_add(*kv[1]) + fusion.bonus(kv[0]),
                            reverse=True)
        beams = dict(ranked[:beam_size])
    hyps = []
    for prefix, probs in beams.items():
        ctc = _log_add(*probs)
        if fusion is None:
            hyps.append(Hypothesis(list(prefix), ctc, ctc_score=ctc))
        else:
            bonus, lm_lp = fusion.final(prefix)
            hyps.append(Hypothesis(list(prefix), ctc + bonus, ctc_score=ctc, lm_score=lm_lp))
    hyps.sort(key=lambda h: h.score, reverse=True)
    return hyps[:nbest]


# -- flashlight-text reference -----------------------------------------------------------------


class FlashlightCTCDecoder:
    """flashlight-text's lexicon-free beam search decoder (no LM) as a reference.

    ``log_add=True`` merges paths of one prefix by summing, like prefix beam search.
    """

    def __init__(self, vocab_size: int, beam_size: int = 10, blank: int = 0,
                 token_beam: int | None = None, beam_threshold: float = 1e9,
                 log_add: bool = True):
        from flashlight.lib.text import decoder as fl

        options = fl.LexiconFreeDecoderOptions(
            beam_size=beam_size, beam_size_token=token_beam or beam_size,
            beam_threshold=beam_threshold, lm_weight=0.0, sil_score=0.0, log_add=log_add,
            criterion_type=fl.CriterionType.CTC)
        # No LM and no silence token: the silence index is set to the blank, whose
        # silence score is 0.
        self._decoder = fl.LexiconFreeDecoder(options, fl.ZeroLM(), blank, blank, [])
        self.blank = blank

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None,
                 tokenizer: Any = None) -> list[Hypothesis]:
        """``log_probs (B, T, V)`` -> the best :class:`Hypothesis` per utterance."""
        lp = log_probs.detach().float().cpu().contiguous()
        batch, frames, vocab = lp.shape
        results = []
        for b, n in enumerate(_lengths(lengths, batch, frames)):
            emissions = lp[b]
            out = self._decoder.decode(emissions.data_ptr(), n, vocab)
            best = out[0]
            tokens = []
            prev = self.blank
            for tok in best.tokens:
                if tok != self.blank and tok != prev and tok >= 0:
                    tokens.append(int(tok))
                prev = tok
            results.append(Hypothesis(tokens, float(best.score), _text(tokenizer, tokens),
                                      ctc_score=float(best.score)))
        return results
