"""G text form, and HCLG built from a constructed lexicon + LM: decoding synthetic
frame scores through it gives back the word sequence they were made from."""

import math

import numpy as np
import pytest

from asr.decode.wfst import DecoderConfig, WfstDecoder
from asr.graph.fstext import fmt_cost
from asr.graph.hclg import (
    GraphConfig,
    make_graph,
    read_graph_dir,
    usable_lexicon,
    word_table,
    write_graph_dir,
)
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel
from asr.lexicon.lexicon import Lexicon
from asr.lm.arpa import ArpaModel
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney
from asr.lm.fst import arpa_to_fst_text

LN10 = math.log(10.0)


def _c(log10: float) -> str:
    return fmt_cost(-log10 * LN10)


def test_g_text_form_bigram():
    model = ArpaModel([
        {("<s>",): (-99.0, -0.3), ("</s>",): (-0.5, 0.0), ("A",): (-0.3, -0.2), ("B",): (-0.5, -0.1)},
        {("<s>", "A"): (-0.1, 0.0), ("A", "B"): (-0.2, 0.0), ("B", "</s>"): (-0.1, 0.0)},
    ])
    words = {"<eps>": 0, "A": 1, "B": 2, "#0": 3}
    lines = [line.split("\t") for line in arpa_to_fst_text(model, words).splitlines()]
    got = lines
    expected = [
        ["0", "2", "1", "1", -0.1],     # <s> A
        ["0", "1", "3", "0", -0.3],     # back-off of <s>: #0:<eps>
        ["1", "2", "1", "1", -0.3],     # unigram A
        ["1", "3", "2", "2", -0.5],     # unigram B
        ["1", -0.5],                    # unigram </s>
        ["2", "3", "2", "2", -0.2],     # A B
        ["2", "1", "3", "0", -0.2],     # back-off of A
        ["3", "1", "3", "0", -0.1],     # back-off of B
        ["3", -0.1],                    # B </s>
    ]
    assert len(got) == len(expected)
    for line, exp in zip(got, expected):
        assert line[:-1] == exp[:-1]
        assert float(line[-1]) == pytest.approx(-exp[-1] * LN10, rel=1e-6)


PHONES = ["SIL", "AH", "B", "K"]
LEXICON = Lexicon.from_pairs([("A", "AH"), ("AB", "AH B"), ("BACK", "B AH K"), ("BE", "B"),
                              ("BEE", "B"), ("<UNK>", "SPN")])


def _model(num_states: int = 2) -> TransitionModel:
    return TransitionModel(PHONES, Topology(TopologyConfig(num_states=num_states,
                                                           silence_num_states=1)))


def _scores(tm: TransitionModel, phones: list[str], frames_per_state: int = 3) -> np.ndarray:
    """(T, num_tids) log-likelihoods: 0 for the states of the given phone sequence in
    turn, -8 elsewhere."""
    rows = []
    for p in phones:
        for s in tm.phone_states(p):
            row = np.full(tm.num_transition_ids, -8.0, np.float32)
            row[2 * s] = row[2 * s + 1] = 0.0
            rows += [row] * frames_per_state
    return np.stack(rows)


@pytest.fixture(scope="module")
def graph():
    sentences = [["A", "BACK"], ["AB"], ["BE", "A"], ["BEE"], ["BACK", "BACK", "A"]]
    lm = estimate_kneser_ney(sentences, 2, unk=None, discount_fallback=DEFAULT_FALLBACK)
    return make_graph(_model(), LEXICON, lm)


def test_unusable_entries_are_dropped():
    kept, dropped = usable_lexicon(LEXICON, PHONES)
    assert dropped == ["<UNK> SPN"]
    assert "<UNK>" not in kept.words()


def test_hclg_labels(graph):
    import kaldifst

    num_tids = graph.num_transition_ids
    # A (AH) is a prefix of AB, BE/BEE are homophones and prefixes of BACK: #1, #2;
    # one more for the optional silence: #3.
    assert graph.info["num_disambig"] == 3
    for state in range(graph.hclg.num_states):
        for arc in kaldifst.ArcIterator(graph.hclg, state):
            assert 0 <= arc.ilabel <= num_tids           # disambiguation symbols removed
            assert arc.olabel == 0 or graph.words[arc.olabel] in {"A", "AB", "BACK", "BE", "BEE"}
    assert graph.hclg.is_ilabel_sorted if isinstance(graph.hclg.is_ilabel_sorted, bool) \
        else graph.hclg.is_ilabel_sorted()


@pytest.mark.parametrize("phones, words", [
    (["SIL", "AH", "SIL", "B", "AH", "K", "SIL"], ["A", "BACK"]),
    (["AH", "B"], ["AB"]),
    (["B", "AH", "K", "B", "AH", "K", "AH"], ["BACK", "BACK", "A"]),
])
def test_hclg_decodes_synthetic_scores(graph, phones, words):
    tm = _model()
    result = WfstDecoder(graph.hclg, DecoderConfig(beam=20.0)).decode(_scores(tm, phones))
    assert [graph.words[w] for w in result.words] == words
    assert result.reached_final
    assert len(result.labels) == 2 * 3 * len([p for p in phones if p != "SIL"]) + 3 * phones.count("SIL")


