"""ARPA back-off n-gram models: an in-memory model, a validating reader and a writer.

File format (Doug Paul's ARPA, as written by SRILM, KenLM's lmplz and us)::

    \\data\\
    ngram 1=<count>
    ...
    ngram N=<count>

    \\1-grams:
    <log10 prob>\\t<w1>[\\t<log10 back-off>]
    ...
    \\N-grams:
    <log10 prob>\\t<w1> ... <wN>
    \\end\\

Probabilities and back-off weights are log10. Any text before ``\\data\\`` is a comment.
A missing back-off weight means 0.0 (log10 of 1). ``<s>`` is never predicted: we write
it with log10 probability -99 (the SRILM convention; lmplz writes 0), and both values
are read. ``<unk>``, when present, is the probability of any out-of-vocabulary word.

The model keeps every n-gram in Python dicts: fine for corpora of the AN4/LibriSpeech-LM
dev size (a few million n-grams); query a large model through ``asr.lm.kenlm_model``.
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from asr.utils.io import atomic_open

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
# log10 probability written for <s> (never predicted) and read as "impossible".
LOG_ZERO = -99.0

Ngram = tuple[str, ...]


@dataclass
class ArpaModel:
    """A back-off n-gram model.

    ``ngrams[k - 1]`` maps each k-gram (a tuple of k words) to ``(log10 prob, log10 back-off)``.
    The back-off of the highest order is always 0.0.
    """

    ngrams: list[dict[Ngram, tuple[float, float]]] = field(default_factory=list)

    @property
    def order(self) -> int:
        return len(self.ngrams)

    @property
    def counts(self) -> list[int]:
        """Number of n-grams of each order, as in the ``\\data\\`` header."""
        return [len(table) for table in self.ngrams]

    @property
    def vocab(self) -> list[str]:
        """Words of the unigram table, in file order."""
        return [ngram[0] for ngram in self.ngrams[0]] if self.ngrams else []

    def __contains__(self, word: str) -> bool:
        return bool(self.ngrams) and (word,) in self.ngrams[0]

    def log10_prob(self, word: str, context: Iterable[str] = ()) -> float:
        """log10 p(word | context) by the back-off recursion.

        ``context`` is the word history, oldest first; only its last ``order - 1`` words
        matter. An out-of-vocabulary ``word`` is scored as ``<unk>`` when the model has
        it; otherwise a ValueError names the word.
        """
        if (word,) not in self.ngrams[0]:
            if (UNK,) not in self.ngrams[0]:
                raise ValueError(
                    f"word {word!r} is not in the LM vocabulary and the LM has no {UNK}"
                )
            word = UNK
        history = tuple(context)[-(self.order - 1) :] if self.order > 1 else ()
        history = tuple(w if (w,) in self.ngrams[0] else UNK for w in history)
        backoff = 0.0
        while True:
            entry = self.ngrams[len(history)].get(history + (word,))
            if entry is not None:
                return backoff + entry[0]
            context_entry = self.ngrams[len(history) - 1].get(history)
            if context_entry is not None:
                backoff += context_entry[1]
            history = history[1:]

    def score_sentence(self, words: Iterable[str], bos: bool = True, eos: bool = True) -> float:
        """Total log10 probability of a sentence (``</s>`` included when ``eos``).

        Out-of-vocabulary words are scored as ``<unk>`` (KenLM's convention); a model
        without ``<unk>`` raises ValueError for them.
        """
        context: list[str] = [BOS] if bos else []
        total = 0.0
        for word in list(words) + ([EOS] if eos else []):
            total += self.log10_prob(word, context)
            context.append(word)
        return total


@dataclass
class Perplexity:
    """Perplexity figures over a set of sentences (SRILM's ``ppl`` definition).

    ``ppl = 10 ** (-logprob / (num_words - num_excluded + num_sentences))``: every word and
    every ``</s>`` is a prediction. Out-of-vocabulary words (``num_oov``) are scored as
    ``<unk>`` when the model has it; otherwise they are excluded (``num_excluded``) and the
    history restarts after them, as SRILM does.
    """

    logprob: float
    num_sentences: int
    num_words: int
    num_oov: int
    num_excluded: int

    @property
    def num_predictions(self) -> int:
        return self.num_words - self.num_excluded + self.num_sentences

    @property
    def ppl(self) -> float:
        return 10.0 ** (-self.logprob / self.num_predictions)


def perplexity(model: ArpaModel, sentences: Iterable[Iterable[str]]) -> Perplexity:
    """Perplexity of ``model`` on tokenized ``sentences`` (no ``<s>``/``</s>`` in them)."""
    has_unk = UNK in model
    logprob = 0.0
    num_sentences = num_words = num_oov = num_excluded = 0
    for sentence in sentences:
        words = list(sentence)
        num_sentences += 1
        num_words += len(words)
        context = [BOS]
        for word in words + [EOS]:
            if word not in model and word != EOS:
                num_oov += 1
                if not has_unk:
                    num_excluded += 1
                    context = []
                    continue
            logprob += model.log10_prob(word, context)
            context.append(word)
    return Perplexity(logprob, num_sentences, num_words, num_oov, num_excluded)


# ---------------------------------------------------------------- reading

_NGRAM_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_arpa(path: str | Path) -> ArpaModel:
    """Read and validate an ARPA file (plain or ``.gz``).

    Raises FileNotFoundError when missing and ValueError naming ``file:line`` for a
    missing or malformed ``\\data\\`` header, a section out of order, a malformed entry
    (field count, non-numeric or positive log probability), a section whose number of
    entries differs from its declared count, or a missing ``\\end\\``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ARPA file not found: {path}")
    with _open_text(path) as handle:
        return _parse_arpa(handle, str(path))


def _parse_arpa(lines: Iterable[str], name: str) -> ArpaModel:
    it: Iterator[tuple[int, str]] = ((i, line.strip()) for i, line in enumerate(lines, 1))

    def fail(lineno: int, message: str) -> ValueError:
        return ValueError(f"{name}:{lineno}: {message}")

    lineno = 0
    for lineno, line in it:
        if line == "\\data\\":
            break
    else:
        raise fail(lineno, "no \\data\\ header found")

    declared: list[tuple[int, int]] = []  # (count, line of the declaration)
    for lineno, line in it:
        if not line:
            if declared:
                break
            continue
        match = _NGRAM_COUNT.match(line)
        if match is None:
            if _SECTION.match(line) and declared:
                it = _chain([(lineno, line)], it)
                break
            raise fail(lineno, f"expected 'ngram N=count' in the \\data\\ header, got {line!r}")
        order, count = int(match.group(1)), int(match.group(2))
        if order != len(declared) + 1:
            raise fail(lineno, f"header declares order {order} after order {len(declared)}")
        declared.append((count, lineno))
    if not declared:
        raise fail(lineno, "the \\data\\ header declares no 'ngram N=count' line")

    max_order = len(declared)
    ngrams: list[dict[Ngram, tuple[float, float]]] = []
    current = 0  # order of the section being read, 0 before the first
    section_line = 0

    def close_section(lineno: int) -> None:
        if current:
            count, decl_line = declared[current - 1]
            found = len(ngrams[current - 1])
            if found != count:
                raise fail(
                    section_line,
                    f"\\{current}-grams: section has {found} entries but the header "
                    f"(line {decl_line}) declares {count}",
                )

    for lineno, line in it:
        if not line:
            continue
        if line.startswith("\\"):
            close_section(lineno)
            if line == "\\end\\":
                if current != max_order:
                    raise fail(
                        lineno, f"\\end\\ after the {current}-grams, expected {max_order} orders"
                    )
                return ArpaModel(ngrams)
            match = _SECTION.match(line)
            if match is None:
                raise fail(lineno, f"unexpected line {line!r}")
            order = int(match.group(1))
            if order != current + 1 or order > max_order:
                raise fail(
                    lineno,
                    f"section \\{order}-grams: out of order (expected \\{current + 1}-grams:)",
                )
            current, section_line = order, lineno
            ngrams.append({})
            continue
        if not current:
            raise fail(lineno, f"entry before any \\N-grams: section: {line!r}")
        fields = line.split()
        if len(fields) == current + 1:
            backoff = 0.0
        elif len(fields) == current + 2 and current < max_order:
            backoff = _float(fields[-1], fail, lineno, "back-off weight")
        else:
            raise fail(
                lineno,
                f"a {current}-gram entry needs {current + 1} or {current + 2} fields, "
                f"got {len(fields)}",
            )
        prob = _float(fields[0], fail, lineno, "log10 probability")
        if prob > 0.0:
            raise fail(lineno, f"log10 probability {prob} > 0")
        ngram = tuple(fields[1 : current + 1])
        if ngram in ngrams[current - 1]:
            raise fail(lineno, f"duplicate {current}-gram {' '.join(ngram)!r}")
        ngrams[current - 1][ngram] = (prob, backoff)
    raise fail(lineno, "file ends without \\end\\")


def _chain(
    first: list[tuple[int, str]], rest: Iterator[tuple[int, str]]
) -> Iterator[tuple[int, str]]:
    yield from first
    yield from rest


def _float(text: str, fail, lineno: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise fail(lineno, f"{what} {text!r} is not a number") from None
    if math.isnan(value):
        raise fail(lineno, f"{what} is NaN")
    return value


# ---------------------------------------------------------------- writing


def _fmt(value: float) -> str:
    return f"{value:.7g}"


def write_arpa(model: ArpaModel, path: str | Path) -> None:
    """Write ``model`` as an ARPA file (atomically; ``.gz`` suffix compresses)."""
    path = Path(path)
    if path.suffix == ".gz":
        with atomic_open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(arpa_text(model).encode("utf-8"))
        return
    with atomic_open(path, "w") as handle:
        for chunk in _arpa_chunks(model):
            handle.write(chunk)


def arpa_text(model: ArpaModel) -> str:
    """The ARPA file contents of ``model`` as one string."""
    return "".join(_arpa_chunks(model))


def _arpa_chunks(model: ArpaModel) -> Iterator[str]:
    yield "\\data\\\n"
    for k, count in enumerate(model.counts, 1):
        yield f"ngram {k}={count}\n"
    for k, table in enumerate(model.ngrams, 1):
        yield f"\n\\{k}-grams:\n"
        highest = k == model.order
        for ngram, (prob, backoff) in table.items():
            words = " ".join(ngram)
            if highest:
                yield f"{_fmt(prob)}\t{words}\n"
            else:
                yield f"{_fmt(prob)}\t{words}\t{_fmt(backoff)}\n"
    yield "\n\\end\\\n"
