"""Triphone training (tree + tied model + Viterbi EM) on 60 real AN4 utterances,
from the alignments of a small monophone model trained here."""

import itertools
import json

import pytest
import torch

from asr.gmm.align import compile_graph, load_alignments, transcript_slots
from asr.gmm.align_cd import compile_cd_graph
from asr.gmm.train_mono import MonoConfig, train_mono
from asr.gmm.train_tri import (
    TriConfig,
    align_tri,
    align_unaligned,
    convert_alignments,
    load_tri,
    tied_transition_model,
    train_tri,
)
from asr.gmm.tree import TreeConfig, phone_windows

MONO = MonoConfig(num_iters=6, total_gauss=150, max_iter_inc=4,
                  realign_iters=[1, 2, 3, 4, 5], final_align=True)
TRI = TriConfig(num_iters=5, realign_iters=[2, 4], num_leaves=60, total_gauss=240,
                max_iter_inc=3, tree=TreeConfig(min_count=50))


@pytest.fixture(scope="module")
def mono(an4_subset, an4_lexicon):
    feats, transcripts = an4_subset
    return train_mono(feats, transcripts, an4_lexicon, MONO)


@pytest.fixture(scope="module")
def trained(mono, an4_subset, an4_lexicon, tmp_path_factory):
    feats, transcripts = an4_subset
    out = tmp_path_factory.mktemp("tri1")
    calls = []

    def hook(it, am, alignments, feats):
        calls.append((it, len(alignments), am.gmm.num_gauss))

    result = train_tri(feats, transcripts, an4_lexicon, mono.alignments, mono.model, TRI,
                       out_dir=out, info={"features": "test"}, iteration_hook=hook)
    return result, out, calls


def test_likelihood_increases(trained):
    """Every EM step raises the likelihood; a mixture split right after it may cost a
    hair (the perturbed halves), hence the small tolerance per iteration."""
    result, _, _ = trained
    ll = [h["avg_loglike"] for h in result.history]
    assert len(ll) == TRI.num_iters
    assert all(b > a - 1e-3 for a, b in itertools.pairwise(ll)), ll
    assert ll[-1] - ll[0] > 1.0
    realigned = [h["iter"] for h in result.history if h["realigned"]]
    assert realigned == [2, 4]
    assert all(h["align_skipped"] == 0 for h in result.history)


def test_model_sizes(trained):
    result, _, _ = trained
    am, tree = result.model, result.tree
    assert tree.num_leaves <= 60
    assert am.gmm.num_pdfs == tree.num_pdfs == am.transition_model.num_pdfs
    assert am.gmm.num_gauss == TRI.total_gauss
    assert am.info["type"] == "tri" and am.info["features"] == "test"
    assert am.transition_model.is_tied


def test_iteration_hook_is_called(trained):
    _, _, calls = trained
    assert [c[0] for c in calls] == list(range(1, TRI.num_iters))
    assert all(c[1] == 60 for c in calls)


def test_files_and_load(trained, an4_subset):
    result, out, _ = trained
    for name in ("final.mdl", "tree", "ali.pt", "history.json", "tree_info.json"):
        assert (out / name).is_file(), name
    am, tree = load_tri(out)
    assert tree.num_pdfs == am.gmm.num_pdfs
    x = next(iter(an4_subset[0].values()))
    assert torch.allclose(am.gmm.loglikes(x), result.model.gmm.loglikes(x))
    alis = load_alignments(out / "ali.pt", am.transition_model)
    assert set(alis) == set(result.alignments)
    assert len(json.loads((out / "history.json").read_text())) == TRI.num_iters


