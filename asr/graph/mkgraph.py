"""``python -m asr.graph.mkgraph``: build HCLG for an acoustic model (Kaldi's ``mkgraph.sh``).

Inputs: the model (its transition model fixes the phones and transition ids), a
lexicon (a lang dir from ``prepare_lang`` with ``words.txt`` + ``lexiconp.txt``, or a
lexicon file: Kaldi ``lexicon.txt`` or CMU ``.dic``), and an LM (an ARPA file, or a
Kaldi ``text`` file to estimate a Kneser-Ney n-gram from, written to ``OUT/lm.arpa``).
Output: the graph dir of :mod:`asr.graph.hclg` (``HCLG.fst``, ``words.txt``, ...).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def estimate_lm_from_text(text_path: str | Path, order: int, out_arpa: str | Path):
    """Kneser-Ney ``order``-gram (closed vocabulary) from a Kaldi ``text`` file's
    transcripts (utterance ids dropped); written to ``out_arpa`` and returned."""
    from asr.lm.arpa import write_arpa
    from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney
    from asr.scoring.kaldi_text import read_text

    sentences = [t.split() for t in read_text(text_path).values() if t.split()]
    model = estimate_kneser_ney(sentences, order, unk=None, discount_fallback=DEFAULT_FALLBACK)
    write_arpa(model, out_arpa)
    return model


def load_lexicon_and_words(lang: str | None, lexicon: str | None):
    """``(Lexicon, words SymbolTable or None)`` from a lang dir or a lexicon file."""
    from asr.lexicon.lexicon import read_cmu_dict, read_lexicon
    from asr.text.symbols import SymbolTable

    if lang:
        d = Path(lang)
        for name in ("words.txt", "lexiconp.txt"):
            if not (d / name).is_file():
                raise FileNotFoundError(f"lang directory {d} has no {name}")
        return read_lexicon(d / "lexiconp.txt", with_probs=True), SymbolTable.read(d / "words.txt")
    path = Path(lexicon)
    if not path.is_file():
        raise FileNotFoundError(f"lexicon {path} does not exist")
    if path.suffix == ".dic":
        return read_cmu_dict(path), None
    return read_lexicon(path), None


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by the `asr` subcommand)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.graph.mkgraph",
            description="Build the decoding graph HCLG = H o C o L o G for a GMM-HMM model "
                        "(context-dependent when the model dir has a tree) and write a graph dir: HCLG.fst (OpenFst binary), "
                        "HCLG.txt (small graphs), words.txt, phones.txt, lexicon.txt, info.json.")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--lang", help="lang dir from prepare_lang (words.txt, lexiconp.txt), "
                                    "position-independent phones matching the model")
    src.add_argument("--lexicon", help="lexicon file: Kaldi lexicon.txt or CMU .dic")
    parser.add_argument("--model", required=True,
                        help="experiment dir with final.mdl (or the file); a 'tree' file beside "
                             "it makes a triphone graph")
    lm = parser.add_mutually_exclusive_group(required=True)
    lm.add_argument("--lm", help="ARPA language model (.arpa)")
    lm.add_argument("--lm-text", help="Kaldi text file to estimate a Kneser-Ney LM from "
                                      "(written to OUT/lm.arpa)")
    parser.add_argument("--lm-order", type=int, default=2, help="n-gram order with --lm-text")
    parser.add_argument("--out", required=True, help="graph dir, e.g. exp/mono/graph")
    parser.add_argument("--sil-prob", type=float, default=0.5, help="optional-silence probability")
    parser.add_argument("--sil-phone", default="SIL", help="optional-silence phone")
    parser.add_argument("--self-loop-scale", type=float, default=0.1,
                        help="scale on HMM transition log-probabilities")
    return parser


def run(args: argparse.Namespace) -> int:
    from asr.gmm.am import AcousticModel
    from asr.graph.hclg import GraphConfig, make_graph, write_graph_dir
    from asr.lm.arpa import read_arpa


    start = time.perf_counter()
    model_path = Path(args.model)
    model_path = model_path / "final.mdl" if model_path.is_dir() else model_path
    am = AcousticModel.load(model_path)
    tree = None
    if (model_path.parent / "tree").is_file():   # a tree-tied (triphone) model
        from asr.gmm.tree import ContextDependency

        tree = ContextDependency.load(model_path.parent / "tree")
    lexicon, words = load_lexicon_and_words(args.lang, args.lexicon)
    out = Path(args.out)
    if args.lm_text:
        arpa = estimate_lm_from_text(args.lm_text, args.lm_order, out / "lm.arpa")
        lm_source = str(out / "lm.arpa")
    else:
        arpa = read_arpa(args.lm)
        lm_source = args.lm
    config = GraphConfig(sil_phone=args.sil_phone, sil_prob=args.sil_prob,
                         self_loop_scale=args.self_loop_scale)
    graph = make_graph(am.transition_model, lexicon, arpa, words, config, tree)
    write_graph_dir(graph, out, {"model": str(model_path), "lm": lm_source,
                                 "build_s": round(time.perf_counter() - start, 2)})
    print(f"HCLG: {graph.info['num_states']} states, {graph.info['num_arcs']} arcs "
          f"-> {out / 'HCLG.fst'} ({time.perf_counter() - start:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
