"""WFST (HCLG) decoding speed at the chosen beam vs a wide beam (the reference).

Both searches use the same GMM log-likelihoods, graph and setting (LM weight, word
insertion penalty, e.g. the one tuned on dev); only the beam and max-active differ.
Reports the search real-time factor (search seconds / audio seconds, 10 ms frames),
the whole decode's RTF (features + GMM log-likelihoods + search), WER of each, and the
fraction of utterances whose hypotheses agree.

    python bench/decode_wfst.py --model recipes/an4/exp/mono --graph recipes/an4/exp/mono/graph \
        --data recipes/an4/data/test [--setting recipes/an4/exp/mono/decode_dev/best_setting.json]

The last line is one JSON object:
``{"bench": "decode_wfst", "ours_search_rtf", "ref_search_rtf", "ratio", "ours_wer", "ref_wer", ...}``.
"""

from __future__ import annotations

import argparse
import json

from asr.decode.gmm import FRAME_SHIFT, Setting, _prepare, decode_settings, read_setting
from asr.decode.wfst import DecoderConfig
from asr.scoring.kaldi_text import read_text
from asr.scoring.wer import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="recipes/an4/exp/mono")
    parser.add_argument("--graph", default="recipes/an4/exp/mono/graph")
    parser.add_argument("--data", default="recipes/an4/data/test")
    parser.add_argument("--setting", help="best_setting.json (default: LM weight 10, penalty 0)")
    parser.add_argument("--beam", type=float, default=13.0)
    parser.add_argument("--max-active", type=int, default=7000)
    parser.add_argument("--ref-beam", type=float, default=30.0)
    parser.add_argument("--ref-max-active", type=int, default=1_000_000)
    parser.add_argument("--max-utts", type=int)
    args = parser.parse_args()

    setting = read_setting(args.setting) if args.setting else Setting()
    am, hclg, words, lexicon, scores, timing = _prepare(args.model, args.graph, args.data,
                                                        args.max_utts)
    refs = read_text(f"{args.data}/text")
    refs = {u: refs[u] for u in scores}
    audio_s = FRAME_SHIFT * sum(x.shape[0] for x in scores.values())
    front_s = timing["features_s"] + timing["loglikes_s"]
    out = {}
    hyps = {}
    for name, beam, max_active in (("ours", args.beam, args.max_active),
                                   ("ref", args.ref_beam, args.ref_max_active)):
        cfg = DecoderConfig(beam=beam, max_active=max_active)
        h, times = decode_settings(am, hclg, words, lexicon, scores, [setting], cfg)
        hyps[name] = {u: " ".join(x.words) for u, x in h[setting].items()}
        search_s = times[setting]
        out[f"{name}_beam"] = beam
        out[f"{name}_search_rtf"] = search_s / audio_s
        out[f"{name}_rtf"] = (front_s + search_s) / audio_s
        out[f"{name}_wer"] = score(refs, hyps[name]).error_rate
        print(f"{name}: beam {beam:g}, max-active {max_active}: search {search_s:.2f} s, "
              f"search RTF {search_s / audio_s:.4f}, WER {100 * out[f'{name}_wer']:.2f}%")
    agree = sum(hyps["ours"][u] == hyps["ref"][u] for u in scores) / max(1, len(scores))
    print(f"{len(scores)} utterances, {audio_s:.1f} s of audio; features {timing['features_s']:.2f} s, "
          f"GMM log-likelihoods {timing['loglikes_s']:.2f} s")
    print(json.dumps({"bench": "decode_wfst", "utterances": len(scores), "audio_s": round(audio_s, 2),
                      "lm_weight": setting.lm_weight,
                      "word_insertion_penalty": setting.word_insertion_penalty,
                      **{k: round(v, 5) if isinstance(v, float) else v for k, v in out.items()},
                      "ratio": round(out["ours_search_rtf"] / max(out["ref_search_rtf"], 1e-12), 4),
                      "agreement": round(agree, 4)}))


if __name__ == "__main__":
    main()
