import dataclasses
import json

import pytest
import torch

from asr.gmm.align import align_utterances, compile_graph, transcript_slots
from asr.gmm.am import AcousticModel
from asr.gmm.train_mono import MonoConfig, accumulate, phones_of, train_mono

CONFIG = MonoConfig(num_iters=6, total_gauss=150, max_iter_inc=4, realign_iters=[1, 2, 3, 4, 5])


@pytest.fixture(scope="module")
def trained(an4_subset, an4_lexicon, tmp_path_factory):
    feats, transcripts = an4_subset
    feats, transcripts = dict(feats), dict(transcripts)
    first = next(iter(feats))
    feats["too-short"] = feats[first][:5]          # fewer frames than states
    transcripts["too-short"] = transcripts[first]
    feats["oov"] = feats[first]
    transcripts["oov"] = ["NOT-A-WORD"]
    out = tmp_path_factory.mktemp("mono")
    return train_mono(feats, transcripts, an4_lexicon, CONFIG, out_dir=out), out


def test_likelihood_increases_every_iteration(trained):
    result, _ = trained
    history = [h["avg_loglike"] for h in result.history]
    assert len(history) == CONFIG.num_iters
    assert all(b > a for a, b in zip(history, history[1:])), history
    assert history[-1] - history[0] > 5.0             # nats per frame, from the flat start
    assert all(h["frames"] == result.history[0]["frames"] for h in result.history)


def test_mixture_splitting_reaches_target(trained):
    result, _ = trained
    counts = [h["num_gauss"] for h in result.history]
    assert counts[0] == result.model.transition_model.num_pdfs
    assert counts == sorted(counts)
    assert result.model.gmm.num_gauss == CONFIG.total_gauss


def test_bad_utterances_are_skipped_and_counted(trained):
    result, _ = trained
    assert set(result.skipped) == {"too-short", "oov"}
    assert "frames" in result.skipped["too-short"]
    assert "NOT-A-WORD" in result.skipped["oov"]
    assert len(result.alignments) == 60


def test_silence_at_utterance_edges(trained, an4_subset):
    """AN4 recordings start and end in silence: the aligner puts SIL there, and SIL
    frames are the quiet ones (C0 is the log energy, mean-normalised)."""
    result, _ = trained
    feats, _ = an4_subset
    alis = result.alignments
    starts = sum(a.segments[0][0] == "SIL" for a in alis.values())
    ends = sum(a.segments[-1][0] == "SIL" for a in alis.values())
    assert starts >= 0.9 * len(alis) and ends >= 0.85 * len(alis)
    sil = torch.cat([feats[u][s:e, 0] for u, a in alis.items() for p, s, e in a.segments if p == "SIL"])
    speech = torch.cat([feats[u][s:e, 0] for u, a in alis.items() for p, s, e in a.segments if p != "SIL"])
    assert float(sil.mean()) < float(speech.mean()) - 3.0
    # The leading silence is shorter than the utterance: the words get real frames.
    for u, a in alis.items():
        assert sum(e - s for p, s, e in a.segments if p != "SIL") >= 0.2 * feats[u].shape[0], u


def test_fixed_alignment_em_increases_likelihood(trained, an4_subset):
    result, _ = trained
    feats, _ = an4_subset
    am = result.model
    history = []
    for _ in range(3):
        stats, _ = accumulate(am, feats, result.alignments)
        history.append(stats.avg_loglike)
        am = AcousticModel(am.transition_model, am.gmm.update(stats), am.info)
    assert all(b > a for a, b in zip(history, history[1:])), history


def test_saved_model_round_trip(trained, an4_subset):
    result, out = trained
    feats, _ = an4_subset
    loaded = AcousticModel.load(out / "final.mdl")
    x = next(iter(feats.values()))
    assert torch.equal(loaded.gmm.loglikes(x), result.model.gmm.loglikes(x))
    assert torch.equal(loaded.transition_model.log_probs, result.model.transition_model.log_probs)
    assert loaded.transition_model.phones == result.model.transition_model.phones
    assert loaded.topology.config == result.model.topology.config
    assert loaded.info["num_gauss"] == CONFIG.total_gauss
    history = json.loads((out / "history.json").read_text())
    assert [h["avg_loglike"] for h in history] == [h["avg_loglike"] for h in result.history]
    assert not list(out.glob(".*.tmp"))


