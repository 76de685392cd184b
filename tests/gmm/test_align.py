import itertools
import math

import pytest
import torch

from asr.gmm.align import (Slot, align_utterances, compile_graph, equal_alignment,
                           to_alignment, transcript_slots, viterbi)
from asr.gmm.am import AcousticModel
from asr.gmm.diag_gmm import DiagGmmSet
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel

LEXICON = {"X": [["A", "B"]], "Y": [["A"]], "Z": [["B", "B"], ["A"]]}


def tiny_model(seed=0):
    """SIL: 1 state, A and B: 2 states; random transition probabilities."""
    topo = Topology(TopologyConfig(num_states=2, silence_num_states=1))
    tm = TransitionModel(["SIL", "A", "B"], topo)
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(tm.num_transition_states, generator=g) * 0.8 + 0.1
    tm.log_probs = torch.stack([p, 1 - p], 1).log()
    return tm


def compositions(total, parts):
    """All ways to give ``parts`` states at least one frame each, ``total`` frames."""
    for cuts in itertools.combinations(range(1, total), parts - 1):
        bounds = (0,) + cuts + (total,)
        yield [b - a for a, b in zip(bounds[:-1], bounds[1:])]


def exhaustive_best(slots, tm, ll, acoustic_scale):
    """Best score over every slot choice (absent / which pronunciation) and every
    segmentation into states, built from the slots alone (no graph arrays)."""
    T = ll.shape[0]
    choices = [([None] if s.optional else []) + list(range(len(s.prons))) for s in slots]
    best = -math.inf
    for pick in itertools.product(*choices):
        graph_lp, phones = 0.0, []
        for slot, a in zip(slots, pick):
            if slot.optional:
                graph_lp += math.log(1 - slot.prob) if a is None else math.log(slot.prob)
            if a is not None:
                phones += slot.prons[a]
        states = [ts for ph in phones for ts in tm.phone_states(ph)]
        if not states or len(states) > T:
            continue
        for durations in compositions(T, len(states)):
            score, t = graph_lp, 0
            for ts, d in zip(states, durations):
                pdf = int(tm.tuples[ts, 2])
                score += acoustic_scale * float(ll[t:t + d, pdf].sum())
                score += (d - 1) * float(tm.log_probs[ts, 0]) + float(tm.log_probs[ts, 1])
                t += d
            best = max(best, score)
    return best


def path_score(graph, states, tm, ll, acoustic_scale):
    """Score of a state path through ``graph``, read from the graph arrays."""
    ts = graph.trans_states
    score = float(graph.init_lp[states[0]])
    for t, s in enumerate(states.tolist()):
        score += acoustic_scale * float(ll[t, tm.tuples[ts[s], 2]])
        if t + 1 < len(states):
            n = int(states[t + 1])
            if n == s:
                score += float(tm.log_probs[ts[s], 0])
            else:
                arcs = [float(w) for u, w in zip(graph.pred_src[n], graph.pred_lp[n]) if int(u) == s]
                assert arcs, f"no arc {s} -> {n}"
                score += float(tm.log_probs[ts[s], 1]) + max(arcs)
    return score + float(tm.log_probs[ts[states[-1]], 1]) + float(graph.final_lp[states[-1]])


CASES = [
    (transcript_slots(["X", "Y"], LEXICON), 9, 0),
    (transcript_slots(["Y"], LEXICON), 5, 1),
    (transcript_slots(["X"], LEXICON), 4, 2),
    (transcript_slots(["Y", "Z", "X"], LEXICON), 11, 3),          # alternative pronunciations
    (transcript_slots(["Z", "Z"], LEXICON, sil_prob=0.3), 8, 5),
    ([Slot("w", (("A",),)), Slot("s1", (("SIL",),), 0.4), Slot("s2", (("B",), ("SIL",)), 0.7),
      Slot("v", (("B",), ("A", "SIL")))], 7, 6),                    # two optional slots in a row
]


@pytest.mark.parametrize("slots,T,seed", CASES)
def test_viterbi_equals_exhaustive_search(slots, T, seed):
    tm = tiny_model(seed)
    graph = compile_graph(slots, tm)
    ll = torch.randn(T, tm.num_pdfs, generator=torch.Generator().manual_seed(seed)) * 3
    [(states, score)] = viterbi([graph], [ll], tm, acoustic_scale=0.7)
    expected = exhaustive_best(slots, tm, ll, 0.7)
    assert math.isclose(score, expected, rel_tol=1e-5, abs_tol=1e-4)
    assert math.isclose(path_score(graph, states, tm, ll, 0.7), score, rel_tol=1e-5, abs_tol=1e-4)


