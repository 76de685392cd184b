"""Build HLG = H o L o G for a CTC model (asr/graph/ctc_topo.py).

Inputs: the experiment dir of `asr train` (its tokenizer/ fixes the tokens; a phone
tokenizer), a lexicon (Kaldi lexicon.txt or CMU .dic; default: the tokenizer's own
lexicon.txt), and an LM (an ARPA file, or a Kaldi text file to estimate a Kneser-Ney
n-gram from, written to OUT/lm.arpa). Output: OUT/HLG.fst, words.txt, tokens.txt,
phones.txt, lexicon.txt, info.json.

Example:
  asr mkgraph-ctc --model exp/phone_ctc --lm-text data/train/text --lm-order 2 \\
    --out exp/phone_ctc/graph
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

COMMAND = "mkgraph-ctc"
HELP = "build the HLG decoding graph of a CTC model (CTC topology + lexicon + n-gram LM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True,
                        help="experiment dir of `asr train` (reads MODEL/tokenizer), or a "
                             "tokenizer dir")
    parser.add_argument("--lexicon", help="lexicon file: Kaldi lexicon.txt or CMU .dic "
                                          "(default: the tokenizer's lexicon.txt)")
    lm = parser.add_mutually_exclusive_group(required=True)
    lm.add_argument("--lm", help="ARPA language model (.arpa)")
    lm.add_argument("--lm-text", help="Kaldi text file to estimate a Kneser-Ney LM from "
                                      "(written to OUT/lm.arpa)")
    parser.add_argument("--lm-order", type=int, default=2, help="n-gram order with --lm-text")
    parser.add_argument("--out", required=True, help="graph dir, e.g. exp/phone_ctc/graph")


def run(args: argparse.Namespace) -> int:
    from asr.graph.ctc_topo import make_hlg, write_hlg_dir
    from asr.graph.mkgraph import estimate_lm_from_text
    from asr.lm.arpa import read_arpa
    from asr.text.phone_tokenizer import LEXICON_FILE, read_any_lexicon
    from asr.text.tokenizer import load_tokenizer

    start = time.perf_counter()
    model = Path(args.model)
    tok_dir = model / "tokenizer" if (model / "tokenizer").is_dir() else model
    tokenizer = load_tokenizer(tok_dir)
    lexicon_path = Path(args.lexicon) if args.lexicon else tok_dir / LEXICON_FILE
    if not lexicon_path.is_file():
        raise FileNotFoundError(f"lexicon {lexicon_path} does not exist (the tokenizer in "
                                f"{tok_dir} is no phone tokenizer? give --lexicon)")
    lexicon = read_any_lexicon(lexicon_path)
    out = Path(args.out)
    if args.lm_text:
        if not Path(args.lm_text).is_file():
            raise FileNotFoundError(f"LM text {args.lm_text} does not exist")
        arpa = estimate_lm_from_text(args.lm_text, args.lm_order, out / "lm.arpa")
        lm_source = str(out / "lm.arpa")
    else:
        if not Path(args.lm).is_file():
            raise FileNotFoundError(f"ARPA LM {args.lm} does not exist")
        arpa = read_arpa(args.lm)
        lm_source = args.lm
    graph = make_hlg(tokenizer.tokens, lexicon, arpa)
    write_hlg_dir(graph, out, {"model": str(model), "lexicon": str(lexicon_path),
                               "lm": lm_source, "build_s": round(time.perf_counter() - start, 2)})
    print(f"HLG: {graph.info['num_states']} states, {graph.info['num_arcs']} arcs "
          f"-> {out / 'HLG.fst'} ({time.perf_counter() - start:.1f} s)")
    return 0