def test_realignment_with_saved_model_matches(trained, an4_subset, an4_lexicon):
    result, out = trained
    feats, transcripts = an4_subset
    loaded = AcousticModel.load(out / "final.mdl")
    utts = list(feats)[:5]
    graphs = {u: compile_graph(transcript_slots(transcripts[u], an4_lexicon), loaded.transition_model)
              for u in utts}
    a = align_utterances(loaded, feats, graphs)
    b = align_utterances(result.model, feats, graphs)
    for u in utts:
        assert torch.equal(a.alignments[u].transition_ids, b.alignments[u].transition_ids)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mdl"):
        AcousticModel.load(tmp_path / "nope.mdl")
    torch.save({"format": "other"}, tmp_path / "x.mdl")
    with pytest.raises(ValueError, match="x.mdl"):
        AcousticModel.load(tmp_path / "x.mdl")


def test_phone_inventory(an4_lexicon):
    phones = phones_of(an4_lexicon)
    assert phones[0] == "SIL" and len(phones) == len(set(phones))
    assert {"AA", "Z", "TH"} <= set(phones)


def test_no_usable_utterance_raises(an4_lexicon):
    with pytest.raises(ValueError, match="no utterance"):
        train_mono({"a": torch.zeros(3, 39)}, {"a": ["YES"]}, an4_lexicon,
                   MonoConfig(num_iters=1))


def test_heldout_true_transcript_scores_best(trained, an4_heldout, an4_lexicon):
    """On held-out test utterances the model prefers the true transcript to another
    utterance's: the Viterbi score with the truth is higher for nearly every pair."""
    result, _ = trained
    feats, transcripts = an4_heldout
    tm = result.model.transition_model
    utts = list(feats)
    wins, pairs = 0, 0
    truth = align_utterances(result.model, feats, {
        u: compile_graph(transcript_slots(transcripts[u], an4_lexicon), tm) for u in utts})
    for shift in (1, 5):
        other = {u: utts[(i + shift) % len(utts)] for i, u in enumerate(utts)}
        wrong = align_utterances(result.model, feats, {
            u: compile_graph(transcript_slots(transcripts[other[u]], an4_lexicon), tm)
            for u in utts if transcripts[other[u]] != transcripts[u]})
        for u in wrong.alignments.keys() | wrong.skipped.keys():
            pairs += 1
            ali = wrong.alignments.get(u)
            wins += ali is None or truth.alignments[u].score > ali.score
    assert pairs >= 25 and wins >= 0.9 * pairs, (wins, pairs)


def test_read_lexicon_formats(tmp_path):
    from asr.gmm.train_mono import read_lexicon

    expected = {"A": [["AH"], ["EY"]], "B": [["B", "IY"], ["B", "EH"]]}
    cmu = tmp_path / "lexicon.dic"  # CMU format: variants spelled WORD(2)
    cmu.write_text("A AH\nA(2) EY\nB B IY\nB(2) B EH\n\n", encoding="utf-8")
    assert read_lexicon(cmu) == expected
    path = tmp_path / "lexicon.txt"  # Kaldi format: the word repeated
    path.write_text("A AH\nA EY\nB B IY\nB B EH\n\n", encoding="utf-8")
    assert read_lexicon(path) == expected
    path.write_text("A AH\nC\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lexicon.txt:2.*'C'"):
        read_lexicon(path)
    with pytest.raises(FileNotFoundError, match="nope"):
        read_lexicon(tmp_path / "nope")


