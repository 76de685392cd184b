"""CTC prefix beam search speed and agreement vs flashlight-text's lexicon-free decoder.

Both decoders get the same CTC log-probabilities and the same beam (``--beam`` hypotheses,
``--beam`` candidate tokens per frame, no score threshold, no LM, paths merged by log-add).
The log-probabilities are synthetic but shaped like a trained model's: peaky posteriors
on a random BPE-like label sequence (1-3 frames per token, blanks between), with noise and
a confusable runner-up token. Real-time factor = decoding seconds / audio seconds, at
40 ms per frame (4x-subsampled 10 ms frames).

    python bench/decode_ctc.py [--utts 60] [--beam 10] [--vocab 300]

The last line is one JSON object:
``{"bench": "decode_ctc", "ours_rtf", "ref_rtf", "ratio", "agreement", ...}``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from asr.decode import FlashlightCTCDecoder, ctc_greedy_search, ctc_prefix_beam_search

FRAME_SHIFT = 0.04


def synthetic_log_probs(num_utts: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Peaky CTC posteriors ``(B, T, V)`` and lengths ``(B,)`` (frames of 40 ms)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(75, 375, (num_utts,), generator=gen)  # 3-15 s of audio
    frames = int(lengths.max())
    logits = torch.randn(num_utts, frames, vocab, generator=gen) * 1.5
    for b in range(num_utts):
        t = 0
        while t < int(lengths[b]):
            if torch.rand(1, generator=gen) < 0.35:  # a token, 1-3 frames long
                token = int(torch.randint(1, vocab - 1, (1,), generator=gen))
                rival = int(torch.randint(1, vocab - 1, (1,), generator=gen))
                span = int(torch.randint(1, 4, (1,), generator=gen))
                for s in range(t, min(t + span, int(lengths[b]))):
                    logits[b, s, token] += 9.0
                    logits[b, s, rival] += float(torch.rand(1, generator=gen)) * 8.0
                    logits[b, s, 0] += float(torch.rand(1, generator=gen)) * 6.0
                t += span
            else:
                logits[b, t, 0] += 10.0
                t += 1
    return logits.log_softmax(-1), lengths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utts", type=int, default=60)
    parser.add_argument("--beam", type=int, default=10)
    parser.add_argument("--vocab", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    log_probs, lengths = synthetic_log_probs(args.utts, args.vocab, args.seed)
    audio_seconds = float(lengths.sum()) * FRAME_SHIFT

    start = time.perf_counter()
    ours = ctc_prefix_beam_search(log_probs, lengths, beam_size=args.beam)
    ours_seconds = time.perf_counter() - start

    reference = FlashlightCTCDecoder(args.vocab, beam_size=args.beam)
    start = time.perf_counter()
    ref = reference(log_probs, lengths)
    ref_seconds = time.perf_counter() - start

    greedy = ctc_greedy_search(log_probs, lengths)
    agree = sum(o[0].tokens == r.tokens for o, r in zip(ours, ref)) / args.utts
    differ_from_greedy = sum(o[0].tokens != g.tokens for o, g in zip(ours, greedy)) / args.utts
    # Where the two disagree, whose hypothesis has the higher CTC probability (ours is the
    # prefix probability summed over all paths; flashlight keeps blank/label endings apart)?
    ours_better = 0
    for o, r, b, n in zip(ours, ref, range(args.utts), lengths.tolist()):
        if o[0].tokens != r.tokens:
            rescored = ctc_prefix_beam_search(log_probs[b: b + 1, :n], beam_size=4 * args.beam)
            scores = {tuple(h.tokens): h.score for h in rescored[0]}
            ours_better += scores.get(tuple(o[0].tokens), -1e9) >= scores.get(tuple(r.tokens),
                                                                              -1e9)
    print(f"{args.utts} utterances, {audio_seconds:.1f} s of audio, vocab {args.vocab}, "
          f"beam {args.beam}")
    print(f"ours (Python prefix beam search): {ours_seconds:.3f} s, "
          f"RTF {ours_seconds / audio_seconds:.5f}")
    print(f"flashlight-text LexiconFreeDecoder: {ref_seconds:.3f} s, "
          f"RTF {ref_seconds / audio_seconds:.5f}")
    print(f"same best hypothesis: {agree:.3f}; ours differs from greedy: "
          f"{differ_from_greedy:.3f}")
    print(json.dumps({
        "bench": "decode_ctc", "utts": args.utts, "beam": args.beam, "vocab": args.vocab,
        "audio_s": round(audio_seconds, 2),
        "ours_s": round(ours_seconds, 4), "ref_s": round(ref_seconds, 4),
        "ours_rtf": round(ours_seconds / audio_seconds, 6),
        "ref_rtf": round(ref_seconds / audio_seconds, 6),
        "ratio": round(ours_seconds / ref_seconds, 2),
        "agreement": round(agree, 4), "differs_from_greedy": round(differ_from_greedy, 4),
        "disagreements_where_ours_scores_higher": int(ours_better),
    }))


if __name__ == "__main__":
    main()
