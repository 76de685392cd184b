"""Frame-classifier training on real AN4 features against the alignments of a tiny
monophone GMM system trained here (40 train utterances, 3 EM iterations)."""

import json
import math

import pytest
import torch
import torch.nn.functional as TF

from asr.corpora.an4 import read_subset
from asr.data.datadir import DataDir
from asr.gmm.train_mono import MonoConfig, read_lexicon, train_mono
from asr.gmm.train_mono import datadir_features as gmm_features
from asr.models import build_model_from_section
from asr.training.frame_classifier import (
    IGNORE, FrameTrainConfig, FrontendConfig, datadir_features, estimate_priors,
    load_alignment_targets, load_hybrid_model, main, make_chunks, save_hybrid_model,
    split_speakers, train_frame_classifier,
)


@pytest.fixture(scope="module")
def system(an4_dir, tmp_path_factory):
    """``(data_dir, gmm_dir)``: 40 AN4 train utterances and a tiny mono system with ``ali.pt``."""
    root = tmp_path_factory.mktemp("frame_classifier")
    read_subset(an4_dir, "train").first(40).save(root / "train")
    feats, transcripts = gmm_features(root / "train")
    cfg = MonoConfig(num_iters=3, realign_iters=[1, 2], total_gauss=200, max_iter_inc=2)
    train_mono(feats, transcripts, read_lexicon(an4_dir / "etc" / "an4.dic"), cfg, root / "mono")
    return root / "train", root / "mono"


@pytest.fixture(scope="module")
def real(system):
    data_dir, gmm_dir = system
    tm, targets = load_alignment_targets(gmm_dir)
    feats = datadir_features(data_dir, FrontendConfig())
    return feats, targets, tm, DataDir.load(data_dir).utt2spk


def test_features_match_the_alignment_frames(real):
    feats, targets, _, utt2spk = real
    assert set(feats) == set(targets) and len(feats) == 40
    assert all(x.shape == (len(targets[u]), 40) for u, x in feats.items())
    # Per-speaker CMVN with variance normalisation: each speaker's frames are standardised.
    spk = utt2spk[next(iter(feats))]
    pooled = torch.cat([x for u, x in feats.items() if utt2spk[u] == spk])
    assert pooled.mean(0).abs().max() < 1e-3
    assert (pooled.std(0) - 1).abs().max() < 1e-2


def test_priors_sum_to_one_follow_counts_and_are_floored():
    targets = {"a": torch.tensor([0, 0, 1, 0]), "b": torch.tensor([1, 0, 0, 0])}
    priors = estimate_priors(targets, num_pdfs=3, floor=1e-3)
    assert priors.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert priors[0] / priors[1] == pytest.approx(3.0)
    assert priors[2] == pytest.approx(1e-3 / (1 + 1e-3))     # unseen pdf: the floor
    with pytest.raises(ValueError, match="no frames"):
        estimate_priors({"a": torch.tensor([], dtype=torch.long)}, 3)


def test_priors_of_real_alignments(real):
    _, targets, tm, _ = real
    priors = estimate_priors(targets, tm.num_pdfs)
    assert priors.shape == (tm.num_pdfs,)
    assert priors.sum().item() == pytest.approx(1.0, abs=1e-9)
    sil_pdfs = tm.tuples[tm.tuples[:, 0] == tm.phone_id["SIL"], 2]
    assert priors[sil_pdfs].sum() > 0.2          # AN4 utterances are padded with silence


def test_speaker_split_holds_out_whole_speakers():
    utt2spk = {f"{s}-{i}": s for s in "abcdefghij" for i in range(3 + (s in "ab"))}
    train, valid = split_speakers(utt2spk, 0.25, seed=1)
    assert sorted(train + valid) == sorted(utt2spk)
    assert not {utt2spk[u] for u in train} & {utt2spk[u] for u in valid}
    assert len(valid) >= 0.25 * len(utt2spk)
    assert split_speakers(utt2spk, 0.25, seed=1) == (train, valid)
    assert split_speakers(utt2spk, 0.0) == (sorted(utt2spk), [])
    only = split_speakers({"u1": "s", "u2": "s"}, 0.5)
    assert only == (["u1", "u2"], [])


