"""Decode a data dir with a trained system; writes OUT/text (Kaldi format).

The system type comes from the experiment dir: an end-to-end dir (config.yaml +
tokenizer/ from `asr train`) or a GMM dir (final.mdl + a graph). End-to-end decoding
options come from --decode-config (YAML, see conf/e2e/decode.yaml) and -o overrides.
Score the output with `asr score`.

Examples:
  asr decode --model exp/e2e --data data/test --out exp/e2e/decode_test
  asr decode --model exp/e2e --data data/dev --out exp/e2e/decode_dev -o method=ctc_greedy
  asr decode --model exp/e2e --data data/test --out exp/e2e_lm/decode_test \\
      -o method=ctc_prefix_beam -o lm=data/lm/3gram.arpa -o lm_weight=0.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

COMMAND = "decode"
HELP = "decode a data dir with a trained model (end-to-end or GMM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="experiment dir of the system")
    parser.add_argument("--data", required=True, help="data dir to decode")
    parser.add_argument("--out", required=True, help="decode dir (gets OUT/text)")
    parser.add_argument("--decode-config", help="YAML decoding options (end-to-end)")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override a decoding option, e.g. beam_size=20 (repeatable)")
    parser.add_argument("--model-file", help="model file (default: EXP/final.pt, else best checkpoint)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--nj", type=int, default=1,
                        help="CPU decoding processes of one thread each, sharing the "
                             "utterances (default 1)")


def run(args: argparse.Namespace) -> int:
    from asr.config import load_config, save_config
    from asr.decode import DecodeConfig
    from asr.decode.e2e import E2ERecognizer, decode_datadir, is_e2e_dir

    exp = Path(args.model)
    if not is_e2e_dir(exp):
        raise FileNotFoundError(f"{exp}: not an end-to-end experiment dir (config.yaml + "
                                "tokenizer/); GMM systems decode with their graph")
    config = load_config(DecodeConfig, args.decode_config, args.override)
    recognizer = E2ERecognizer(exp, config, model_file=args.model_file, device=args.device)
    texts = decode_datadir(recognizer, args.data, args.out, nj=args.nj)
    save_config(config, Path(args.out) / "decode.yaml")
    print(f"{args.out}/text: {len(texts)} utterances")
    return 0
