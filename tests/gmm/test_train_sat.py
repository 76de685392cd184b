"""tri2 (LDA+MLLT) and tri3 (SAT) training steps on tiny real AN4 data (45 train
utterances, a few EM passes, the triphone trainer with a 60-leaf tree)."""

import json

import pytest
import torch

from asr.corpora.an4 import read_subset
from asr.features.functional import compute_deltas
from asr.gmm.align import load_alignments
from asr.gmm.am import AcousticModel
from asr.gmm.fmllr import adapt_features
from asr.gmm.lda_mllt import load_transform
from asr.gmm.train_mono import MonoConfig, read_lexicon, train_mono
from asr.gmm.train_sat import (LdaMlltConfig, SatConfig, lda_mllt_features,
                               load_speaker_transforms, static_features, train_lda_mllt,
                               train_sat)
from asr.gmm.train_tri import align_tri, load_tri

TRAINER = {"num_iters": 3, "total_gauss": 250, "max_iter_inc": 2, "realign_iters": [2],
           "num_leaves": 60, "tree": {"min_count": 20.0}}


@pytest.fixture(scope="module")
def setup(an4_dir, tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("sat")
    read_subset(an4_dir, "train").first(45).save(root / "train")
    feats, transcripts, utt2spk = static_features(root / "train")
    lexicon = read_lexicon(an4_dir / "etc" / "an4.dic")
    # The previous system: monophones on MFCC + deltas (3 EM passes).
    mono = train_mono({u: compute_deltas(x) for u, x in feats.items()}, transcripts, lexicon,
                      MonoConfig(num_iters=3, realign_iters=[1, 2], total_gauss=200,
                                 max_iter_inc=2))
    return root, feats, transcripts, utt2spk, lexicon, mono


@pytest.fixture(scope="module")
def tri2(setup):
    root, feats, transcripts, _, lexicon, mono = setup
    cfg = LdaMlltConfig(trainer=TRAINER, mllt_iters=[1, 2])
    result = train_lda_mllt(feats, transcripts, lexicon, mono.alignments, mono.model, cfg,
                            root / "tri2")
    return result, root / "tri2"


def test_lda_mllt_transform_and_files(tri2):
    result, out = tri2
    assert result.matrix.shape == (40, 91)
    saved = load_transform(out / "final.mat")
    assert torch.allclose(saved["matrix"], result.matrix) and saved["splice"] == 3
    assert [h["kind"] for h in result.transform_history] == ["lda", "mllt", "mllt"]
    for h in result.transform_history[1:]:
        assert h["aux_after"] > h["aux_before"]
    am, tree = load_tri(out)
    assert am.gmm.dim == 40 and "lda_mllt" in am.info["features"]
    assert am.transition_model.num_pdfs == tree.num_pdfs <= 60
    alis = load_alignments(out / "ali.pt", am.transition_model)
    assert len(alis) == len(result.alignments) >= 42
    assert json.loads((out / "transform_history.json").read_text())[0]["kind"] == "lda"


def test_final_matrix_matches_final_model(setup, tri2):
    """Features rebuilt from final.mat align with the final model exactly as the
    trainer's own final alignment (the matrix and the model share one space)."""
    _, feats, transcripts, _, lexicon, _ = setup
    result, out = tri2
    am, tree = load_tri(out)
    x = lda_mllt_features(feats, load_transform(out / "final.mat")["matrix"])
    utts = sorted(result.alignments)[:10]
    res = align_tri(am, tree, {u: x[u] for u in utts}, {u: transcripts[u] for u in utts}, lexicon)
    agree = sum(int((res.alignments[u].pdfs == result.alignments[u].pdfs).sum()) for u in utts)
    assert agree / sum(len(res.alignments[u].pdfs) for u in utts) > 0.99


def test_sat_training(setup, tri2):
    root, feats, transcripts, utt2spk, lexicon, _ = setup
    result2, _ = tri2
    cfg = SatConfig(trainer=TRAINER, fmllr_iters=[2])
    res = train_sat(feats, transcripts, lexicon, utt2spk, result2.alignments, result2.model,
                    result2.matrix, cfg, root / "tri3")
    speakers = {utt2spk[u] for u in feats}
    assert set(res.transforms) == speakers and len(speakers) > 1
    assert all(w.shape == (40, 41) for w in res.transforms.values())
    assert [h["iter"] for h in res.transform_history] == [0, 2]
    assert all(h["mean_aux_gain"] > 0 for h in res.transform_history)
    saved = load_speaker_transforms(root / "tri3" / "trans.pt")
    assert all(torch.equal(saved[s], res.transforms[s]) for s in speakers)
    # The SI alignment model: same structure, re-estimated on unadapted features,
    # so it fits them better than the SAT model does.
    alimdl = AcousticModel.load(root / "tri3" / "final.alimdl")
    assert alimdl.gmm.num_gauss == res.model.gmm.num_gauss
    assert torch.equal(alimdl.transition_model.tuples, res.model.transition_model.tuples)
    si = lda_mllt_features(feats, res.matrix)
    adapted = adapt_features(si, utt2spk, res.transforms)

    def loglike(am, xs):
        return sum(float(am.gmm.loglikes(xs[u])[torch.arange(len(a.pdfs)), a.pdfs].sum())
                   for u, a in res.alignments.items())

    assert loglike(alimdl, si) > loglike(res.model, si)
    # fMLLR: the adapted frames fit the SAT model better (Jacobian log|det A| included).
    jacobian = sum(float(torch.linalg.slogdet(res.transforms[utt2spk[u]][:, :40])[1]) * len(a.pdfs)
                   for u, a in res.alignments.items())
    assert loglike(res.model, adapted) + jacobian > loglike(res.model, si)


def test_command_line(setup, an4_dir, capsys):
    """``asr train-lda-mllt`` from a saved system, and ``asr train-sat`` on its output
    (monophone trainer, two EM passes, to stay quick); user errors are one line."""
    from asr.bin.main import main
    from asr.gmm.align import save_alignments

    root, _, _, _, _, mono = setup
    prev = root / "mono_cli"
    mono.model.save(prev / "final.mdl")
    save_alignments(prev / "ali.pt", mono.alignments)
    lexicon = str(an4_dir / "etc" / "an4.dic")
    quick = ["system=mono", "trainer.num_iters=2", "trainer.realign_iters=[1]",
             "trainer.total_gauss=150", "trainer.max_iter_inc=1"]
    common = ["--data", str(root / "train"), "--lexicon", lexicon, "--max-utts", "20"]
    assert main(["train-lda-mllt", *common, "--ali-dir", str(prev), "--out", str(root / "t2"),
                 *quick, "mllt_iters=[1]"]) == 0
    info = json.loads((root / "t2" / "train_info.json").read_text())
    assert info["utterances"] == 20 and info["config"]["mllt_iters"] == [1]
    assert main(["train-sat", *common, "--ali-dir", str(root / "t2"), "--out", str(root / "t3"),
                 *quick, "fmllr_iters=[1]"]) == 0
    assert {"final.mdl", "final.alimdl", "final.mat", "trans.pt", "ali.pt",
            "config.yaml"} <= {p.name for p in (root / "t3").iterdir()}
    capsys.readouterr()
    # SAT needs the LDA+MLLT matrix of the system it starts from.
    assert main(["train-sat", *common, "--ali-dir", str(prev), "--out", str(root / "bad")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "final.mat" in err[0]
    assert main(["train-lda-mllt", *common, "--ali-dir", str(prev), "--out", str(root / "bad"),
                 "system=nope"]) == 1
    assert "nope" in capsys.readouterr().err