def test_graph_dir_round_trip(graph, tmp_path):
    write_graph_dir(graph, tmp_path / "graph")
    hclg, words, info = read_graph_dir(tmp_path / "graph")
    assert words == graph.words == word_table(["A", "AB", "BACK", "BE", "BEE"])
    assert info["num_transition_ids"] == graph.num_transition_ids
    assert hclg.num_states == graph.hclg.num_states
    text = (tmp_path / "graph" / "HCLG.txt").read_text()
    assert len(text.splitlines()) == info["num_arcs"] + sum(
        1 for line in text.splitlines() if len(line.split("\t")) <= 2)
    assert "BACK B AH K" in (tmp_path / "graph" / "lexicon.txt").read_text()


def test_context_dependent_graph_needs_a_tree():
    lm = estimate_kneser_ney([["A"]], 1, unk=None, discount_fallback=DEFAULT_FALLBACK)
    with pytest.raises(ValueError, match="tree"):
        make_graph(_model(), LEXICON, lm, config=GraphConfig(context_width=3, central_position=1))


# -- context-dependent (triphone) graphs -------------------------------------------

def _tree():
    """A hand-made triphone tree over PHONES (ids SIL 1, AH 2, B 3, K 4): AH's first
    state depends on whether B is on its left, B's second state on whether AH is on
    its right; SIL is context-independent."""
    from asr.gmm.tree import ContextDependency

    nodes = [
        {"leaf": 0},                                                # 0 SIL root
        {"key": -1, "values": [0], "yes": 2, "no": 5},              # 1 AH root
        {"key": 0, "values": [3], "yes": 3, "no": 4},               # 2 AH state 0: left B?
        {"leaf": 1}, {"leaf": 2}, {"leaf": 3},                      # 3, 4, 5
        {"key": -1, "values": [0], "yes": 7, "no": 8},              # 6 B root
        {"leaf": 4},                                                # 7
        {"key": 2, "values": [2], "yes": 9, "no": 10},              # 8 B state 1: right AH?
        {"leaf": 5}, {"leaf": 6},                                   # 9, 10
        {"key": -1, "values": [0], "yes": 12, "no": 13},            # 11 K root
        {"leaf": 7}, {"leaf": 8},                                   # 12, 13
    ]
    return ContextDependency(PHONES, 3, 1, nodes, {1: 0, 2: 1, 3: 6, 4: 11},
                             list(range(9)), ci_phones=["SIL"])


def _cd_scores(tm, tree, phones, frames_per_state: int = 3) -> np.ndarray:
    """As :func:`_scores`, for the phones in context (neighbours in ``phones``)."""
    ids = [tm.phone_id[p] + 1 for p in phones]
    rows = []
    for i, p in enumerate(phones):
        window = (ids[i - 1] if i else 0, ids[i], ids[i + 1] if i + 1 < len(ids) else 0)
        for s in range(tm.topology.num_states(p)):
            k = tm.transition_state(p, s, tree.pdf(window, s))
            row = np.full(tm.num_transition_ids, -8.0, np.float32)
            row[2 * k] = row[2 * k + 1] = 0.0
            rows += [row] * frames_per_state
    return np.stack(rows)


@pytest.fixture(scope="module")
def cd_graph():
    from asr.gmm.train_tri import tied_transition_model

    tree = _tree()
    tm = tied_transition_model(tree, _model())
    sentences = [["A", "BACK"], ["AB"], ["BE", "A"], ["BEE"], ["BACK", "BACK", "A"]]
    lm = estimate_kneser_ney(sentences, 2, unk=None, discount_fallback=DEFAULT_FALLBACK)
    return tm, tree, make_graph(tm, LEXICON, lm, tree=tree)


@pytest.mark.parametrize("phones, words", [
    (["SIL", "AH", "SIL", "B", "AH", "K", "SIL"], ["A", "BACK"]),
    (["AH", "B"], ["AB"]),
    (["B", "AH", "K", "B", "AH", "K", "AH"], ["BACK", "BACK", "A"]),
    (["B", "AH", "K", "SIL", "B", "AH", "K", "AH"], ["BACK", "BACK", "A"]),
])
def test_triphone_hclg_decodes_synthetic_scores(cd_graph, phones, words):
    tm, tree, graph = cd_graph
    assert graph.info["config"]["context_width"] == 3
    assert graph.num_transition_ids == tm.num_transition_ids == 2 * 9   # 9 transition states
    result = WfstDecoder(graph.hclg, DecoderConfig(beam=20.0)).decode(_cd_scores(tm, tree, phones))
    assert [graph.words[w] for w in result.words] == words
    assert result.reached_final


def test_triphone_hclg_needs_the_right_context(cd_graph):
    """Scores of B AH K with AH's first state taken out of context (as after SIL, not
    B) cost more than the in-context ones: the graph only has in-context paths."""
    tm, tree, graph = cd_graph
    good = _cd_scores(tm, tree, ["B", "AH", "K"])
    bad = good.copy()
    k_in = tm.transition_state("AH", 0, tree.pdf((3, 2, 4), 0))
    k_out = tm.transition_state("AH", 0, tree.pdf((1, 2, 4), 0))
    assert k_in != k_out
    bad[:, [2 * k_in, 2 * k_in + 1]] = good[:, [2 * k_out, 2 * k_out + 1]]
    bad[:, [2 * k_out, 2 * k_out + 1]] = good[:, [2 * k_in, 2 * k_in + 1]]
    decoder = WfstDecoder(graph.hclg, DecoderConfig(beam=30.0))
    r_good, r_bad = decoder.decode(good), decoder.decode(bad)
    frames = np.arange(len(good))
    score_good = good[frames, r_good.labels - 1].sum()
    score_bad = bad[frames, r_bad.labels - 1].sum()
    assert score_good == 0.0
    assert score_bad <= -8.0 * 3
