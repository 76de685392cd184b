"""GMM decoding end to end on real AN4 audio: a tiny monophone model (100 train
utterances, 4 EM iterations, trained here), HCLG with a bigram on the AN4 train
transcripts, three held-out test utterances decoded."""

import json

import pytest
import torch

from asr.corpora.an4 import read_subset
from asr.decode.gmm import (Setting, choose_setting, decode_datadir, grid_edges, main,
                            phone_segments, tune_on_dev, word_segments)
from asr.gmm.train_mono import MonoConfig, datadir_features, read_lexicon, train_mono
from asr.graph.hclg import make_graph, write_graph_dir
from asr.lexicon.lexicon import read_cmu_dict
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney

TEST_UTTS = ["fcaw-an406-fcaw-b", "fcaw-cen3-fcaw-b", "fcaw-cen6-fcaw-b"]


@pytest.fixture(scope="module")
def setup(an4_dir, tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gmm_decode")
    train = read_subset(an4_dir, "train")
    test = read_subset(an4_dir, "test").subset(TEST_UTTS)
    train.first(100).save(root / "train")
    test.save(root / "test")
    feats, transcripts = datadir_features(root / "train")
    cfg = MonoConfig(num_iters=4, realign_iters=[1, 2, 3], total_gauss=300, max_iter_inc=3,
                     final_align=False)
    model = train_mono(feats, transcripts, read_lexicon(an4_dir / "etc" / "an4.dic"), cfg).model
    model.save(root / "mono" / "final.mdl")
    lm = estimate_kneser_ney([t.split() for t in train.text.values()], 2, unk=None,
                             discount_fallback=DEFAULT_FALLBACK)
    graph = make_graph(model.transition_model, read_cmu_dict(an4_dir / "etc" / "an4.dic"), lm)
    write_graph_dir(graph, root / "mono" / "graph")
    return root, graph


def test_decode_test_utterances(setup):
    root, graph = setup
    out = root / "mono" / "decode_test"
    summary = decode_datadir(root / "mono", root / "mono" / "graph", root / "test", out)
    hyps = dict(line.split(" ", 1) for line in (out / "text").read_text().splitlines())
    refs = {u: t for u, t in read_subset_texts(root / "test").items()}
    assert sorted(hyps) == sorted(TEST_UTTS)
    vocab = set(graph.words.symbols)
    assert all(w in vocab for h in hyps.values() for w in h.split())
    assert sum(hyps[u].split() == refs[u].split() for u in TEST_UTTS) >= 1
    # CTM: one line per hypothesis word, in order, inside the utterance.
    ctm = [line.split() for line in (out / "ctm").read_text().splitlines()]
    for utt in TEST_UTTS:
        rows = [r for r in ctm if r[0] == utt]
        assert [r[4] for r in rows] == hyps[utt].split()
        starts = [float(r[2]) for r in rows]
        assert starts == sorted(starts)
        assert all(float(r[3]) > 0 for r in rows)
    assert summary["utterances"] == 3 and summary["rtf"] > 0


def read_subset_texts(data_dir):
    return dict(line.split(" ", 1) for line in (data_dir / "text").read_text().splitlines())


def test_tune_on_dev_then_fixed_setting(setup, capsys):
    root, _ = setup
    # The three test utterances stand in for a dev set here.
    choice = tune_on_dev(root / "mono", root / "mono" / "graph", root / "test",
                         root / "mono" / "decode_dev", lm_weights=[8, 12],
                         word_insertion_penalties=[0.0, 1.0])
    assert set(choice["sweep"]) == {"lmwt8_wip0", "lmwt12_wip0", "lmwt8_wip1", "lmwt12_wip1"}
    assert choice["wer"] == min(choice["sweep"].values())
    stored = json.loads((root / "mono" / "decode_dev" / "best_setting.json").read_text())
    assert stored["lm_weight"] == choice["lm_weight"]
    assert (root / "mono" / "decode_dev" / "settings" / "lmwt12_wip1" / "text").is_file()
    # two settings at a time in forked processes: the same sweep, the same texts
    parallel = tune_on_dev(root / "mono", root / "mono" / "graph", root / "test",
                           root / "mono" / "decode_dev_nj2", lm_weights=[8, 12],
                           word_insertion_penalties=[0.0, 1.0], nj=2)
    assert parallel["sweep"] == choice["sweep"]
    for name in choice["sweep"]:
        assert (root / "mono" / "decode_dev_nj2" / "settings" / name / "text").read_text() == \
            (root / "mono" / "decode_dev" / "settings" / name / "text").read_text()
    assert main(["--model", str(root / "mono"), "--graph", str(root / "mono" / "graph"),
                 "--data", str(root / "test"), "--out", str(root / "mono" / "decode_fixed"),
                 "--setting", str(root / "mono" / "decode_dev" / "best_setting.json")]) == 0
    info = json.loads((root / "mono" / "decode_fixed" / "decode_info.json").read_text())
    assert info["settings"] == [{"lm_weight": choice["lm_weight"],
                                 "word_insertion_penalty": choice["word_insertion_penalty"]}]
    assert "decoded 3 utterances" in capsys.readouterr().out


def test_tune_by_lattice_sweeps_the_same_settings_from_one_lattice_pass(setup):
    """--tune-by lattice: one lattice decode at the reference setting (middle LM weight,
    lowest penalty) stands in for every setting's search. At the reference setting its
    hypotheses are the search's; the chosen setting is scored like the others."""
    root, _ = setup
    grid = dict(lm_weights=[8, 10, 14], word_insertion_penalties=[0.0, 1.0])
    searched = tune_on_dev(root / "mono", root / "mono" / "graph", root / "test",
                           root / "mono" / "tune_search", **grid)
    rescored = tune_on_dev(root / "mono", root / "mono" / "graph", root / "test",
                           root / "mono" / "tune_lattice", tune_by="lattice", nj=2, **grid)
    assert set(rescored["sweep"]) == set(searched["sweep"])
    assert rescored["wer"] == min(rescored["sweep"].values())
    ref = "settings/lmwt10_wip0/text"
    assert (root / "mono" / "tune_lattice" / ref).read_text() == \
        (root / "mono" / "tune_search" / ref).read_text()
    info = json.loads((root / "mono" / "tune_lattice" / "decode_info.json").read_text())
    assert info["tune_by"] == "lattice"
    assert (root / "mono" / "tune_lattice" / "ctm").is_file()
    with pytest.raises(ValueError, match="tune_by"):
        tune_on_dev(root / "mono", root / "mono" / "graph", root / "test",
                    root / "mono" / "tune_bad", tune_by="rescore", **grid)


def test_word_segments_skip_optional_silence():
    phones = [("SIL", 0, 10), ("AH", 10, 5), ("SIL", 15, 3), ("B", 18, 4), ("AH", 22, 6),
              ("K", 28, 2), ("SIL", 30, 5)]
    lexicon = {"A": [["AH"]], "BACK": [["B", "AH", "K"]], "AB": [["AH", "B"]]}
    assert word_segments(["A", "BACK"], phones, lexicon) == [("A", 10, 5), ("BACK", 18, 12)]
    assert word_segments(["AB"], phones, lexicon) is None


def test_phone_segments_from_labels(setup):
    from asr.gmm.am import AcousticModel

    root, _ = setup
    tm = AcousticModel.load(root / "mono" / "final.mdl").transition_model
    sil, ah = tm.phone_states("SIL"), tm.phone_states("AH")
    tids = [2 * sil[0], 2 * sil[0] + 1] + [2 * s + 1 for s in sil[1:]]    # SIL: 6 frames
    tids += [2 * ah[0] + 1, 2 * ah[1], 2 * ah[1] + 1, 2 * ah[2] + 1]     # AH: 4 frames
    labels = torch.tensor(tids).numpy() + 1
    assert phone_segments(labels, tm) == [("SIL", 0, 6), ("AH", 6, 4)]


def test_nbest_lists(setup):
    root, _ = setup
    out = root / "mono" / "decode_nbest"
    decode_datadir(root / "mono", root / "mono" / "graph", root / "test", out, nbest=3)
    rows = [line.split() for line in (out / "nbest.txt").read_text().splitlines()]
    best = read_subset_texts(out)
    for utt in TEST_UTTS:
        mine = [r for r in rows if r[0] == utt]
        assert 1 <= len(mine) <= 3
        assert [int(r[1]) for r in mine] == list(range(1, len(mine) + 1))
        costs = [float(r[2]) for r in mine]
        assert costs == sorted(costs)
        assert all(abs(float(r[2]) - float(r[3]) - float(r[4])) < 2e-4 for r in mine)
        assert len({tuple(r[5:]) for r in mine}) == len(mine)
        assert " ".join(mine[0][5:]) == best[utt].strip()


def test_transcribe_files_with_a_gmm_system(setup, an4_dir, tmp_path):
    """`asr.transcribe` on a GMM dir: same words as decoding the data dir (a 44.1 kHz
    stereo copy of one file included), untranscribed audio decoded, long files cut."""
    import numpy as np
    import soundfile as sf

    from asr import transcribe
    from asr.audio import load_audio

    import shutil

    from asr.data import DataDir

    root, _ = setup
    system = tmp_path / "mono"  # model + graph only: no tuned setting from other tests
    system.mkdir()
    shutil.copy(root / "mono" / "final.mdl", system)
    shutil.copytree(root / "mono" / "graph", system / "graph")
    # reference: the data dir decoded with one speaker per utterance (CMVN per file, as
    # transcribe does for independent files)
    per_utt = DataDir.load(root / "test")
    per_utt.utt2spk = {u: u for u in per_utt.utterances}
    per_utt.save(tmp_path / "per_utt")
    out = tmp_path / "decode_ref"
    decode_datadir(system, system / "graph", tmp_path / "per_utt", out)
    expected = dict(line.split(" ", 1) for line in (out / "text").read_text().splitlines())
    paths = [an4_dir / "wav" / "an4test_clstk" / "fcaw" / f"{u.split('-')[1]}-fcaw-b.flac"
             for u in TEST_UTTS]
    wave = load_audio(paths[0], 44100).numpy()
    stereo = tmp_path / "stereo44k.wav"
    sf.write(stereo, np.stack([wave, wave], axis=1), 44100)
    results = transcribe(system, [*paths, stereo], timings=True)
    assert [r["text"] for r in results[:3]] == [expected[u].strip() for u in TEST_UTTS]
    # the stereo 44.1 kHz copy went through two resamplings: nearly the same words
    from asr.scoring.wer import word_error_rate

    assert results[3]["duration"] == pytest.approx(results[0]["duration"], abs=0.01)
    assert word_error_rate({"a": results[0]["text"]}, {"a": results[3]["text"]}) <= 0.35
    assert [w["word"] for w in results[0]["words"]] == results[0]["text"].split()
    # cut into 1 s pieces: still words, timings increasing across the pieces
    pieces = transcribe(system, [paths[0]], timings=True, chunk_seconds=1.0)[0]
    starts = [w["start"] for w in pieces["words"]]
    assert starts == sorted(starts) and pieces["duration"] == results[0]["duration"]


def test_a_dev_choice_on_the_edge_of_the_grid_is_flagged(tmp_path, caplog):
    grid = [Setting(w, p) for p in (0.0, 0.5, 1.0) for w in (8.0, 10.0, 12.0)]
    assert grid_edges(Setting(10.0, 0.5), grid) == []
    assert grid_edges(Setting(12.0, 0.5), grid) == ["lm_weight=max"]
    assert grid_edges(Setting(8.0, 0.0), grid) == ["lm_weight=min", "word_insertion_penalty=min"]
    assert grid_edges(Setting(8.0, 0.0), [Setting(8.0, 0.0), Setting(9.0, 0.0)]) == ["lm_weight=min"]
    assert Setting.from_name(Setting(10.0, 0.5).name) == Setting(10.0, 0.5)
    with pytest.raises(ValueError, match="not a setting name"):
        Setting.from_name("beam10")

    (tmp_path / "text").write_text("u1 A B\nu2 C\n")
    right, wrong = {"u1": ["A", "B"], "u2": ["C"]}, {"u1": ["A"], "u2": ["D"]}
    written = []
    inner = {s: (right if s == Setting(10.0, 0.5) else wrong) for s in grid}
    choice = choose_setting(inner, tmp_path, tmp_path, written.append)
    assert written == [Setting(10.0, 0.5)] and choice["grid_edges"] == []
    on_edge = {s: (right if s == Setting(12.0, 1.0) else wrong) for s in grid}
    choice = choose_setting(on_edge, tmp_path, tmp_path, written.append)
    assert choice["grid_edges"] == ["lm_weight=max", "word_insertion_penalty=max"]
    assert json.loads((tmp_path / "best_setting.json").read_text())["grid_edges"] == choice["grid_edges"]
    assert "edge of the swept grid" in caplog.text


def test_nbest_lists_need_a_single_setting(tmp_path):
    # checked before anything is loaded, so the paths need not exist
    with pytest.raises(ValueError, match="single setting only"):
        decode_datadir(tmp_path / "model", tmp_path / "graph", tmp_path / "data", tmp_path / "out",
                       lm_weights=[8.0, 10.0], nbest=5)