def test_batched_viterbi_equals_one_at_a_time():
    tm = tiny_model(4)
    g = torch.Generator().manual_seed(4)
    cases = [(["X", "Y"], 12), (["Y"], 3), (["X", "X", "Y"], 20), (["Z"], 7), (["Z", "Y"], 9)]
    graphs = [compile_graph(transcript_slots(w, LEXICON), tm) for w, _ in cases]
    lls = [torch.randn(T, tm.num_pdfs, generator=g) for _, T in cases]
    batched = viterbi(graphs, lls, tm, acoustic_scale=1.0)
    for graph, ll, got in zip(graphs, lls, batched):
        [alone] = viterbi([graph], [ll], tm, acoustic_scale=1.0)
        assert torch.equal(got[0], alone[0])
        assert math.isclose(got[1], alone[1], rel_tol=1e-6)
    assert len(batched[1][0]) == 3  # Y alone: 2 states for A, and 3 frames


def test_viterbi_on_the_graphs_pdf_columns_only_equals_all_columns():
    tm = tiny_model(4)
    g = torch.Generator().manual_seed(7)
    cases = [(["Y"], 6), (["Z", "Y"], 9)]
    graphs = [compile_graph(transcript_slots(w, LEXICON), tm) for w, _ in cases]
    lls = [torch.randn(T, tm.num_pdfs, generator=g) for _, T in cases]
    pdf_of_tstate = tm.tuples[:, 2]
    used = [torch.unique(pdf_of_tstate[gr.trans_states]) for gr in graphs]
    used[1] = used[1].flip(0)  # any column order
    assert len(used[0]) < tm.num_pdfs == len(used[1])
    full = viterbi(graphs, lls, tm, acoustic_scale=1.0)
    some = viterbi(graphs, [ll[:, u] for ll, u in zip(lls, used)], tm, acoustic_scale=1.0,
                   pdf_columns=used)
    for (states, score), (states_some, score_some) in zip(full, some):
        assert torch.equal(states, states_some)
        assert math.isclose(score, score_some, rel_tol=1e-6)


def test_alternative_pronunciation_is_chosen_by_the_acoustics():
    tm = tiny_model()
    graph = compile_graph(transcript_slots(["Z"], LEXICON, sil_prob=0.0), tm)  # B B | A
    ll = torch.full((8, tm.num_pdfs), -10.0)
    a_pdfs = [tm.pdf_of("A", 0), tm.pdf_of("A", 1)]
    ll[:, a_pdfs] = 0.0
    [(states, score)] = viterbi([graph], [ll], tm, acoustic_scale=1.0)
    ali = to_alignment(graph, states, score, tm)
    assert [p for p, _, _ in ali.phones] == ["A"] and ali.words == [("Z", 0, 8)]
    ll = -ll
    [(states, score)] = viterbi([graph], [ll], tm, acoustic_scale=1.0)
    assert [p for p, _, _ in to_alignment(graph, states, score, tm).phones] == ["B", "B"]


def test_too_few_frames_gives_no_path():
    tm = tiny_model()
    graph = compile_graph(transcript_slots(["X"], LEXICON), tm)     # A B: 4 mandatory states
    assert graph.min_frames == 4
    result = viterbi([graph, graph], [torch.zeros(3, tm.num_pdfs), torch.zeros(4, tm.num_pdfs)], tm)
    assert result[0] is None and result[1] is not None
    assert equal_alignment(graph, 3, tm) is None
    # The shortest pronunciation sets the minimum.
    assert compile_graph(transcript_slots(["Z"], LEXICON), tm).min_frames == 2


