"""``prepare_lang``: a Kaldi-style lang directory from a lexicon (like ``utils/prepare_lang.sh``).

Files written under ``out_dir`` (each atomically)::

    phones.txt            <eps> 0, silence phones (bare + _B _E _I _S), non-silence phones
                          (_B _E _I _S), then #0 .. #N      (no markers when not position-dependent)
    words.txt             <eps> 0, the words sorted, then #0, <s>, </s>
    lexicon.txt           WORD phones...           (position markers applied)
    lexiconp.txt          WORD prob phones...
    lexicon_disambig.txt  WORD phones... [#n]      (see asr.lexicon.disambig)
    lexiconp_disambig.txt WORD prob phones... [#n]
    oov.txt, oov.int      the word that stands for out-of-vocabulary words, and its id
    phones/{silence,nonsilence,optional_silence,disambig,context_indep}.{txt,int,csl}
    phones/wdisambig.txt, wdisambig_phones.int, wdisambig_words.int   (#0)
    phones/word_boundary.{txt,int}   (position-dependent only:
                          PHONE begin|end|internal|singleton|nonword)
    phones/align_lexicon.{txt,int}   WORD WORD phones...
    phones/sets.{txt,int}, phones/roots.{txt,int}, phones/extra_questions.{txt,int}
                          phone sets for decision-tree building (one base phone's variants a line)

``N`` = the highest disambiguation symbol the lexicon needs + 1 (the extra one is for
the optional silence of L, as Kaldi does). The HMM topology is not written here
(see ``asr.hmm.topology``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from asr.lexicon.disambig import add_disambig_symbols
from asr.lexicon.lexicon import Lexicon, lexicon_text, read_lexicon
from asr.lexicon.phones import POSITIONS, PhoneSet, position_dependent_lexicon
from asr.text.symbols import SymbolTable
from asr.utils.io import atomic_write_text

RESERVED_WORDS = ("<eps>", "#0", "<s>", "</s>")


@dataclass
class Lang:
    """A lang directory in memory."""

    phones: SymbolTable
    words: SymbolTable
    lexicon: Lexicon  # with position markers when used, probabilities set
    lexicon_disambig: Lexicon
    phone_set: PhoneSet
    position_dependent: bool
    num_disambig: int  # disambiguation symbols are #0 .. #num_disambig
    oov_word: str

    @property
    def disambig_symbols(self) -> list[str]:
        return [f"#{i}" for i in range(self.num_disambig + 1)]


def prepare_lang(
    lexicon: Lexicon,
    out_dir: str | Path,
    position_dependent: bool = True,
    sil_phone: str = "SIL",
    oov_word: str = "<UNK>",
    silence_phones: Sequence[str] | None = None,
) -> Lang:
    """Write a lang directory for ``lexicon`` into ``out_dir`` and return it in memory.

    Args:
      lexicon: words with base phones (no position markers); may carry probabilities.
      position_dependent: add ``_B _I _E _S`` markers.
      sil_phone: the optional-silence phone; it is a silence phone.
      oov_word: the lexicon's word for out-of-vocabulary words (e.g. ``<UNK> SPN``).
      silence_phones: all silence phones; default ``sil_phone`` plus the phones of
        ``oov_word``'s pronunciations (e.g. ``SPN``).
    Raises:
      ValueError: ``oov_word`` not in the lexicon, a reserved word (``<eps> #0 <s> </s>``)
      in it, a phone name starting with ``#`` or already carrying a position marker.
    """
    if oov_word not in lexicon:
        raise ValueError(
            f"prepare_lang: OOV word {oov_word!r} is not in the lexicon (add e.g. '{oov_word} SPN')"
        )
    for word in lexicon.words():
        if word in RESERVED_WORDS:
            raise ValueError(f"prepare_lang: the lexicon contains the reserved word {word!r}")
    for phone in lexicon.phones():
        if position_dependent and len(phone) > 2 and phone[-2:] in POSITIONS:
            raise ValueError(
                f"prepare_lang: phone {phone!r} already ends in a word-position marker"
            )
    if silence_phones is None:
        silence_phones = [sil_phone] + [p for pron in lexicon.prons(oov_word) for p in pron]
    phone_set = PhoneSet.from_lexicon(lexicon, silence=silence_phones, optional_silence=sil_phone)

    final = position_dependent_lexicon(lexicon) if position_dependent else Lexicon(list(lexicon))
    final = final.with_probs()
    lexicon_disambig, max_disambig = add_disambig_symbols(final)
    num_disambig = max_disambig + 1

    phone_symbols = phone_set.all_symbols(position_dependent)
    phones = SymbolTable.from_symbols(
        ["<eps>", *phone_symbols, *(f"#{i}" for i in range(num_disambig + 1))]
    )
    words = SymbolTable.from_symbols(["<eps>", *sorted(set(lexicon.words())), "#0", "<s>", "</s>"])
    lang = Lang(
        phones,
        words,
        final,
        lexicon_disambig,
        phone_set,
        position_dependent,
        num_disambig,
        oov_word,
    )
    write_lang(lang, out_dir)
    return lang


def write_lang(lang: Lang, out_dir: str | Path) -> None:
    """Write every file of ``lang`` (see the module docstring) under ``out_dir``."""
    out = Path(out_dir)
    pd = lang.position_dependent
    ps = lang.phone_set
    lang.phones.write(out / "phones.txt")
    lang.words.write(out / "words.txt")
    atomic_write_text(out / "lexicon.txt", lexicon_text(lang.lexicon))
    atomic_write_text(out / "lexiconp.txt", lexicon_text(lang.lexicon, with_probs=True))
    atomic_write_text(out / "lexicon_disambig.txt", lexicon_text(lang.lexicon_disambig))
    atomic_write_text(
        out / "lexiconp_disambig.txt", lexicon_text(lang.lexicon_disambig, with_probs=True)
    )
    atomic_write_text(out / "oov.txt", lang.oov_word + "\n")
    atomic_write_text(out / "oov.int", f"{lang.words[lang.oov_word]}\n")

    silence = ps.silence_symbols(pd)
    lists = {
        "silence": silence,
        "nonsilence": ps.nonsilence_symbols(pd),
        "optional_silence": [ps.optional_silence] if ps.optional_silence else [],
        "disambig": lang.disambig_symbols,
        "context_indep": silence,
        "wdisambig": ["#0"],
    }
    phones_dir = out / "phones"
    for name, symbols in lists.items():
        _write_phone_list(phones_dir, name, symbols, lang.phones, csl=name != "wdisambig")
    atomic_write_text(phones_dir / "wdisambig_phones.int", f"{lang.phones['#0']}\n")
    atomic_write_text(phones_dir / "wdisambig_words.int", f"{lang.words['#0']}\n")

    sets = [ps.variants(p, pd) for p in [*ps.silence, *ps.nonsilence]]
    _write_lines(phones_dir, "sets", sets, lang.phones)
    roots = [["shared", "split", *s] for s in sets]  # Kaldi's default for every phone
    atomic_write_text(phones_dir / "roots.txt", "".join(" ".join(r) + "\n" for r in roots))
    atomic_write_text(
        phones_dir / "roots.int",
        "".join(" ".join(r[:2] + [str(lang.phones[p]) for p in r[2:]]) + "\n" for r in roots),
    )
    if pd:  # Kaldi: non-silence phones per marker, then silence phones bare and per marker
        questions = [[p + pos for p in ps.nonsilence] for pos in POSITIONS]
        questions += [[p + pos for p in ps.silence] for pos in ("", *POSITIONS)]
    else:
        questions = [list(ps.silence), list(ps.nonsilence)]
    _write_lines(phones_dir, "extra_questions", [q for q in questions if q], lang.phones)

    if pd:
        kinds = {"_B": "begin", "_E": "end", "_I": "internal", "_S": "singleton"}
        boundary = [
            (s, kinds.get(s[-2:], "nonword"))  # Kaldi: only bare phones are "nonword"
            for s in lang.phones.symbols
            if s != "<eps>" and not s.startswith("#")
        ]
        atomic_write_text(
            phones_dir / "word_boundary.txt", "".join(f"{s} {k}\n" for s, k in boundary)
        )
        atomic_write_text(
            phones_dir / "word_boundary.int",
            "".join(f"{lang.phones[s]} {k}\n" for s, k in boundary),
        )

    align = [(e.word, e.word, *e.phones) for e in lang.lexicon]
    atomic_write_text(phones_dir / "align_lexicon.txt", "".join(" ".join(a) + "\n" for a in align))
    atomic_write_text(
        phones_dir / "align_lexicon.int",
        "".join(
            " ".join(
                [
                    str(lang.words[a[0]]),
                    str(lang.words[a[1]]),
                    *(str(lang.phones[p]) for p in a[2:]),
                ]
            )
            + "\n"
            for a in align
        ),
    )


def _write_phone_list(
    directory: Path, name: str, symbols: list[str], table: SymbolTable, csl: bool
) -> None:
    atomic_write_text(directory / f"{name}.txt", "".join(s + "\n" for s in symbols))
    atomic_write_text(directory / f"{name}.int", "".join(f"{table[s]}\n" for s in symbols))
    if csl:
        atomic_write_text(
            directory / f"{name}.csl", ":".join(str(table[s]) for s in symbols) + "\n"
        )


def _write_lines(directory: Path, name: str, rows: Iterable[list[str]], table: SymbolTable) -> None:
    rows = list(rows)
    atomic_write_text(directory / f"{name}.txt", "".join(" ".join(r) + "\n" for r in rows))
    atomic_write_text(
        directory / f"{name}.int", "".join(" ".join(str(table[s]) for s in r) + "\n" for r in rows)
    )


def load_lang(lang_dir: str | Path) -> Lang:
    """Read back a lang directory written by ``prepare_lang``."""
    d = Path(lang_dir)
    for name in (
        "phones.txt",
        "words.txt",
        "lexiconp.txt",
        "lexiconp_disambig.txt",
        "oov.txt",
        "phones/silence.txt",
        "phones/nonsilence.txt",
        "phones/optional_silence.txt",
        "phones/disambig.txt",
    ):
        if not (d / name).is_file():
            raise FileNotFoundError(f"lang directory {d} has no {name}")
    phones = SymbolTable.read(d / "phones.txt")
    words = SymbolTable.read(d / "words.txt")
    lexicon = read_lexicon(d / "lexiconp.txt", with_probs=True)
    lexicon_disambig = read_lexicon(d / "lexiconp_disambig.txt", with_probs=True)
    silence = (d / "phones/silence.txt").read_text(encoding="utf-8").split()
    nonsilence = (d / "phones/nonsilence.txt").read_text(encoding="utf-8").split()
    optional = (d / "phones/optional_silence.txt").read_text(encoding="utf-8").split()
    disambig = (d / "phones/disambig.txt").read_text(encoding="utf-8").split()
    position_dependent = (d / "phones/word_boundary.txt").is_file()
    if position_dependent:
        base_sil = [s for s in silence if s[-2:] not in POSITIONS]
        base_nonsil = list(dict.fromkeys(s[:-2] for s in nonsilence))
    else:
        base_sil, base_nonsil = silence, nonsilence
    phone_set = PhoneSet(base_sil, base_nonsil, optional[0] if optional else None)
    oov = (d / "oov.txt").read_text(encoding="utf-8").strip()
    return Lang(
        phones,
        words,
        lexicon,
        lexicon_disambig,
        phone_set,
        position_dependent,
        len(disambig) - 1,
        oov,
    )