@pytest.mark.parametrize("offset", [0, 3])
def test_chunks_cover_every_frame_once_with_context(offset):
    feats = {"a": torch.arange(23.0)[:, None], "b": torch.arange(100.0, 105.0)[:, None]}
    targets = {"a": torch.arange(23), "b": torch.arange(100, 105)}
    x, y = make_chunks(feats, targets, chunk_frames=8, context=2, offset=offset)
    assert x.shape[1:] == (8 + 4, 1) and y.shape[1] == 8
    kept = y[y != IGNORE]
    assert kept.tolist() == list(range(23)) + list(range(100, 105))
    for row_x, row_y in zip(x, y):
        for j, label in enumerate(row_y.tolist()):
            if label != IGNORE:
                assert row_x[j + 2, 0].item() == label        # centre frame
                lo = 0 if label < 100 else 100
                hi = 22 if label < 100 else 104
                assert row_x[j, 0].item() == max(lo, label - 2)  # left edge repeated
                assert row_x[j + 4, 0].item() == min(hi, label + 2)


def test_one_training_step_lowers_the_loss(real):
    feats, targets, tm, _ = real
    torch.manual_seed(0)
    model = build_model_from_section({"name": "tdnn", "input_dim": 40, "num_pdfs": tm.num_pdfs,
                                      "hidden_dim": 64, "dropout": 0.0})
    utts = sorted(feats)[:8]
    x, y = make_chunks({u: feats[u] for u in utts}, targets, chunk_frames=32,
                       context=model.context)
    mask = y != IGNORE
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss():
        return TF.cross_entropy(model(x)[mask], y[mask])

    before = loss()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    after = loss().item()
    assert after < before.item() - 0.01


def test_train_checkpoint_resume_and_model_file(real, system, tmp_path):
    feats, targets, tm, utt2spk = real
    cfg = FrameTrainConfig(model={"name": "tdnn", "hidden_dim": 32}, max_epochs=1,
                           patience=5, warmup_steps=2, batch_chunks=16, valid_fraction=0.2,
                           progress_bar=False)
    first = train_frame_classifier(feats, targets, utt2spk, tm.num_pdfs, cfg, tmp_path)
    assert len(first.history) == 1 and (tmp_path / "checkpoints" / "best.pt").is_file()
    cfg.max_epochs = 3
    resumed = train_frame_classifier(feats, targets, utt2spk, tm.num_pdfs, cfg, tmp_path)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[0] == first.history[0]            # epoch 1 not redone
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["valid_loss"] < math.log(tm.num_pdfs)   # better than a uniform guess
    assert resumed.history[resumed.best_epoch - 1]["valid_loss"] == min(
        row["valid_loss"] for row in history)
    assert torch.exp(resumed.log_priors).sum().item() == pytest.approx(1.0, abs=1e-5)

    changed = FrameTrainConfig(**{**cfg.__dict__, "frontend": FrontendConfig(norm_vars=False)})
    with pytest.raises(ValueError, match="frontend.norm_vars"):
        train_frame_classifier(feats, targets, utt2spk, tm.num_pdfs, changed, tmp_path)

    section = dict(resumed.model_section)
    path = tmp_path / "final.pt"
    save_hybrid_model(path, section.pop("name"), section, resumed.model.state_dict(),
                      resumed.log_priors, cfg.frontend, tm, {"note": "test"})
    loaded = load_hybrid_model(tmp_path)
    utt = next(iter(feats))
    with torch.no_grad():
        expected = TF.log_softmax(resumed.model.utterance_logits(feats[utt]), -1)
    assert torch.allclose(loaded.log_posteriors(feats[utt]), expected, atol=1e-5)
    assert torch.allclose(loaded.scaled_loglikes(feats[utt]), expected - resumed.log_priors,
                          atol=1e-5)
    assert loaded.transition_model.num_transition_ids == tm.num_transition_ids
    assert loaded.frontend == cfg.frontend and loaded.info == {"note": "test"}


def test_early_stopping_rule_holds(real):
    feats, targets, tm, utt2spk = real
    cfg = FrameTrainConfig(model={"name": "tdnn", "hidden_dim": 16}, max_epochs=4, patience=1,
                           early_stop_metric="error", lr=0.02, warmup_steps=1,
                           batch_chunks=16, progress_bar=False)
    result = train_frame_classifier(feats, targets, utt2spk, tm.num_pdfs, cfg)
    errors = [1 - row["valid_acc"] for row in result.history]
    improved = [e < min(errors[:i], default=float("inf")) for i, e in enumerate(errors)]
    # Every epoch but the last improved; the run ends at max_epochs or after one bad epoch.
    assert all(improved[:-1])
    assert len(errors) == cfg.max_epochs or not improved[-1]
    assert result.best_epoch == 1 + errors.index(min(errors))


def test_cli_reports_user_errors(system, tmp_path):
    data_dir, gmm_dir = system
    with pytest.raises(FileNotFoundError, match="final.mdl"):
        main(["--data", str(data_dir), "--ali-dir", str(tmp_path), "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="frontend.feature"):
        main(["--data", str(data_dir), "--ali-dir", str(gmm_dir), "--out", str(tmp_path / "x"),
              "frontend.feature=plp"])
