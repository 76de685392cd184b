"""Decoding with LDA+MLLT and SAT (two-pass fMLLR) systems on real AN4 audio: tiny
systems trained here (45 train utterances, the monophone trainer), HCLG with a bigram
of the AN4 train transcripts, three held-out test utterances of one speaker."""

import json

import pytest
import torch

from asr.corpora.an4 import read_subset
from asr.bin.main import main
from asr.decode.gmm_sat import decode_datadir_sat, load_system
from asr.features.functional import compute_deltas
from asr.gmm.train_mono import MonoConfig, read_lexicon, train_mono
from asr.gmm.train_sat import (LdaMlltConfig, SatConfig, load_speaker_transforms,
                               static_features, train_lda_mllt, train_sat)
from asr.graph.hclg import make_graph, write_graph_dir
from asr.lexicon.lexicon import read_cmu_dict
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney

TEST_UTTS = ["fcaw-an406-fcaw-b", "fcaw-cen3-fcaw-b", "fcaw-cen6-fcaw-b"]
TRAINER = {"num_iters": 3, "total_gauss": 200, "max_iter_inc": 2, "realign_iters": [2]}


@pytest.fixture(scope="module")
def systems(an4_dir, tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gmm_sat")
    train = read_subset(an4_dir, "train").first(45)
    train.save(root / "train")
    read_subset(an4_dir, "test").subset(TEST_UTTS).save(root / "test")
    feats, transcripts, utt2spk = static_features(root / "train")
    lexicon = read_lexicon(an4_dir / "etc" / "an4.dic")
    mono = train_mono({u: compute_deltas(x) for u, x in feats.items()}, transcripts, lexicon,
                      MonoConfig(num_iters=3, realign_iters=[1, 2], total_gauss=150,
                                 max_iter_inc=2))
    tri2 = train_lda_mllt(feats, transcripts, lexicon, mono.alignments, mono.model,
                          LdaMlltConfig(system="mono", trainer=TRAINER, mllt_iters=[1]),
                          root / "tri2")
    train_sat(feats, transcripts, lexicon, utt2spk, tri2.alignments, tri2.model, tri2.matrix,
              SatConfig(system="mono", trainer=TRAINER, fmllr_iters=[1]), root / "tri3")
    lm = estimate_kneser_ney([t.split() for t in train.text.values()], 2, unk=None,
                             discount_fallback=DEFAULT_FALLBACK)
    graph = make_graph(tri2.model.transition_model, read_cmu_dict(an4_dir / "etc" / "an4.dic"), lm)
    for name in ("tri2", "tri3"):
        write_graph_dir(graph, root / name / "graph")
    return root, graph


def _hyps(out):
    return dict((line.split(" ", 1) + [""])[:2] for line in (out / "text").read_text().splitlines())


def test_lda_mllt_decode_single_pass(systems):
    root, graph = systems
    _, alimdl, mat, sat = load_system(root / "tri2")
    assert not sat and alimdl is None and mat["matrix"].shape == (40, 91)
    out = root / "tri2" / "decode_test"
    summary = decode_datadir_sat(root / "tri2", root / "tri2" / "graph", root / "test", out)
    assert summary["system"] == "lda_mllt" and "fmllr" not in summary
    hyps = _hyps(out)
    assert sorted(hyps) == sorted(TEST_UTTS)
    vocab = set(graph.words.symbols)
    assert all(w in vocab for h in hyps.values() for w in h.split())
    assert not (out / "trans.pt").exists()


def test_sat_decode_two_pass(systems):
    root, _ = systems
    out = root / "tri3" / "decode_test"
    summary = decode_datadir_sat(root / "tri3", root / "tri3" / "graph", root / "test", out,
                                 fmllr_passes=2)
    assert summary["system"] == "sat"
    info = summary["fmllr"]
    assert info["speakers"] == 1 and info["alignment_model"] == "final.alimdl"
    assert all(g >= 0 for g in info["aux_gain_last_pass"].values())
    transforms = load_speaker_transforms(out / "trans.pt")
    w = transforms["fcaw"]
    assert w.shape == (40, 41)
    assert not torch.allclose(w, torch.cat([torch.eye(40), torch.zeros(40, 1)], 1).double())
    assert sorted(_hyps(out)) == sorted(TEST_UTTS)
    assert summary["adaptation_s"] > 0 and summary["rtf"] > 0


def test_sat_tune_then_fixed_setting_cli(systems, capsys):
    root, _ = systems
    args = ["decode-gmm-sat", "--model", str(root / "tri3"), "--graph", str(root / "tri3" / "graph"),
            "--data", str(root / "test")]
    assert main(args + ["--out", str(root / "tri3" / "dev"), "--tune", "--lm-weights", "9 13",
                        "--penalties", "0", "--fmllr-passes", "1"]) == 0
    choice = json.loads((root / "tri3" / "dev" / "best_setting.json").read_text())
    assert set(choice["sweep"]) == {"lmwt9_wip0", "lmwt13_wip0"}
    assert choice["wer"] == min(choice["sweep"].values())
    assert main(args + ["--out", str(root / "tri3" / "fixed"), "--setting",
                        str(root / "tri3" / "dev" / "best_setting.json")]) == 0
    info = json.loads((root / "tri3" / "fixed" / "decode_info.json").read_text())
    assert info["settings"] == [{"lm_weight": choice["lm_weight"],
                                 "word_insertion_penalty": choice["word_insertion_penalty"]}]
    assert "decoded 3 utterances" in capsys.readouterr().out
    # A user error is one line naming the file.
    assert main(args[:2] + [str(root / "missing")] + args[3:] + ["--out", str(root / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert "missing does not exist" in err and len(err.splitlines()) == 1


def test_hybrid_on_fmllr_features(systems, an4_dir, tmp_path, capsys):
    """A hybrid model on the SAT system's fMLLR features (Kaldi's nnet-on-SAT set-up):
    trains from tri3's alignments and transforms, decodes with the transforms of a SAT
    decode of the same data, refuses to decode without them, and ``transcribe`` gets
    them itself from a SAT first pass (same words as the two-step decode)."""
    from asr.data import DataDir
    from asr.decode.graph_transcribe import transcribe_graph_system
    from asr.training.frame_classifier import load_hybrid_model

    root, _ = systems
    hybrid = tmp_path / "hybrid"
    assert main(["train-hybrid", "--data", str(root / "train"), "--ali-dir", str(root / "tri3"),
                 "--out", str(hybrid), "frontend.feature=fmllr", "max_epochs=1",
                 "model.hidden_dim=32", "progress_bar=false", "valid_fraction=0.2"]) == 0
    model = load_hybrid_model(hybrid)
    assert model.lda_mllt["matrix"].shape == (40, 91)
    with pytest.raises(ValueError, match="--transform-dir"):
        model.gmm_transform(None)
    # one utterance = one speaker, as transcribe treats a file
    one = DataDir.load(root / "test").subset([TEST_UTTS[0]])
    one.utt2spk = {TEST_UTTS[0]: TEST_UTTS[0]}
    one.save(tmp_path / "one")
    sat_out = tmp_path / "sat_one"
    decode_datadir_sat(root / "tri3", root / "tri3" / "graph", tmp_path / "one", sat_out)
    args = ["decode-hybrid", "--model", str(hybrid), "--graph", str(root / "tri3" / "graph"),
            "--data", str(tmp_path / "one")]
    assert main(args + ["--out", str(hybrid / "decode_dev")]) == 1
    assert "--transform-dir" in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "wrong"), "--transform-dir",
                        str(tmp_path)]) == 1  # no trans.pt there
    assert "trans.pt" in capsys.readouterr().err
    assert main(args + ["--out", str(hybrid / "decode_dev"), "--transform-dir",
                        str(sat_out)]) == 0
    expected = _hyps(hybrid / "decode_dev")[TEST_UTTS[0]]
    path = an4_dir / "wav" / "an4test_clstk" / "fcaw" / f"{TEST_UTTS[0].split('-')[1]}-fcaw-b.flac"
    (result,) = transcribe_graph_system(hybrid, [path])
    assert expected and result["text"] == expected
