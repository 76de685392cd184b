"""Benchmark: our Kneser-Ney estimation and ARPA scoring against KenLM (lmplz, query).

Trains order-N models on the AN4 train transcripts (repeated ``--repeat`` times to make
the text larger), with ours and with lmplz when on PATH, and scores the AN4 test
transcripts with our scorer and with the kenlm module when installed. The last line is
one JSON object: times in seconds, the ratios ours/ref, and the largest difference of
log10 probabilities between the two models and of sentence scores between the scorers.

    python bench/lm.py --order 3 --repeat 20
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from asr.lm import (
    KenLM,
    estimate_kneser_ney,
    kenlm_available,
    lmplz_path,
    read_arpa,
    run_lmplz,
    write_arpa,
)

ETC = Path(__file__).resolve().parents[1] / "corpora" / "an4" / "etc"


def transcripts(name: str) -> list[list[str]]:
    out = []
    for line in (ETC / name).read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\s*\([^()]*\)\s*$", "", line)
        out.append([w for w in line.split() if w not in ("<s>", "</s>")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20, help="copies of the AN4 train text")
    args = parser.parse_args()

    train = transcripts("an4_train.transcription")
    # Repeat with a copy index appended to one word per copy, so the n-gram set grows too.
    text = [s + [f"X{i}"] for i in range(args.repeat) for s in train]
    test = transcripts("an4_test.transcription")
    result: dict = {"bench": "lm", "order": args.order, "sentences": len(text)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        model = estimate_kneser_ney(text, args.order)
        write_arpa(model, tmp / "ours.arpa")
        result["ours_train_s"] = round(time.perf_counter() - start, 3)
        result["ngrams"] = sum(model.counts)

        if lmplz_path():
            (tmp / "train.txt").write_text("".join(" ".join(s) + "\n" for s in text))
            start = time.perf_counter()
            run_lmplz(tmp / "train.txt", tmp / "ref.arpa", args.order, memory="256M")
            result["ref_train_s"] = round(time.perf_counter() - start, 3)
            result["train_ratio"] = round(result["ours_train_s"] / result["ref_train_s"], 2)
            ref = read_arpa(tmp / "ref.arpa")
            result["same_counts"] = ref.counts == model.counts
            result["max_abs_log10_diff"] = max(
                abs(ref.ngrams[k][ng][0] - model.ngrams[k][ng][0])
                for k in range(args.order)
                for ng in ref.ngrams[k]
                if ng != ("<s>",)
            )

        start = time.perf_counter()
        ours_scores = [model.score_sentence(s) for s in test]
        result["ours_score_s"] = round(time.perf_counter() - start, 4)
        if kenlm_available() and args.order > 1:
            kl = KenLM(tmp / "ours.arpa")
            start = time.perf_counter()
            ref_scores = [kl.score(s) for s in test]
            result["ref_score_s"] = round(time.perf_counter() - start, 4)
            result["score_ratio"] = round(
                result["ours_score_s"] / max(result["ref_score_s"], 1e-9), 1
            )
            result["max_abs_score_diff"] = max(abs(a - b) for a, b in zip(ours_scores, ref_scores))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
