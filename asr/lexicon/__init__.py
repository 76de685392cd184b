"""Lexicons, phone sets, disambiguation symbols and Kaldi-style lang directories.

- ``Lexicon``, ``read_lexicon`` / ``write_lexicon`` (Kaldi), ``read_cmu_dict`` /
  ``write_cmu_dict`` (CMU/Sphinx ``.dic``)  (``asr.lexicon.lexicon``)
- ``PhoneSet``, ``add_word_positions`` (``asr.lexicon.phones``)
- ``add_disambig_symbols`` (``asr.lexicon.disambig``)
- ``prepare_lang`` / ``load_lang`` (``asr.lexicon.lang``)
- ``an4_lexicon`` (``asr.lexicon.an4``), ``load_cmudict`` (``asr.lexicon.cmudict``)
- ``find_oov`` / ``map_oov`` (``asr.lexicon.oov``)
- ``G2P`` (joint-sequence graphone n-gram) / ``evaluate_g2p`` (``asr.lexicon.g2p``)
"""

from asr.lexicon.an4 import an4_lexicon
from asr.lexicon.cmudict import load_cmudict
from asr.lexicon.disambig import add_disambig_symbols
from asr.lexicon.g2p import G2P, evaluate_g2p
from asr.lexicon.lang import Lang, load_lang, prepare_lang
from asr.lexicon.lexicon import (
    Lexicon,
    Pronunciation,
    parse_cmu_dict,
    read_cmu_dict,
    read_lexicon,
    write_cmu_dict,
    write_lexicon,
)
from asr.lexicon.oov import find_oov, map_oov, oov_rate
from asr.lexicon.phones import (
    PhoneSet,
    add_word_positions,
    position_dependent_lexicon,
    strip_word_position,
)

__all__ = [
    "G2P",
    "Lang",
    "Lexicon",
    "PhoneSet",
    "Pronunciation",
    "add_disambig_symbols",
    "add_word_positions",
    "an4_lexicon",
    "evaluate_g2p",
    "find_oov",
    "load_cmudict",
    "load_lang",
    "map_oov",
    "oov_rate",
    "parse_cmu_dict",
    "position_dependent_lexicon",
    "prepare_lang",
    "read_cmu_dict",
    "read_lexicon",
    "strip_word_position",
    "write_cmu_dict",
    "write_lexicon",
]
