"""Pronunciation lexicons: Kaldi ``lexicon.txt`` / ``lexiconp.txt`` and CMU/Sphinx ``.dic``.

Formats (one pronunciation per line, fields separated by whitespace):

- Kaldi ``lexicon.txt``:   ``WORD p1 p2 ...``
- Kaldi ``lexiconp.txt``:  ``WORD prob p1 p2 ...`` (prob in (0, 1]; Kaldi scales each
  word's probabilities so that its most likely pronunciation has 1.0)
- CMU/Sphinx ``.dic``:     ``WORD p1 p2 ...`` with variants written ``WORD(2)``,
  ``WORD(3)``; ``;;;`` lines and ``# ...`` tails are comments (cmudict uses both).

A word may have several pronunciations (variants), kept in file order. Reading checks
each line (a word needs at least one phone; an exact duplicate entry is an error) and
names ``file:line`` in its ValueError.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from asr.utils.io import atomic_write_text

_VARIANT = re.compile(r"^(.+)\((\d+)\)$")
_STRESS = re.compile(r"[0-9]+$")


@dataclass(frozen=True)
class Pronunciation:
    """One lexicon entry: ``word`` pronounced as ``phones``, with an optional probability."""

    word: str
    phones: tuple[str, ...]
    prob: float | None = None


@dataclass
class Lexicon:
    """An ordered list of pronunciations, with per-word look-up.

    Add entries with ``add`` (or build a new Lexicon): the word index is cached and only
    refreshed when the number of entries changes.
    """

    entries: list[Pronunciation] = field(default_factory=list)
    _cache: tuple[int, dict] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Iterable[str]]]) -> "Lexicon":
        """Build from ``(word, phones)`` pairs (phones a list or a space-separated string)."""
        lexicon = cls()
        for word, phones in pairs:
            lexicon.add(word, phones.split() if isinstance(phones, str) else phones)
        return lexicon

    def add(self, word: str, phones: Iterable[str], prob: float | None = None) -> None:
        self.entries.append(Pronunciation(word, tuple(phones), prob))

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Pronunciation]:
        return iter(self.entries)

    def __contains__(self, word: str) -> bool:
        return word in self._index()

    def _index(self) -> dict[str, list[Pronunciation]]:
        if self._cache is None or self._cache[0] != len(self.entries):
            index: dict[str, list[Pronunciation]] = OrderedDict()
            for entry in self.entries:
                index.setdefault(entry.word, []).append(entry)
            self._cache = (len(self.entries), index)
        return self._cache[1]

    def words(self) -> list[str]:
        """Distinct words in first-seen order."""
        return list(self._index())

    def prons(self, word: str) -> list[tuple[str, ...]]:
        """Pronunciations of ``word`` (KeyError when absent)."""
        return [entry.phones for entry in self._index()[word]]

    def to_dict(self) -> dict[str, list[tuple[str, ...]]]:
        return {word: [e.phones for e in entries] for word, entries in self._index().items()}

    def phones(self) -> list[str]:
        """Distinct phones, sorted."""
        return sorted({p for entry in self.entries for p in entry.phones})

    def with_probs(self) -> "Lexicon":
        """A copy where entries without a probability get 1.0 (Kaldi's default)."""
        return Lexicon(
            [
                Pronunciation(e.word, e.phones, 1.0 if e.prob is None else e.prob)
                for e in self.entries
            ]
        )


# ---------------------------------------------------------------- Kaldi formats


def read_lexicon(path: str | Path, with_probs: bool = False) -> Lexicon:
    """Read a Kaldi ``lexicon.txt`` (or ``lexiconp.txt`` when ``with_probs``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lexicon not found: {path}")
    lexicon = Lexicon()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{path}:{lineno}"
            word, rest = fields[0], fields[1:]
            prob = None
            if with_probs:
                if not rest:
                    raise ValueError(
                        f"{where}: expected 'WORD prob phones...', got {line.strip()!r}"
                    )
                try:
                    prob = float(rest[0])
                except ValueError:
                    raise ValueError(
                        f"{where}: pronunciation probability {rest[0]!r} is not a number"
                    ) from None
                if not 0.0 < prob <= 1.0:
                    raise ValueError(f"{where}: pronunciation probability {prob} is not in (0, 1]")
                rest = rest[1:]
            _check_entry(word, rest, seen, where)
            lexicon.add(word, rest, prob)
    return lexicon


def write_lexicon(lexicon: Lexicon, path: str | Path, with_probs: bool = False) -> None:
    """Write Kaldi ``lexicon.txt`` (or ``lexiconp.txt`` with ``with_probs``; missing
    probabilities are written as 1.0), atomically."""
    atomic_write_text(path, lexicon_text(lexicon, with_probs))


def lexicon_text(lexicon: Lexicon, with_probs: bool = False) -> str:
    lines = []
    for e in lexicon:
        if with_probs:
            prob = 1.0 if e.prob is None else e.prob
            lines.append(f"{e.word} {prob:g} {' '.join(e.phones)}".rstrip())
        else:
            lines.append(f"{e.word} {' '.join(e.phones)}".rstrip())
    return "".join(line + "\n" for line in lines)


def _check_entry(word: str, phones: list[str], seen: set, where: str) -> None:
    if not phones:
        raise ValueError(f"{where}: word {word!r} has no phones")
    key = (word, tuple(phones))
    if key in seen:
        raise ValueError(f"{where}: duplicate entry {word} {' '.join(phones)}")
    seen.add(key)


# ---------------------------------------------------------------- CMU / Sphinx .dic


def read_cmu_dict(path: str | Path, strip_stress: bool = False, uppercase: bool = False) -> Lexicon:
    """Read a CMU/Sphinx dictionary (``WORD(2)`` variants become entries of ``WORD``).

    ``strip_stress`` removes the stress digits of ARPAbet vowels (``AH0`` -> ``AH``),
    dropping variants that then coincide; ``uppercase`` upper-cases the words.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dictionary not found: {path}")
    with open(path, encoding="utf-8") as handle:
        return parse_cmu_dict(handle, str(path), strip_stress=strip_stress, uppercase=uppercase)


def parse_cmu_dict(
    lines: Iterable[str] | IO[str],
    name: str = "<dict>",
    strip_stress: bool = False,
    uppercase: bool = False,
    skip_duplicates: bool = False,
) -> Lexicon:
    """Parse CMU/Sphinx dictionary lines; ``name`` is used in error messages.

    ``skip_duplicates`` drops an entry identical to an earlier one instead of raising
    (CMUdict 0.7b has a few).
    """
    lexicon = Lexicon()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for lineno, line in enumerate(lines, 1):
        if line.startswith(";;;"):
            continue
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{name}:{lineno}"
        word = fields[0]
        match = _VARIANT.match(word)
        if match:
            word = match.group(1)
        if uppercase:
            word = word.upper()
        phones = fields[1:]
        if strip_stress:
            phones = [_STRESS.sub("", p) for p in phones]
        if (strip_stress or skip_duplicates) and (word, tuple(phones)) in seen:
            continue
        _check_entry(word, phones, seen, where)
        lexicon.add(word, phones)
    return lexicon


def write_cmu_dict(lexicon: Lexicon, path: str | Path) -> None:
    """Write a CMU/Sphinx dictionary: the second and later variants as ``WORD(2)`` ..."""
    counts: dict[str, int] = {}
    lines = []
    for e in lexicon:
        counts[e.word] = counts.get(e.word, 0) + 1
        name = e.word if counts[e.word] == 1 else f"{e.word}({counts[e.word]})"
        lines.append(f"{name} {' '.join(e.phones)}\n")
    atomic_write_text(path, "".join(lines))
