import math

import numpy as np
import pytest
import torch

from asr.decode import (CTCPrefixScorer, attention_beam_search, attention_rescoring,
                        ctc_prefix_beam_search, joint_beam_search)
from asr.models import build_model

from tests.decode.test_ctc import brute_force


def random_ctc(frames, labels, seed):
    """``(T, V)`` log-probs over blank, ``labels`` tokens and an (unlikely) eos last."""
    torch.manual_seed(seed)
    logits = torch.randn(frames, labels + 2).double() * 2
    logits[:, -1] = -30.0
    return logits.log_softmax(-1)


def test_ctc_prefix_score_matches_enumeration():
    lp = random_ctc(4, 2, seed=3)
    eos = lp.shape[1] - 1
    scorer = CTCPrefixScorer(lp, blank=0, eos=eos)
    # Prefix probability of g: total probability of all label sequences starting with g.
    seqs = brute_force(lp[:, :eos])
    state = scorer.initial_state()[None]
    psi, states = scorer.score([[]], state, np.array([[1, 2, eos]]))
    for c, value in zip([1, 2], psi[0, :2]):
        expected = math.log(sum(math.exp(s) for k, s in seqs.items() if k[:1] == (c,)))
        assert value == pytest.approx(expected, abs=1e-6)
    assert psi[0, 2] == pytest.approx(seqs[()], abs=1e-6)  # eos after nothing: P("")
    # Two prefixes at once, one of them a repeat of its last label.
    psi2, _ = scorer.score([[1], [2]], states[0, :2], np.array([[1, 2, eos], [2, 1, eos]]))
    for g, row, cands in (((1,), psi2[0], [1, 2]), ((2,), psi2[1], [2, 1])):
        for c, value in zip(cands, row[:2]):
            expected = math.log(sum(math.exp(s) for k, s in seqs.items() if k[:2] == g + (c,)))
            assert value == pytest.approx(expected, abs=1e-6)
        assert row[2] == pytest.approx(seqs[g], abs=1e-6)


def test_joint_search_with_ctc_weight_one_equals_prefix_beam_search():
    for seed in range(3):
        lp = random_ctc(6, 3, seed)
        eos = lp.shape[1] - 1
        totals = brute_force(lp[:, :eos])
        best = max(totals, key=totals.get)
        # A beam wide enough that no contributing prefix is pruned: both are exact.
        prefix = ctc_prefix_beam_search(lp.unsqueeze(0), beam_size=400, token_beam=5)[0][0]
        joint = joint_beam_search(None, lp, sos=eos, eos=eos, beam_size=20, ctc_weight=1.0)[0]
        assert tuple(prefix.tokens) == tuple(joint.tokens) == best
        assert joint.score == pytest.approx(prefix.score, abs=1e-6)


def test_attention_only_search_finds_the_best_sequence():
    """A hand-built 'decoder': P(next | prefix) from a table; beam search must find the argmax."""
    eos = 4
    table = {(): [0, 0, .5, .4, .1], (2,): [0, 0, .1, .1, .8], (3,): [0, 0, .05, .9, .05],
             (3, 3): [0, 0, 0, 0, 1.0], (2, 2): [0, 0, 0, 0, 1.], (2, 3): [0, 0, 0, 0, 1.],
             (3, 2): [0, 0, 0, 0, 1.]}

    def next_lp(ys):
        only_eos = [0, 0, 0, 0, 1.0]
        rows = [np.log(np.array(table.get(tuple(y[1:].tolist()), only_eos)) + 1e-30) for y in ys]
        return torch.tensor(np.stack(rows))

    # "2 eos" has .5 * .8 = .40 and beats "3 3 eos" (.4 * .9 * 1 = .36); a length bonus of
    # 1 per token turns it around.
    best = joint_beam_search(next_lp, None, sos=eos, eos=eos, beam_size=4, ctc_weight=0.0,
                             max_len=3)[0]
    assert best.tokens == [2]
    assert best.score == pytest.approx(math.log(.4))
    longer = joint_beam_search(next_lp, None, sos=eos, eos=eos, beam_size=4, ctc_weight=0.0,
                               max_len=3, length_penalty=1.0)[0]
    assert longer.tokens == [3, 3]


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    model = build_model("conformer_aed", {
        "input_dim": 20, "vocab_size": 8, "d_model": 32, "n_heads": 2, "ff_dim": 32,
        "num_blocks": 1, "conv_kernel": 3, "subsampling_channels": 4, "decoder_layers": 1,
        "decoder_ff_dim": 32, "dropout": 0.0})
    return model.eval()


def test_model_level_search_and_rescoring(tiny_model):
    feats = torch.randn(2, 40, 20)
    lens = torch.tensor([40, 30])
    joint = attention_beam_search(tiny_model, feats, lens, beam_size=3, ctc_weight=0.5)
    assert len(joint) == 2 and all(len(h) == 1 for h in joint)
    for hyps in joint:
        assert all(0 < t < 7 for t in hyps[0].tokens)
    # ctc_weight = 1: the joint search reproduces the CTC prefix search on the model output
    # (3 and 2 encoder frames: beams of 400 prune nothing).
    short, short_lens = feats[:, :15], torch.tensor([15, 13])
    with torch.no_grad():
        enc, enc_lens = tiny_model.encode(short, short_lens)
        lp = tiny_model.ctc_log_probs(enc)
    assert enc_lens.tolist() == [3, 2]
    ctc_only = attention_beam_search(tiny_model, short, short_lens, beam_size=400, ctc_weight=1.0)
    prefix = ctc_prefix_beam_search(lp, enc_lens, beam_size=400, token_beam=8)
    for a, b in zip(ctc_only, prefix):
        assert a[0].tokens == b[0].tokens
        assert a[0].score == pytest.approx(b[0].score, abs=1e-5)
    with torch.no_grad():
        enc, enc_lens = tiny_model.encode(feats, lens)
        lp = tiny_model.ctc_log_probs(enc)
    rescored = attention_rescoring(tiny_model, feats, lens, beam_size=4, ctc_weight=0.5)
    nbests = ctc_prefix_beam_search(lp, enc_lens, beam_size=4, nbest=4)
    for b, (hyp, nbest) in enumerate(zip(rescored, nbests)):
        assert hyp.tokens in [h.tokens for h in nbest]
        assert len(hyp.alignment) == int(enc_lens[b])
    # Rescoring picks the n-best entry with the best combined score.
    nbest = ctc_prefix_beam_search(lp[:1], enc_lens[:1], beam_size=4, nbest=4)[0]
    att = tiny_model.attention_scores(enc[:1], enc_lens[0], [h.tokens for h in nbest])
    combined = [0.5 * h.score + 0.5 * a for h, a in zip(nbest, att.tolist())]
    assert rescored[0].tokens == nbest[int(np.argmax(combined))].tokens


def test_search_with_the_decoder_cache_equals_the_search_without(tiny_model):
    """The model's incremental decoder (kept keys and values) gives the hypotheses and
    scores of recomputing every prefix."""
    torch.manual_seed(4)
    feats, lens = torch.randn(3, 60, 20), torch.tensor([60, 52, 41])
    for ctc_weight in (0.0, 0.5):
        cached = attention_beam_search(tiny_model, feats, lens, beam_size=4,
                                       ctc_weight=ctc_weight, nbest=3)
        full = attention_beam_search(tiny_model, feats, lens, beam_size=4,
                                     ctc_weight=ctc_weight, nbest=3, decoder_cache=False)
        for a, b in zip(cached, full):
            assert [h.tokens for h in a] == [h.tokens for h in b]
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)
