"""Choose end-to-end decoding settings on a dev set (never on test).

Decodes DATA once per candidate (each candidate is a comma-separated list of
decoding overrides), scores each against DATA/text and writes OUT/summary.json (WER
per candidate) and OUT/best.yaml (the winning decoding config) for
`asr decode --decode-config OUT/best.yaml`. Ties go to the earlier candidate. A winner
at the end of a numeric range it was tried over is logged and listed in summary.json
(``edges``: ``["lm_weight=min"]``). With
--best-out DIR the winner's hypotheses are also written as `asr decode` writes them
(DIR/text, DIR/decode.yaml), so the dev set need not be decoded again.

Example:
  asr tune --model exp/e2e --data data/dev --out exp/e2e/tune_dev \\
      -c method=attention -c method=attention_rescoring -c method=ctc_prefix_beam,beam_size=20
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

COMMAND = "tune"
HELP = "pick end-to-end decoding settings by WER on a dev set"

log = logging.getLogger("asr.tune")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="end-to-end experiment dir")
    parser.add_argument("--data", required=True, help="dev data dir (with text)")
    parser.add_argument("--out", required=True, help="where summary.json and best.yaml go")
    parser.add_argument("--decode-config", help="base decoding YAML the candidates modify")
    parser.add_argument("-c", "--candidate", action="append", required=True,
                        metavar="K=V[,K=V...]", help="one candidate setting (repeatable)")
    parser.add_argument("--device", help="cpu or cuda")
    parser.add_argument("--nj", type=int, default=1,
                        help="CPU decoding processes of one thread each, sharing the "
                             "utterances of every candidate (default 1)")
    parser.add_argument("--best-out", metavar="DIR",
                        help="also write the best candidate's DIR/text and DIR/decode.yaml, "
                             "as `asr decode` would (e.g. exp/e2e/decode_dev)")


def candidate_edges(candidates: list[str], best: int) -> list[str]:
    """The numeric settings on which candidate ``best`` sits at the end of the range
    tried: a key set in every candidate, with number values of which more than one was
    tried, where the winner's value is the largest or smallest (``"lm_weight=min"``).
    A winner on an edge says a value beyond the range may do better."""
    from asr.utils import range_edge

    parsed = [dict(item.split("=", 1) for item in c.split(",") if "=" in item)
              for c in candidates]
    edges = []
    for key in parsed[best]:
        try:
            values = [float(p[key]) for p in parsed]
        except (KeyError, ValueError):  # not in every candidate, or not a number
            continue
        edge = range_edge(values[best], values)
        if edge:
            edges.append(f"{key}={edge}")
    return edges


def run(args: argparse.Namespace) -> int:
    from asr.config import load_config, save_config, to_dict
    from asr.data import DataDir
    from asr.decode import DecodeConfig, load_lm
    from asr.decode.e2e import E2ERecognizer
    from asr.scoring.wer import score
    from asr.utils.io import atomic_write_text

    data = DataDir.load(args.data)
    data.validate(name=args.data)
    recognizer = None
    feats = None
    rows = []
    for candidate in args.candidate:
        overrides = [item for item in candidate.split(",") if item]
        config = load_config(DecodeConfig, args.decode_config, overrides)
        if recognizer is None:
            recognizer = E2ERecognizer(args.model, config, device=args.device)
            feats = recognizer.datadir_features(data)
        else:
            recognizer.decode_config = config
            recognizer.lm = load_lm(config)
        hyps = recognizer.recognize_features(feats, nj=args.nj)
        result = score(data.text, {u: h.text for u, h in zip(data.utterances, hyps)})
        wer = 100.0 * result.error_rate
        log.info("%s: WER %.2f%% on %s", candidate, wer, args.data)
        rows.append({"candidate": candidate, "wer": round(wer, 4), "config": config,
                     "texts": {u: h.text for u, h in zip(data.utterances, hyps)}})
    best = min(rows, key=lambda r: r["wer"])  # min keeps the first of equal values
    edges = candidate_edges(args.candidate, rows.index(best))
    if edges:
        log.warning("the best candidate %s is at the end of the range tried (%s): a value "
                    "beyond it may do better", best["candidate"], ", ".join(edges))
    out = Path(args.out)
    summary = [{"candidate": row["candidate"], "wer": row["wer"],
                "config": to_dict(row["config"])} for row in rows]
    atomic_write_text(out / "summary.json", json.dumps(
        {"data": str(args.data), "candidates": summary, "best": best["candidate"],
         "edges": edges}, indent=2) + "\n")
    save_config(best["config"], out / "best.yaml")
    if args.best_out:
        atomic_write_text(Path(args.best_out) / "text", "".join(
            f"{u} {t}".rstrip() + "\n" for u, t in best["texts"].items()))
        save_config(best["config"], Path(args.best_out) / "decode.yaml")
    for row in rows:
        print(f"{row['wer']:7.2f}  {row['candidate']}{'   <- best' if row is best else ''}")
    return 0
