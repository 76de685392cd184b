"""Phone tokenizer: words -> phones through a pronunciation lexicon (CTC targets).

Ids follow :mod:`asr.text.tokenizer` so that the models and the trainer need not know
which tokenizer they got::

    0            <blank>     CTC blank
    1            <unk>       a word without a pronunciation (never in the HLG graph)
    2 .. V-2     phones      the lexicon's non-silence phones, sorted
    V-1          <sos/eos>   unused by a CTC-only model; kept for the shared layout

Rules:

- Phones are the lexicon's phones with word-position markers stripped (``AE_B`` ->
  ``AE``) and the silence phones (:data:`SILENCE_PHONES`: ``SIL``, ``SPN``, ``NSN`` and
  lower-case forms) left out: silence is no CTC target, the blank covers it.
- A word's target is its **first** pronunciation in lexicon order (a CTC target is one
  sequence; the HLG graph still accepts every pronunciation). Silence phones are dropped
  from it, so a filler such as ``<sil> SIL`` encodes to no phone at all.
- A word missing from the lexicon becomes ``<unk>`` (counted in ``num_unk``; with
  ``strict`` a ValueError names the word).

``save(dir)`` writes ``tokenizer.yaml``, ``tokens.txt`` and ``lexicon.txt`` (Kaldi format,
the pronunciations as given, markers stripped), so an experiment dir holds everything
needed to rebuild it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence

from asr.lexicon.lexicon import Lexicon, Pronunciation, lexicon_text
from asr.lexicon.phones import strip_word_position
from asr.text.symbols import SymbolTable
from asr.text.tokenizer import Tokenizer, TokenizerConfig

log = logging.getLogger(__name__)

LEXICON_FILE = "lexicon.txt"
SILENCE_PHONES = frozenset({"SIL", "SPN", "NSN", "sil", "spn", "nsn"})


def read_any_lexicon(path: str | Path) -> Lexicon:
    """A CMU ``.dic`` (variants ``WORD(2)``) or a Kaldi ``lexicon.txt``, markers stripped."""
    from asr.lexicon.lexicon import read_cmu_dict, read_lexicon

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lexicon {path} does not exist")
    lexicon = read_cmu_dict(path) if path.suffix == ".dic" else read_lexicon(path)
    return Lexicon([Pronunciation(e.word, tuple(strip_word_position(p) for p in e.phones),
                                  e.prob) for e in lexicon])


def lexicon_phones(lexicon: Lexicon) -> list[str]:
    """The CTC units of ``lexicon``: its phones minus :data:`SILENCE_PHONES`, sorted."""
    return [p for p in lexicon.phones() if p not in SILENCE_PHONES]


class PhoneTokenizer(Tokenizer):
    """Words -> phone ids through ``lexicon`` (see the module docstring)."""

    def __init__(self, config: TokenizerConfig, lexicon: Lexicon, phones: Sequence[str]):
        super().__init__(config, phones)
        self.lexicon = lexicon
        self._word2ids: dict[str, list[int]] = {}
        for word in lexicon.words():
            first = lexicon.prons(word)[0]
            kept = [p for p in first if p not in SILENCE_PHONES]
            unknown = [p for p in kept if p not in self.symbols]
            if unknown:
                raise ValueError(f"phone tokenizer: word {word!r} uses phones {unknown} "
                                 f"outside the phone set")
            self._word2ids[word] = [self.symbols.get_id(p) for p in kept]

    @classmethod
    def build(cls, config: TokenizerConfig) -> "PhoneTokenizer":
        """The tokenizer of ``config.lexicon`` (the transcripts are not needed)."""
        if not config.lexicon:
            raise ValueError("tokenizer kind 'phone' needs tokenizer.lexicon (a lexicon file)")
        lexicon = read_any_lexicon(config.lexicon)
        phones = lexicon_phones(lexicon)
        if not phones:
            raise ValueError(f"lexicon {config.lexicon} has no non-silence phone")
        return cls(config, lexicon, phones)

    @classmethod
    def load(cls, directory: str | Path, config: TokenizerConfig,
             table: SymbolTable) -> "PhoneTokenizer":
        """Read a tokenizer saved in ``directory`` (its ``lexicon.txt`` and ``tokens.txt``)."""
        from asr.lexicon.lexicon import read_lexicon
        from asr.text.tokenizer import BLANK, SOS_EOS, UNK

        directory = Path(directory)
        path = directory / LEXICON_FILE
        if not path.is_file():
            raise FileNotFoundError(f"phone tokenizer in {directory} lacks {path}")
        symbols = table.symbols
        if symbols[:2] != [BLANK, UNK] or symbols[-1] != SOS_EOS:
            raise ValueError(f"{directory / 'tokens.txt'}: expected {BLANK}, {UNK} first "
                             f"and {SOS_EOS} last")
        return cls(config, read_lexicon(path), symbols[2:-1])

    @property
    def phones(self) -> list[str]:
        """The phone units in id order (ids ``2 .. V-2``)."""
        return self._tokens[2:-1]

    def encode(self, text: str) -> list[int]:
        """Normalize ``text`` and return the phone ids of its words (no blank, no sos/eos)."""
        ids: list[int] = []
        for word in self.normalize(text).split():
            word_ids = self._word2ids.get(word)
            if word_ids is None:
                if self.config.strict:
                    raise ValueError(f"transcript {text!r}: word {word!r} is not in the lexicon")
                if self.num_unk == 0:
                    log.warning("word %r (in %r) is not in the lexicon: mapped to <unk>",
                                word, text)
                self.num_unk += 1
                ids.append(self.unk_id)
            else:
                ids.extend(word_ids)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> space-separated phones (blank and sos/eos skipped)."""
        skip = (self.blank_id, self.sos_id)
        return " ".join(self._tokens[int(i)] for i in ids if int(i) not in skip)

    def _save_model(self, directory: Path) -> None:
        from asr.utils.io import atomic_write_text

        atomic_write_text(directory / LEXICON_FILE, lexicon_text(self.lexicon))
