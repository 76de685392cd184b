"""Decision-tree state tying on real AN4 statistics (60 utterances aligned by a small
monophone model trained here)."""

import json

import pytest
import torch

from asr.gmm.train_mono import MonoConfig, train_mono
from asr.gmm.tree import (
    ContextDependency,
    TreeConfig,
    accumulate_tree_stats,
    build_tree,
    cluster_phones,
    gauss_objf,
    pdf_stats,
    phone_windows,
)

MONO = MonoConfig(num_iters=6, total_gauss=150, max_iter_inc=4,
                  realign_iters=[1, 2, 3, 4, 5], final_align=True)


@pytest.fixture(scope="module")
def mono(an4_subset, an4_lexicon):
    feats, transcripts = an4_subset
    return train_mono(feats, transcripts, an4_lexicon, MONO)


@pytest.fixture(scope="module")
def stats(mono, an4_subset):
    return accumulate_tree_stats(an4_subset[0], mono.alignments, mono.model.transition_model)


@pytest.fixture(scope="module")
def built(stats, mono):
    return build_tree(stats, mono.model.transition_model, TreeConfig(num_leaves=60, min_count=50))


def test_phone_windows():
    assert phone_windows([5, 6, 7]) == [(0, 5, 6), (5, 6, 7), (6, 7, 0)]
    assert phone_windows([5]) == [(0, 5, 0)]


def test_stats_cover_every_aligned_frame(stats, mono, an4_subset):
    feats = an4_subset[0]
    frames = sum(feats[u].shape[0] for u in mono.alignments)
    assert stats.frames == frames
    assert torch.allclose(stats.sum_x.sum(0), torch.cat([feats[u] for u in mono.alignments]).double().sum(0))
    tm = mono.model.transition_model
    for (window, state), n in zip(stats.events, stats.count.tolist()):
        assert n > 0 and len(window) == 3 and window[1] > 0
        assert 0 <= state < tm.topology.num_states(tm.phones[window[1] - 1])


def test_questions_are_a_binary_partition_hierarchy(stats, mono):
    tm = mono.model.transition_model
    q = cluster_phones(stats, tm)
    assert q.sets[0] == frozenset(range(1, len(tm.phones) + 1))
    singletons = set()
    for s, kids in zip(q.sets, q.children):
        if kids is None:
            assert len(s) == 1
            singletons |= s
        else:
            a, b = q.sets[kids[0]], q.sets[kids[1]]
            assert a and b and not (a & b) and (a | b) == s
    assert singletons == q.sets[0]
    assert len(q.sets) == 2 * len(tm.phones) - 1


def test_split_gains_are_positive_and_leaves_bounded(built, stats):
    tree, info = built
    assert info.split_gains and all(g > 0 for g in info.split_gains)
    assert info.leaves_before_merge <= 60 and tree.num_leaves == info.leaves_before_merge
    assert tree.num_pdfs == info.leaves_after_merge <= tree.num_leaves
    # The summed gains are the likelihood gain of the tree over one leaf per root.
    assert info.objf_after - info.objf_before == pytest.approx(sum(info.split_gains), rel=1e-6)
    assert all(loss < info.cluster_thresh for loss in info.merge_losses)


def test_leaves_of_split_roots_have_min_count(built, stats, mono):
    tree, _ = built
    counts = torch.zeros(tree.num_leaves, dtype=torch.float64)
    for (window, state), n in zip(stats.events, stats.count):
        counts[tree.leaf(window, state)] += n
    tm = mono.model.transition_model
    for phone, root in tree.roots.items():
        if tm.phones[phone - 1] in tree.ci_phones or "leaf" in tree.nodes[root]:
            continue
        leaves = {tree.leaf((l, phone, r), s) for (l, c, r), s in stats.events if c == phone}
        assert all(counts[k] >= 50 for k in leaves), tm.phones[phone - 1]


def test_silence_is_context_independent(built, mono):
    tree, _ = built
    tm = mono.model.transition_model
    sil = tm.phone_id["SIL"] + 1
    n = tm.topology.num_states("SIL")
    pdfs = [{tree.pdf((l, sil, r), s) for l in range(len(tm.phones) + 1)
             for r in range(len(tm.phones) + 1)} for s in range(n)]
    assert all(len(p) == 1 for p in pdfs)
    assert len(set.union(*pdfs)) == n


def test_merging(stats, mono):
    tm = mono.model.transition_model
    none, _ = build_tree(stats, tm, TreeConfig(num_leaves=60, min_count=50, cluster_thresh=0.0))
    lots, _ = build_tree(stats, tm, TreeConfig(num_leaves=60, min_count=50, cluster_thresh=1e9))
    assert none.num_pdfs == none.num_leaves
    # Everything in a root merges into one pdf: one per non-CI phone plus SIL's states.
    n_sil = tm.topology.num_states("SIL")
    assert lots.num_pdfs == len(tm.phones) - 1 + n_sil


def test_pdf_stats_and_pdfs_of(built, stats, mono):
    tree, _ = built
    s = pdf_stats(tree, stats)
    assert s.shape == (tree.num_pdfs, 1 + 2 * stats.dim)
    assert float(s[:, 0].sum()) == stats.frames
    tm = mono.model.transition_model
    reachable = set()
    for p in range(1, len(tm.phones) + 1):
        for st in range(tm.topology.num_states(tm.phones[p - 1])):
            reachable |= set(tree.pdfs_of(p, st))
    assert reachable == set(range(tree.num_pdfs))
    for (window, st), _ in zip(stats.events, range(200)):
        assert tree.pdf(window, st) in tree.pdfs_of(window[1], st)


def test_save_load_round_trip(built, stats, tmp_path):
    tree, _ = built
    tree.save(tmp_path / "tree")
    again = ContextDependency.load(tmp_path / "tree")
    assert [again.pdf(w, s) for w, s in stats.events] == [tree.pdf(w, s) for w, s in stats.events]
    assert again.num_pdfs == tree.num_pdfs and again.ci_phones == ["SIL"]
    assert json.loads((tmp_path / "tree").read_text())["format"] == "asr.gmm.tree"
    assert not list(tmp_path.glob(".*tmp"))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        ContextDependency.load(tmp_path / "nope")
    (tmp_path / "bad").write_text("{\"format\": \"other\"}")
    with pytest.raises(ValueError, match="bad"):
        ContextDependency.load(tmp_path / "bad")


def test_gauss_objf_matches_the_data_likelihood():
    x = torch.randn(500, 3, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5]) + 1.0
    objf = gauss_objf(torch.tensor(500.0, dtype=torch.float64), x.sum(0), (x * x).sum(0), 1e-6)
    mean, var = x.mean(0), x.var(0, unbiased=False)
    ref = torch.distributions.Normal(mean, var.sqrt()).log_prob(x).sum()
    assert float(objf) == pytest.approx(float(ref), rel=1e-9)
