"""N-gram language models: Kneser-Ney estimation, ARPA I/O, pruning, perplexity, G FST.

- ``estimate_kneser_ney(sentences, order)`` -> ``ArpaModel`` (``asr.lm.estimate``)
- ``read_arpa`` / ``write_arpa`` / ``perplexity`` (``asr.lm.arpa``)
- ``prune_relative_entropy`` (``asr.lm.prune``)
- ``arpa_to_fst_text`` / ``compile_g`` (``asr.lm.fst``)
- ``KenLM`` (``asr.lm.kenlm_model``), ``train_arpa`` / ``run_lmplz`` (``asr.lm.lmplz``)
"""

from asr.lm.arpa import ArpaModel, Perplexity, arpa_text, perplexity, read_arpa, write_arpa
from asr.lm.estimate import count_ngrams, estimate_kneser_ney
from asr.lm.fst import arpa_to_fst_text, compile_g
from asr.lm.kenlm_model import KenLM, kenlm_available
from asr.lm.lmplz import lmplz_path, read_sentences, run_lmplz, train_arpa
from asr.lm.prune import prune_relative_entropy, recompute_backoffs

__all__ = [
    "ArpaModel",
    "KenLM",
    "Perplexity",
    "arpa_text",
    "arpa_to_fst_text",
    "compile_g",
    "count_ngrams",
    "estimate_kneser_ney",
    "kenlm_available",
    "lmplz_path",
    "perplexity",
    "prune_relative_entropy",
    "read_arpa",
    "read_sentences",
    "recompute_backoffs",
    "run_lmplz",
    "train_arpa",
    "write_arpa",
]
