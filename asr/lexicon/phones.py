"""Phone sets: silence / non-silence phones and word-position markers (Kaldi's ``_B _I _E _S``).

With position-dependent phones every phone of a pronunciation is marked with its place
in the word: ``_B`` (begin), ``_I`` (inside), ``_E`` (end), ``_S`` (singleton, a
one-phone word). ``AE N D`` becomes ``AE_B N_I D_E``; ``AH`` becomes ``AH_S``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from asr.lexicon.lexicon import Lexicon, Pronunciation

POSITIONS = ("_B", "_E", "_I", "_S")  # Kaldi's order in phones.txt


def add_word_positions(phones: Sequence[str]) -> tuple[str, ...]:
    """Mark a word's phones with ``_B _I _E`` (or ``_S`` for a single phone)."""
    if not phones:
        return ()
    if len(phones) == 1:
        return (phones[0] + "_S",)
    return (phones[0] + "_B", *(p + "_I" for p in phones[1:-1]), phones[-1] + "_E")


def strip_word_position(phone: str) -> str:
    """``AE_B`` -> ``AE``; a phone without a marker is returned as is."""
    if len(phone) > 2 and phone[-2:] in POSITIONS:
        return phone[:-2]
    return phone


def position_dependent_lexicon(lexicon: Lexicon) -> Lexicon:
    """A copy of ``lexicon`` with word-position markers on every phone."""
    return Lexicon([Pronunciation(e.word, add_word_positions(e.phones), e.prob) for e in lexicon])


@dataclass
class PhoneSet:
    """The base phones of a language: silence phones (e.g. ``SIL``, ``SPN``) first.

    ``optional_silence`` is the phone L may insert between words (Kaldi's
    ``optional_silence.txt``); it must be a silence phone.
    """

    silence: list[str] = field(default_factory=lambda: ["SIL"])
    nonsilence: list[str] = field(default_factory=list)
    optional_silence: str | None = "SIL"

    def __post_init__(self) -> None:
        overlap = set(self.silence) & set(self.nonsilence)
        if overlap:
            raise ValueError(f"phones both silence and non-silence: {sorted(overlap)}")
        if self.optional_silence is not None and self.optional_silence not in self.silence:
            raise ValueError(
                f"optional silence {self.optional_silence!r} is not a silence phone {self.silence}"
            )
        for phone in [*self.silence, *self.nonsilence]:
            if (
                not phone
                or phone.startswith("#")
                or phone in ("<eps>",)
                or any(c.isspace() for c in phone)
            ):
                raise ValueError(f"invalid phone name {phone!r}")

    @classmethod
    def from_lexicon(
        cls,
        lexicon: Lexicon,
        silence: Iterable[str] = ("SIL",),
        optional_silence: str | None = "SIL",
    ) -> "PhoneSet":
        """Silence phones as given; every other phone of ``lexicon`` is non-silence (sorted)."""
        silence = list(dict.fromkeys(silence))
        nonsilence = [p for p in lexicon.phones() if p not in silence]
        return cls(silence, nonsilence, optional_silence)

    def variants(self, phone: str, position_dependent: bool) -> list[str]:
        """The phones.txt symbols of a base phone: silence phones keep the bare one too."""
        if not position_dependent:
            return [phone]
        marked = [phone + pos for pos in POSITIONS]
        return [phone, *marked] if phone in self.silence else marked

    def silence_symbols(self, position_dependent: bool) -> list[str]:
        return [v for p in self.silence for v in self.variants(p, position_dependent)]

    def nonsilence_symbols(self, position_dependent: bool) -> list[str]:
        return [v for p in self.nonsilence for v in self.variants(p, position_dependent)]

    def all_symbols(self, position_dependent: bool) -> list[str]:
        """Every phone symbol, silence first, in Kaldi's ``phones.txt`` order."""
        return self.silence_symbols(position_dependent) + self.nonsilence_symbols(
            position_dependent
        )
