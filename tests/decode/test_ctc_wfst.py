"""CTC decoding over HLG: constructed posteriorgrams through a small lexicon + LM graph,
and the `asr train` -> `asr mkgraph-ctc` -> `asr decode-ctc-hlg` chain on real AN4 audio."""

import json

import numpy as np
import pytest

from asr.decode.ctc_wfst import apply_blank_penalty, decode_settings
from asr.decode.gmm import Setting
from asr.graph.ctc_topo import make_hlg
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney
from asr.text import TokenizerConfig, build_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    lex = tmp_path_factory.mktemp("lex") / "lexicon.txt"
    lex.write_text("YES Y EH S\nYET Y EH T\nNO N OW\n")
    return build_tokenizer(TokenizerConfig(kind="phone", lexicon=str(lex)), [])


def _graph(tokenizer, sentences):
    arpa = estimate_kneser_ney([s.split() for s in sentences], 2, unk=None,
                               discount_fallback=DEFAULT_FALLBACK)
    return make_hlg(tokenizer.tokens, tokenizer.lexicon, arpa)


def _posteriorgram(tokenizer, frames, p=0.9):
    """``frames``: per frame a token string or {token: prob}; the rest of the mass is
    spread over the other tokens. Returns ``(T, V)`` log-probabilities."""
    v = tokenizer.vocab_size
    x = np.zeros((len(frames), v), np.float64)
    for t, f in enumerate(frames):
        probs = {f: p} if isinstance(f, str) else f
        rest = (1.0 - sum(probs.values())) / (v - len(probs))
        x[t] = rest
        for tok, q in probs.items():
            x[t, tokenizer.symbols[tok]] = q
    return np.log(x).astype(np.float32)


def _decode(graph, scores, lm_weight=1.0, wip=0.0):
    setting = Setting(lm_weight, wip)
    hyps, _ = decode_settings(graph.hlg, graph.words, scores, [setting])
    return hyps[setting]


def test_hlg_decodes_a_constructed_posteriorgram(tokenizer):
    graph = _graph(tokenizer, ["YES NO", "NO YES", "NO NO", "YES YET"])
    b = "<blank>"
    frames = {
        "no_yes": [b, "N", "N", b, "OW", b, b, "Y", "EH", "EH", "S", b],
        "no_no": [b, "N", "OW", "OW", b, "N", "OW", b],          # N OW | N OW
        "yet": [b, "Y", "Y", "EH", b, "T", b],
    }
    scores = {u: _posteriorgram(tokenizer, f) for u, f in frames.items()}
    assert _decode(graph, scores) == {"no_yes": ["NO", "YES"], "no_no": ["NO", "NO"],
                                      "yet": ["YET"]}


def test_lm_weight_decides_between_close_words(tokenizer):
    # S and T nearly tie; after NO the LM has seen YES many times and YET never.
    graph = _graph(tokenizer, ["NO YES"] * 6 + ["YET"])
    b = "<blank>"
    frames = [b, "N", "OW", b, "Y", "EH", {"S": 0.4, "T": 0.5}, b]
    scores = {"u": _posteriorgram(tokenizer, frames)}
    assert _decode(graph, scores, lm_weight=0.05)["u"] == ["NO", "YET"]
    assert _decode(graph, scores, lm_weight=1.0)["u"] == ["NO", "YES"]


def test_blank_penalty_lowers_only_the_blank():
    x = np.log(np.full((3, 4), 0.25, np.float32))
    y = apply_blank_penalty(x, 2.0)
    assert np.allclose(y[:, 0], x[:, 0] - 2.0) and np.array_equal(y[:, 1:], x[:, 1:])
    assert apply_blank_penalty(x, 0.0) is x


TINY = [
    "model.d_model=32", "model.n_heads=2", "model.ff_dim=64", "model.num_blocks=1",
    "model.subsampling_channels=8", "data.num_mel_bins=40", "data.max_duration=1000",
    "trainer.epochs=1", "trainer.log_every_steps=1000", "trainer.progress_bar=false",
    "specaugment.num_freq_masks=0", "specaugment.num_time_masks=0",
]


def test_train_mkgraph_decode_chain(tmp_path, an4_data, an4_dir):
    """The CLI chain with a phone tokenizer (an untrained model: checks files, formats
    and the token check, not accuracy)."""
    from asr.bin.main import main
    from asr.data import DataDir

    train = DataDir.load(an4_data["train"])
    short = sorted(train.utterances, key=lambda u: train.utt2dur[u])[:4]
    train.subset(short).save(tmp_path / "data")
    exp = tmp_path / "exp"
    args = ["train", "--config", "conf/ctc_phone/an4.yaml", "--train", str(tmp_path / "data"),
            "--exp-dir", str(exp), "-o", f"tokenizer.lexicon={an4_dir / 'etc' / 'an4.dic'}"]
    for item in TINY:
        args += ["-o", item]
    assert main(args) == 0
    assert (exp / "tokenizer" / "lexicon.txt").is_file()
    graph = exp / "graph"
    assert main(["mkgraph-ctc", "--model", str(exp), "--lm-text", str(tmp_path / "data" / "text"),
                 "--out", str(graph)]) == 0
    assert (graph / "HLG.fst").is_file() and (graph / "lm.arpa").is_file()
    dev = exp / "decode_dev"
    assert main(["decode-ctc-hlg", "--model", str(exp), "--graph", str(graph),
                 "--data", str(tmp_path / "data"), "--out", str(dev), "--tune",
                 "--lm-weights", "0.5 1", "--penalties", "0 1"]) == 0
    best = json.loads((dev / "best_setting.json").read_text())
    assert set(best["sweep"]) == {"lmwt0.5_wip0", "lmwt1_wip0", "lmwt0.5_wip1", "lmwt1_wip1"}
    assert best["wer"] == min(best["sweep"].values())
    hyp_ids = [line.split()[0] for line in (dev / "text").read_text().splitlines()]
    assert hyp_ids == sorted(short)
    test = exp / "decode_test"
    assert main(["decode-ctc-hlg", "--model", str(exp), "--graph", str(graph),
                 "--data", str(tmp_path / "data"), "--out", str(test),
                 "--setting", str(dev / "best_setting.json")]) == 0
    info = json.loads((test / "decode_info.json").read_text())
    assert info["settings"] == [{"lm_weight": best["lm_weight"],
                                 "word_insertion_penalty": best["word_insertion_penalty"]}]
    assert info["utterances"] == 4 and info["rtf"] > 0
    assert main(["score", "--ref", str(tmp_path / "data" / "text"),
                 "--hyp", str(test / "text"), "--bootstrap", "0"]) == 0
    assert (test / "result.json").is_file()
    # a graph built for other tokens is refused, naming tokens.txt
    (graph / "tokens.txt").write_text("<blank> 0\nX 1\n")
    assert main(["decode-ctc-hlg", "--model", str(exp), "--graph", str(graph),
                 "--data", str(tmp_path / "data"), "--out", str(tmp_path / "bad")]) == 1
