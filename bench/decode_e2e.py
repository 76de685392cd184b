"""Real-time factor of every end-to-end decoder on real audio, beside flashlight-text.

Loads a trained end-to-end experiment dir (default: the AN4 recipe's ``exp/e2e``),
computes features of the first ``--utts`` utterances of a data dir once, then times each
decoding method of :class:`asr.decode.DecodeConfig` over the same features, batch by
batch as ``asr decode`` runs them (encoder included). The reference is flashlight-text's
lexicon-free CTC beam search at the same beam on the same CTC log-probabilities (the
encoder time is added to it so both columns cover the same work). WER against the data
dir's transcripts is printed beside each time.

    python bench/decode_e2e.py [--model recipes/an4/exp/e2e] [--data recipes/an4/data/test]
                               [--utts 60] [--beam 10] [--threads 1]

Real-time factor = decoding seconds / audio seconds. The last line is one JSON object
``{"bench": "decode_e2e", "methods": {name: {"rtf", "wer"}}, "ref_rtf", "ratio", ...}``
where ``ratio`` is our CTC prefix beam search RTF over flashlight-text's, and
``decoder_cache_speedup`` the RTF of the attention search without the decoder's
key/value cache over the RTF with it (same hypotheses).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.data import DataDir  # noqa: E402
from asr.decode import (METHODS, DecodeConfig, FlashlightCTCDecoder,  # noqa: E402
                        attention_beam_search, decode_batch)
from asr.decode.e2e import E2ERecognizer  # noqa: E402
from asr.scoring.wer import word_error_rate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def batches(feats, batch_size: int):
    """Padded ``(B, T, F)`` batches and lengths ``(B,)`` of consecutive utterances."""
    for i in range(0, len(feats), batch_size):
        chunk = feats[i:i + batch_size]
        lens = torch.tensor([f.shape[0] for f in chunk])
        padded = torch.zeros(len(chunk), int(lens.max()), chunk[0].shape[1])
        for row, f in enumerate(chunk):
            padded[row, :f.shape[0]] = torch.from_numpy(f)
        yield padded, lens


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(REPO / "recipes/an4/exp/e2e"))
    p.add_argument("--data", default=str(REPO / "recipes/an4/data/test"))
    p.add_argument("--utts", type=int, default=60)
    p.add_argument("--beam", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    rec = E2ERecognizer(args.model, device="cpu")
    data = DataDir.load(args.data)
    data = data.first(args.utts)
    feats = rec.datadir_features(data)
    audio_s = sum(f.shape[0] for f in feats) * 0.01
    refs = {u: data.text[u] for u in data.utterances}

    results = {}
    config_attention = DecodeConfig(method="attention", beam_size=args.beam)
    for method in METHODS:
        config = DecodeConfig(method=method, beam_size=args.beam)
        hyps, start = [], time.perf_counter()
        for x, lens in batches(feats, args.batch_size):
            hyps.extend(decode_batch(rec.model, x, lens, config, rec.tokenizer))
        seconds = time.perf_counter() - start
        wer = word_error_rate(refs, dict(zip(refs, (h.text for h in hyps)))) * 100
        results[method] = {"rtf": round(seconds / audio_s, 5), "wer": round(wer, 2)}
        print(f"{method:20s} RTF {seconds / audio_s:.4f}  WER {wer:.2f}%", flush=True)

    # The attention search again without the decoder's key/value cache (every prefix
    # recomputed at every step): what the cache saves.
    hyps, start = [], time.perf_counter()
    for x, lens in batches(feats, args.batch_size):
        with torch.no_grad():
            nbests = attention_beam_search(
                rec.model, x, lens, beam_size=args.beam, ctc_weight=config_attention.ctc_weight,
                length_penalty=config_attention.length_penalty, tokenizer=rec.tokenizer,
                decoder_cache=False)
        hyps.extend(n[0].text if n else "" for n in nbests)
    seconds = time.perf_counter() - start
    wer = word_error_rate(refs, dict(zip(refs, hyps)))
    uncached = {"rtf": round(seconds / audio_s, 5), "wer": round(wer * 100, 2)}
    print(f"{'attention, no cache':20s} RTF {uncached['rtf']:.4f}  WER {uncached['wer']:.2f}%",
          flush=True)

    # Reference: flashlight-text on the same CTC log-probabilities, encoder time included.
    flashlight = FlashlightCTCDecoder(rec.model.config.vocab_size, beam_size=args.beam,
                                      blank=rec.model.blank_id)
    hyps, encode_s, search_s = [], 0.0, 0.0
    with torch.no_grad():
        for x, lens in batches(feats, args.batch_size):
            t0 = time.perf_counter()
            enc, enc_lens = rec.model.encode(x, lens)
            log_probs = rec.model.ctc_log_probs(enc)
            t1 = time.perf_counter()
            hyps.extend(flashlight(log_probs, enc_lens, rec.tokenizer))
            encode_s += t1 - t0
            search_s += time.perf_counter() - t1
    ref_rtf = (encode_s + search_s) / audio_s
    ref_wer = word_error_rate(refs, dict(zip(refs, (h.text for h in hyps)))) * 100
    print(f"{'flashlight (ref)':20s} RTF {ref_rtf:.4f}  WER {ref_wer:.2f}%  "
          f"(encoder {encode_s / audio_s:.4f}, search {search_s / audio_s:.4f})")
    ratio = results["ctc_prefix_beam"]["rtf"] / ref_rtf
    print(json.dumps({"bench": "decode_e2e", "model": args.model, "utts": len(feats),
                      "audio_s": round(audio_s, 2), "beam": args.beam, "threads": args.threads,
                      "methods": results, "ref": "flashlight-text LexiconFreeDecoder",
                      "ref_rtf": round(ref_rtf, 5), "ref_wer": round(ref_wer, 2),
                      "encoder_rtf": round(encode_s / audio_s, 5), "ratio": round(ratio, 3),
                      "attention_no_cache": uncached,
                      "decoder_cache_speedup": round(uncached["rtf"] / results["attention"]["rtf"],
                                                     2)}))


if __name__ == "__main__":
    main()