def _check_context(ali, tm, tree):
    """Every frame's pdf is the tree's pdf for its phone between its aligned neighbours."""
    ids = [tm.phone_id[p] + 1 for p, _, _ in ali.phones]
    for window, (phone, a, b) in zip(phone_windows(ids), ali.phones):
        for t in range(a, b):
            p, s, pdf = tm.tuples[int(ali.transition_ids[t]) // 2].tolist()
            assert tm.phones[p] == phone
            assert pdf == tree.pdf(window, s) == int(ali.pdfs[t])


def test_converted_alignments_keep_phones_and_states(trained, mono):
    result, _, _ = trained
    old_tm = mono.model.transition_model
    tm = tied_transition_model(result.tree, old_tm)
    converted = convert_alignments(mono.alignments, old_tm, tm, result.tree)
    for utt, old in mono.alignments.items():
        new = converted[utt]
        assert torch.equal(new.transition_ids % 2, old.transition_ids % 2)
        assert torch.equal(tm.tuples[new.transition_ids // 2, 1], old_tm.tuples[old.transition_ids // 2, 1])
        assert new.phones == old.phones
        _check_context(new, tm, result.tree)


def test_realignment_respects_context(trained, an4_heldout, an4_lexicon):
    """Held-out utterances: each aligns to its transcript, every frame's pdf in context."""
    result, _, _ = trained
    feats, transcripts = an4_heldout
    res = align_tri(result.model, result.tree, feats, transcripts, an4_lexicon)
    assert not res.skipped
    tm = result.model.transition_model
    for utt, ali in res.alignments.items():
        assert [w for w, _, _ in ali.words] == transcripts[utt]
        assert len(ali.transition_ids) == feats[utt].shape[0]
        _check_context(ali, tm, result.tree)


def test_utterances_the_previous_system_did_not_align_are_aligned_first(
        mono, trained, an4_subset, an4_lexicon, tmp_path):
    """As Kaldi's align_si.sh before train_deltas.sh: a previous system trained on a
    subset (mono on --mono-hours) leaves utterances without alignments; train-tri
    aligns them with that system's model (monophone, or triphone with its tree)."""
    feats, transcripts = an4_subset
    utts = sorted(mono.alignments)
    subset = {u: mono.alignments[u] for u in utts[:20]}
    full = align_unaligned(tmp_path, mono.model, subset, feats, transcripts, an4_lexicon, TRI)
    assert sorted(full) == utts
    assert all(full[u] is subset[u] for u in subset)
    for u in utts[20:]:  # the model that made mono.alignments, the same graphs
        assert torch.equal(full[u].transition_ids, mono.alignments[u].transition_ids)
    result, out, _ = trained
    tri_subset = {u: result.alignments[u] for u in utts[:20]}
    full = align_unaligned(out, result.model, tri_subset, feats, transcripts, an4_lexicon, TRI)
    assert sorted(full) == utts
    tm = result.model.transition_model
    for u in utts[20:]:
        assert [w for w, _, _ in full[u].words] == transcripts[u]
        _check_context(full[u], tm, result.tree)
    assert align_unaligned(out, result.model, full, feats, transcripts, an4_lexicon,
                           TRI) == full


def test_cd_graph_copies_around_optional_silence(trained, an4_lexicon):
    """FIVE SIX = F AY V | S IH K S with optional silences: a word-edge phone gets one
    copy per neighbour it may have (SIL or the next word's phone, SIL or the utterance
    edge); phones inside words and SIL (context-independent) get one."""
    result, _, _ = trained
    tm = result.model.transition_model
    slots = transcript_slots(["FIVE", "SIX"], an4_lexicon, "SIL", 0.5)
    cd = compile_cd_graph(slots, tm, result.tree)
    names = [tm.phones[p] for p in cd.instance_phone]
    counts = {p: names.count(p) for p in set(names)}
    assert counts == {"SIL": 3, "F": 2, "AY": 1, "V": 2, "S": 4, "IH": 1, "K": 1}
    assert cd.min_frames == compile_graph(slots, _mono_like(tm)).min_frames
    # Start: the leading SIL or F after the edge; F after SIL is entered from SIL only.
    starts = {names[int(cd.phone_instance[s])] for s in torch.nonzero(cd.init_lp > -1e30).flatten()}
    assert starts == {"SIL", "F"}


def _mono_like(tm):
    """A monophone transition model with ``tm``'s phones and topology."""
    from asr.hmm.transition_model import TransitionModel

    return TransitionModel(tm.phones, tm.topology)


def test_cli_train_mkgraph_decode(mono, an4_dir, tmp_path):
    """``asr train-tri`` on a tiny data dir, then ``asr mkgraph`` and ``asr decode-gmm``."""
    from asr.bin.main import main
    from asr.gmm.align import save_alignments

    ali_dir = tmp_path / "mono"
    mono.model.save(ali_dir / "final.mdl")
    save_alignments(ali_dir / "ali.pt", mono.alignments)
    data = tmp_path / "data"
    data.mkdir()
    utts = sorted(mono.alignments)[:12]
    texts = {}
    for line in (an4_dir / "etc" / "an4_train.transcription").read_text().splitlines():
        utt = line.rsplit("(", 1)[-1].rstrip(") ")
        if utt in utts:
            texts[utt] = line.rsplit("(", 1)[0].replace("<s>", "").replace("</s>", "").split()
    fileids = {f.split("/")[-1]: f for f in (an4_dir / "etc" / "an4_train.fileids").read_text().split()}
    (data / "wav.scp").write_text("".join(f"{u} {an4_dir / 'wav' / fileids[u]}.flac\n" for u in utts))
    (data / "text").write_text("".join(f"{u} {' '.join(texts[u])}\n" for u in utts))
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in utts))
    (data / "spk2utt").write_text("".join(f"{u} {u}\n" for u in utts))
    out = tmp_path / "tri1"
    rc = main(["train-tri", "--data", str(data), "--lexicon", str(an4_dir / "etc" / "an4.dic"),
               "--ali-dir", str(ali_dir), "--out", str(out), "num_iters=2", "realign_iters=[1]",
               "num_leaves=60", "total_gauss=80", "max_iter_inc=1", "tree.min_count=20"])
    assert rc == 0
    am, tree = load_tri(out)
    assert am.info["type"] == "tri" and tree.num_leaves <= 60
    assert (out / "config.yaml").is_file()
    # The tree beside final.mdl makes mkgraph build a triphone graph, which decodes.
    dic = str(an4_dir / "etc" / "an4.dic")
    assert main(["mkgraph", "--lexicon", dic, "--model", str(out), "--lm-text",
                 str(data / "text"), "--lm-order", "1", "--out", str(out / "graph")]) == 0
    info = json.loads((out / "graph" / "info.json").read_text())
    assert info["config"]["context_width"] == 3
    assert info["num_transition_ids"] == am.transition_model.num_transition_ids
    assert main(["decode-gmm", "--model", str(out), "--graph", str(out / "graph"), "--data",
                 str(data), "--out", str(out / "decode"), "--max-utts", "2"]) == 0
    hyps = (out / "decode" / "text").read_text().splitlines()
    assert len(hyps) == 2 and all(len(h.split()) > 1 for h in hyps)