def test_alignment_outputs_are_consistent():
    tm = tiny_model()
    graph = compile_graph(transcript_slots(["X", "Y"], LEXICON), tm)
    ll = torch.randn(15, tm.num_pdfs, generator=torch.Generator().manual_seed(7))
    [(states, score)] = viterbi([graph], [ll], tm)
    ali = to_alignment(graph, states, score, tm)
    assert torch.equal(tm.tid_to_pdf()[ali.transition_ids], ali.pdfs)
    assert int(ali.transition_ids[-1]) % 2 == 1              # last frame leaves the HMM
    assert ali.phones[0][1] == 0 and ali.phones[-1][2] == 15
    assert all(a[2] == b[1] for a, b in zip(ali.phones, ali.phones[1:]))
    assert [s[0] for s in ali.phones if s[0] != "SIL"] == ["A", "B", "A"]
    assert [w for w, _, _ in ali.words] == ["X", "Y"]
    first_word = [p for p in ali.phones if ali.words[0][1] <= p[1] < ali.words[0][2]]
    assert [p[0] for p in first_word] == ["A", "B"]


def test_equal_alignment_includes_edge_silence():
    tm = tiny_model()
    graph = compile_graph(transcript_slots(["X", "Y"], LEXICON), tm)  # SIL? A B SIL? A SIL?
    ali = equal_alignment(graph, 16, tm)                      # 8 states, 2 frames each
    assert [s[0] for s in ali.phones] == ["SIL", "A", "B", "A", "SIL"]
    assert [e - s for _, s, e in ali.phones] == [2, 4, 4, 4, 2]
    # Too few frames for the edge silences: only the mandatory phones.
    ali = equal_alignment(graph, 6, tm)
    assert [s[0] for s in ali.phones] == ["A", "B", "A"]


def test_transcript_slots_and_graph_errors():
    tm = tiny_model()
    slots = transcript_slots(["X", "Z"], LEXICON, sil_prob=0.5)
    assert [(s.label, s.prons, s.prob) for s in slots] == [
        ("<sil>", (("SIL",),), 0.5), ("X", (("A", "B"),), 1.0), ("<sil>", (("SIL",),), 0.5),
        ("Z", (("B", "B"), ("A",)), 1.0), ("<sil>", (("SIL",),), 0.5)]
    assert [s.label for s in transcript_slots(["Y"], LEXICON, sil_prob=0.0)] == ["Y"]
    with pytest.raises(ValueError, match="utt7.*'W'"):
        transcript_slots(["X", "W"], LEXICON, utt="utt7")
    with pytest.raises(ValueError, match="empty transcript"):
        transcript_slots([], LEXICON, utt="utt8")
    with pytest.raises(ValueError, match="phone 'Q'"):
        compile_graph([Slot("q", (("Q",),))], tm)
    with pytest.raises(ValueError, match="'e' has an empty"):
        compile_graph([Slot("e", (("A",), ()))], tm)
    with pytest.raises(ValueError, match="mandatory"):
        compile_graph([Slot("s", (("SIL",),), 0.5)], tm)


def test_unalignable_utterance_is_skipped_and_counted(an4_subset, an4_lexicon, caplog):
    feats, transcripts = an4_subset
    topo = Topology()
    tm = TransitionModel(["SIL"] + sorted({p for prons in an4_lexicon.values()
                                           for pron in prons for p in pron} - {"SIL"}), topo)
    x = torch.cat(list(feats.values()))
    am = AcousticModel(tm, DiagGmmSet.init_single(tm.num_pdfs, x.mean(0), x.var(0)))
    utts = list(feats)[:4]
    graphs = {u: compile_graph(transcript_slots(transcripts[u], an4_lexicon, utt=u), tm)
              for u in utts}
    short = dict(feats)
    short[utts[1]] = feats[utts[1]][:5]
    graphs["missing"] = graphs[utts[0]]
    result = align_utterances(am, short, graphs, batch_size=2)
    assert result.num_skipped == 2
    assert "frames" in result.skipped[utts[1]] and result.skipped["missing"] == "no features"
    assert sorted(result.alignments) == sorted([utts[0], utts[2], utts[3]])
    for u in result.alignments:
        assert len(result.alignments[u].pdfs) == feats[u].shape[0]
    assert "skipped 2 of 5" in caplog.text
    # A generous beam finds the same paths as the exact search.
    beamed = align_utterances(am, feats, {u: graphs[u] for u in utts}, beam=1e4)
    exact = align_utterances(am, feats, {u: graphs[u] for u in utts})
    for u in utts:
        assert torch.equal(beamed.alignments[u].transition_ids, exact.alignments[u].transition_ids)
