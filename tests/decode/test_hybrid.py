"""Hybrid DNN-HMM decoding: scaled likelihoods through an HCLG graph.

1. A constructed graph (4 phones, 5 words) and a TDNN whose weights are set by hand
   so that its posteriors follow a known state sequence: the decoder returns the words
   that sequence spells.
2. Real AN4 audio end to end through the command lines: a tiny monophone system, its
   HCLG, a TDNN trained on its alignments (`train-hybrid`), dev tuning and a fixed-setting
   decode (`decode-hybrid`).
"""

import json

import pytest
import torch

from asr.decode.gmm import Setting, decode_settings
from asr.decode.hybrid import main as decode_main
from asr.decode.hybrid import transition_scores
from asr.decode.wfst import DecoderConfig
from asr.graph.hclg import make_graph, write_graph_dir
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel
from asr.lexicon.lexicon import Lexicon
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney
from asr.models import build_model
from asr.training.frame_classifier import FrontendConfig, HybridModel, estimate_priors

PHONES = ["SIL", "AH", "B", "K"]
LEXICON = Lexicon.from_pairs([("A", "AH"), ("AB", "AH B"), ("BACK", "B AH K"), ("BE", "B")])
LEXICON_MAP = {"A": [["AH"]], "AB": [["AH", "B"]], "BACK": [["B", "AH", "K"]], "BE": [["B"]]}


def one_hot_network(num_pdfs: int, margin: float = 8.0):
    """A one-layer TDNN (no context) whose logits are ``margin * x`` for one-hot ``x``."""
    net = build_model("tdnn", {"input_dim": num_pdfs, "num_pdfs": num_pdfs,
                               "hidden_dim": num_pdfs, "kernel_sizes": [1], "dilations": [1],
                               "dropout": 0.0})
    with torch.no_grad():
        conv, bn = net.layers[0], net.layers[2]
        conv.weight.copy_(torch.eye(num_pdfs)[:, :, None])
        conv.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
        net.output.weight.copy_(margin * torch.eye(num_pdfs))
        net.output.bias.zero_()
    return net.eval()


def path_pdfs(tm: TransitionModel, phones, frames_per_state: int = 3) -> torch.Tensor:
    return torch.tensor([int(tm.tuples[s, 2]) for p in phones for s in tm.phone_states(p)
                         for _ in range(frames_per_state)])


@pytest.mark.parametrize("phones, words", [
    (["SIL", "AH", "SIL", "B", "AH", "K", "SIL"], ["A", "BACK"]),
    (["B", "AH", "K", "AH", "B"], ["BACK", "AB"]),
])
def test_hybrid_scores_decode_to_the_expected_words(phones, words):
    tm = TransitionModel(PHONES, Topology(TopologyConfig(num_states=2, silence_num_states=1)))
    lm = estimate_kneser_ney([["A", "BACK"], ["AB"], ["BE", "A"], ["BACK", "AB"]], 2, unk=None,
                             discount_fallback=DEFAULT_FALLBACK)
    graph = make_graph(tm, LEXICON, lm)
    pdfs = path_pdfs(tm, phones)
    feats = torch.nn.functional.one_hot(pdfs, tm.num_pdfs).float()
    priors = estimate_priors({"u": pdfs}, tm.num_pdfs, floor=0.01)
    model = HybridModel(one_hot_network(tm.num_pdfs), priors.log().float(), FrontendConfig(), tm)

    scores = transition_scores(model, feats)
    assert scores.shape == (len(pdfs), tm.num_transition_ids)
    expected = model.scaled_loglikes(feats)[:, tm.tid_to_pdf()]
    assert torch.allclose(torch.from_numpy(scores), expected)
    # Column 2k and 2k+1 (self-loop and forward of transition state k) share pdf k's score.
    assert torch.equal(torch.from_numpy(scores[:, 0::2]), torch.from_numpy(scores[:, 1::2]))

    hyps, _ = decode_settings(model, graph.hclg, graph.words, LEXICON_MAP, {"u": scores},
                              [Setting(1.0, 0.0)], DecoderConfig(beam=20.0))
    hyp = hyps[Setting(1.0, 0.0)]["u"]
    assert hyp.words == words and hyp.reached_final
    assert [w for w, _, _ in hyp.segments] == words      # word timings from the alignment


# ---------------------------------------------------------------- real audio, CLI

TEST_UTTS = ["fcaw-an406-fcaw-b", "fcaw-cen3-fcaw-b", "fcaw-cen6-fcaw-b"]