def test_main_trains_from_a_data_dir(an4_dir, tmp_path):
    """``python -m asr.gmm.train_mono`` on a 12-utterance Kaldi data dir."""
    from asr.gmm.train_mono import FEATURES, main

    data = tmp_path / "data"
    data.mkdir()
    ids = (an4_dir / "etc" / "an4_train.fileids").read_text().split()[:12]
    texts = {}
    for line in (an4_dir / "etc" / "an4_train.transcription").read_text().splitlines():
        words, utt = line.rsplit("(", 1)
        texts[utt.strip(" )")] = " ".join(w for w in words.split() if w not in ("<s>", "</s>"))
    rows = sorted((f"{fid.split('/')[1]}-{fid.split('/')[-1]}", fid) for fid in ids)
    (data / "wav.scp").write_text("".join(f"{u} {an4_dir / 'wav' / fid}.flac\n" for u, fid in rows))
    (data / "text").write_text("".join(f"{u} {texts[fid.split('/')[-1]]}\n" for u, fid in rows))
    (data / "utt2spk").write_text("".join(f"{u} {fid.split('/')[1]}\n" for u, fid in rows))
    out = tmp_path / "exp"
    assert main(["--data", str(data), "--lexicon", str(an4_dir / "etc" / "an4.dic"),
                 "--out", str(out), "num_iters=3", "total_gauss=110", "max_iter_inc=2"]) == 0
    model = AcousticModel.load(out / "final.mdl")
    assert model.info["features"] == FEATURES
    assert model.gmm.dim == 39
    assert "num_iters: 3" in (out / "config.yaml").read_text()
    assert len(json.loads((out / "history.json").read_text())) == 3


def test_final_alignments_saved_and_reloaded(trained):
    from asr.gmm.align import load_alignments

    result, out = trained
    tm = result.model.transition_model
    loaded = load_alignments(out / "ali.pt", tm)
    assert sorted(loaded) == sorted(result.alignments)
    for utt, ali in result.alignments.items():
        again = loaded[utt]
        assert torch.equal(again.transition_ids, ali.transition_ids)
        assert torch.equal(again.pdfs, ali.pdfs)
        assert again.words == ali.words and again.score == pytest.approx(ali.score)
        # Phone boundaries come back from the transition ids alone: a phone ends on
        # the forward transition out of its last HMM state.
        assert again.phones == ali.phones, utt


def test_load_alignments_errors(trained, tmp_path):
    from asr.gmm.align import load_alignments, save_alignments

    result, _ = trained
    tm = result.model.transition_model
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_alignments(tmp_path / "missing.pt", tm)
    torch.save({"format": "x"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt"):
        load_alignments(tmp_path / "bad.pt", tm)
    utt, ali = next(iter(result.alignments.items()))
    tids = ali.transition_ids.clone()
    tids[0] = tm.num_transition_ids
    save_alignments(tmp_path / "big.pt", {utt: dataclasses.replace(ali, transition_ids=tids)})
    with pytest.raises(ValueError, match=f"{utt}.*transition id"):
        load_alignments(tmp_path / "big.pt", tm)


def test_word_boundaries_match_a_wider_beam_within_50_ms(trained, an4_subset, an4_lexicon):
    """Forced alignment at beam 20 (retry 40) against a 1000-wide beam: every word starts
    and ends within 5 frames (50 ms) of the reference alignment. (At Kaldi's beam 10
    this 6-iteration, 150-Gaussian model loses the best path of one utterance in 20,
    by 18 frames: a weak model needs a wider beam.)"""
    result, _ = trained
    am = result.model
    feats, transcripts = an4_subset
    utts = list(feats)[:20]
    graphs = {u: compile_graph(transcript_slots(transcripts[u], an4_lexicon, utt=u),
                               am.transition_model) for u in utts}
    narrow = align_utterances(am, feats, graphs, beam=20.0, retry_beam=40.0)
    wide = align_utterances(am, feats, graphs, beam=1000.0)
    assert sorted(narrow.alignments) == sorted(wide.alignments) == sorted(utts)
    for u in utts:
        got, ref = narrow.alignments[u].words, wide.alignments[u].words
        assert [w for w, _, _ in got] == [w for w, _, _ in ref] == transcripts[u]
        for (_, s1, e1), (_, s2, e2) in zip(got, ref):
            assert abs(s1 - s2) <= 5 and abs(e1 - e2) <= 5, (u, got, ref)