@pytest.fixture(scope="module")
def system(an4_dir, tmp_path_factory):
    """A tiny mono system (40 train utterances) with graph, and a TDNN trained on it."""
    from asr.corpora.an4 import read_subset
    from asr.gmm.train_mono import MonoConfig, datadir_features, read_lexicon, train_mono
    from asr.lexicon.lexicon import read_cmu_dict
    from asr.training.frame_classifier import main as train_main

    root = tmp_path_factory.mktemp("hybrid_decode")
    train = read_subset(an4_dir, "train").first(40)
    train.save(root / "train")
    read_subset(an4_dir, "test").subset(TEST_UTTS).save(root / "test")
    feats, transcripts = datadir_features(root / "train")
    cfg = MonoConfig(num_iters=3, realign_iters=[1, 2], total_gauss=200, max_iter_inc=2)
    mono = train_mono(feats, transcripts, read_lexicon(an4_dir / "etc" / "an4.dic"), cfg,
                      root / "mono").model
    lm = estimate_kneser_ney([t.split() for t in train.text.values()], 2, unk=None,
                             discount_fallback=DEFAULT_FALLBACK)
    graph = make_graph(mono.transition_model, read_cmu_dict(an4_dir / "etc" / "an4.dic"), lm)
    write_graph_dir(graph, root / "mono" / "graph")
    assert train_main(["--data", str(root / "train"), "--ali-dir", str(root / "mono"),
                       "--out", str(root / "hybrid"), "max_epochs=1", "model.hidden_dim=32",
                       "progress_bar=false", "valid_fraction=0.2"]) == 0
    return root, graph


def test_train_hybrid_writes_the_experiment(system):
    root, _ = system
    exp = root / "hybrid"
    assert (exp / "final.pt").is_file() and (exp / "config.yaml").is_file()
    history = json.loads((exp / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1]


def test_tune_on_dev_then_decode_with_the_setting(system, capsys):
    root, graph = system
    model, graph_dir = str(root / "hybrid"), str(root / "mono" / "graph")
    dev_out = root / "hybrid" / "decode_dev"
    assert decode_main(["--model", model, "--graph", graph_dir, "--data", str(root / "test"),
                        "--out", str(dev_out), "--tune", "--lm-weights", "6 12",
                        "--penalties", "0 1", "--prior-scale", "0.8",
                        "--tune-by", "lattice"]) == 0
    assert json.loads((dev_out / "decode_info.json").read_text())["tune_by"] == "lattice"
    choice = json.loads((dev_out / "best_setting.json").read_text())
    assert set(choice["sweep"]) == {"lmwt6_wip0", "lmwt12_wip0", "lmwt6_wip1", "lmwt12_wip1"}
    assert choice["wer"] == min(choice["sweep"].values()) and choice["prior_scale"] == 0.8

    out = root / "hybrid" / "decode_test"
    assert decode_main(["--model", model, "--graph", graph_dir, "--data", str(root / "test"),
                        "--out", str(out), "--setting", str(dev_out / "best_setting.json")]) == 0
    hyps = dict((line.split(" ", 1) + [""])[:2] for line in (out / "text").read_text().splitlines())
    assert sorted(hyps) == sorted(TEST_UTTS)
    vocab = set(graph.words.symbols)
    assert all(w in vocab for h in hyps.values() for w in h.split())
    info = json.loads((out / "decode_info.json").read_text())
    assert info["settings"] == [{"lm_weight": choice["lm_weight"],
                                 "word_insertion_penalty": choice["word_insertion_penalty"]}]
    assert info["prior_scale"] == 0.8 and info["utterances"] == 3
    assert (out / "ctm").is_file()
    assert "decoded 3 utterances" in capsys.readouterr().out


def test_graph_of_another_system_is_refused(system, tmp_path):
    root, _ = system
    tm = TransitionModel(PHONES, Topology(TopologyConfig(num_states=2, silence_num_states=1)))
    lm = estimate_kneser_ney([["A"]], 1, unk=None, discount_fallback=DEFAULT_FALLBACK)
    write_graph_dir(make_graph(tm, LEXICON, lm), tmp_path / "graph")
    with pytest.raises(ValueError, match="transition ids"):
        decode_main(["--model", str(root / "hybrid"), "--graph", str(tmp_path / "graph"),
                     "--data", str(root / "test"), "--out", str(tmp_path / "out")])
