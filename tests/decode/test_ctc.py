import itertools
import math

import pytest
import torch

from asr.decode import (ArpaLM, FlashlightCTCDecoder, ctc_forced_align, ctc_greedy_search,
                        ctc_prefix_beam_search, token_start_frames)


def collapse(path, blank=0):
    out, prev = [], blank
    for c in path:
        if c != blank and c != prev:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force(lp):
    """log P(labels) for every label sequence, by enumerating all V^T frame paths."""
    totals = {}
    frames, vocab = lp.shape
    for path in itertools.product(range(vocab), repeat=frames):
        score = sum(float(lp[t, c]) for t, c in enumerate(path))
        key = collapse(path)
        prev = totals.get(key, -math.inf)
        hi, lo = max(prev, score), min(prev, score)
        totals[key] = hi + math.log1p(math.exp(lo - hi)) if lo > -math.inf else hi
    return totals


def probs_to_lp(rows):
    return torch.tensor(rows, dtype=torch.float64).log().unsqueeze(0)


def test_greedy_hand_built():
    # frames argmax: a a _ a b b _  -> "a a b" with a=1, b=2
    lp = probs_to_lp([[.2, .7, .1], [.2, .7, .1], [.6, .3, .1], [.1, .8, .1],
                      [.1, .1, .8], [.2, .1, .7], [.9, .05, .05]])
    hyp = ctc_greedy_search(lp)[0]
    assert hyp.tokens == [1, 1, 2]
    assert hyp.alignment == [1, 1, 0, 1, 2, 2, 0]
    assert hyp.token_frames == [0, 3, 4]
    assert hyp.score == pytest.approx(math.log(.7 * .7 * .6 * .8 * .8 * .7 * .9))


def test_prefix_search_beats_greedy_where_paths_add_up():
    # Best path is blank,blank ("" with 0.36) but "a" collects .16+.24+.24 = 0.64 over paths.
    lp = probs_to_lp([[.6, .4], [.6, .4]])
    assert ctc_greedy_search(lp)[0].tokens == []
    best = ctc_prefix_beam_search(lp, beam_size=4)[0][0]
    assert best.tokens == [1]
    assert best.score == pytest.approx(math.log(.64))
    assert best.alignment == [1, 0] and best.token_frames == [0]


def test_prefix_search_equals_exhaustive_search():
    torch.manual_seed(0)
    for _ in range(4):
        lp = (torch.randn(5, 3) * 2).log_softmax(-1).double()
        totals = brute_force(lp)
        hyps = ctc_prefix_beam_search(lp.unsqueeze(0), beam_size=50, nbest=3, token_beam=3)[0]
        ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:3]
        assert [tuple(h.tokens) for h in hyps] == [k for k, _ in ranked]
        for h, (_, score) in zip(hyps, ranked):
            assert h.score == pytest.approx(score, abs=1e-9)


def test_batched_lengths_are_respected():
    torch.manual_seed(1)
    lp = (torch.randn(2, 6, 4) * 3).log_softmax(-1)
    lengths = torch.tensor([6, 3])
    batched = ctc_prefix_beam_search(lp, lengths, beam_size=8)
    alone = ctc_prefix_beam_search(lp[1:, :3], None, beam_size=8)
    assert batched[1][0].tokens == alone[0][0].tokens
    assert len(batched[1][0].alignment) == 3
    greedy = ctc_greedy_search(lp, lengths)
    assert len(greedy[1].alignment) == 3


def test_forced_alignment():
    lp = probs_to_lp([[.1, .8, .1], [.7, .2, .1], [.1, .8, .1], [.1, .1, .8]])[0]
    path, score = ctc_forced_align(lp, [1, 1, 2])
    assert path == [1, 0, 1, 2]
    assert score == pytest.approx(math.log(.8 * .7 * .8 * .8))
    assert token_start_frames(path) == [0, 2, 3]
    with pytest.raises(ValueError, match="cannot align"):
        ctc_forced_align(lp, [1, 1, 1])


def _arpa(unigrams, bigrams):
    lines = ["\\data\\", f"ngram 1={len(unigrams)}", f"ngram 2={len(bigrams)}", "",
             "\\1-grams:"]
    lines += ["\t".join(str(f) for f in row) for row in unigrams]
    lines += ["", "\\2-grams:"] + ["\t".join(str(f) for f in row) for row in bigrams]
    return "\n".join(lines + ["", "\\end\\", ""])


ARPA = _arpa([(-99, "<s>", -0.3), (-0.5, "</s>"), (-0.3, "ONE", -0.2), (-2.0, "WON", -0.2),
              (-1.0, "<unk>")],
             [(-0.1, "<s> ONE"), (-0.1, "ONE </s>"), (-0.1, "WON </s>")])


def test_arpa_lm_scores(tmp_path):
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    lm = ArpaLM(path)
    lp, state = lm.score(lm.begin(), "ONE")
    assert lp == pytest.approx(-0.1 * math.log(10))
    assert lm.end(state) == pytest.approx(-0.1 * math.log(10))
    lp, _ = lm.score(lm.begin(), "WON")  # backoff: bow(<s>) + p(WON)
    assert lp == pytest.approx((-0.3 - 2.0) * math.log(10))
    lp, _ = lm.score(lm.begin(), "ZZZ")  # mapped to <unk>
    assert lp == pytest.approx((-0.3 - 1.0) * math.log(10))


def test_word_lm_fusion_changes_the_winner(tmp_path):
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    tokens = ["<blank>", "<unk>", "\u2581ONE", "\u2581WON", "<sos/eos>"]
    # Acoustically WON is a little more likely than ONE.
    lp = probs_to_lp([[.1, .01, .4, .45, .04], [.9, .01, .04, .04, .01]])
    plain = ctc_prefix_beam_search(lp, beam_size=4)[0][0]
    assert plain.tokens == [3]
    fused = ctc_prefix_beam_search(lp, beam_size=4, lm=ArpaLM(path), lm_weight=0.5,
                                   token_strings=tokens)[0][0]
    assert fused.tokens == [2]
    assert fused.lm_score == pytest.approx(-0.2 * math.log(10))
    assert fused.score == pytest.approx(fused.ctc_score + 0.5 * fused.lm_score)
    with pytest.raises(ValueError, match="token_strings"):
        ctc_prefix_beam_search(lp, lm=ArpaLM(path))


def test_fusion_scores_a_word_that_can_no_longer_be_an_lm_word_at_once(tmp_path):
    """Characters spelling WON WON WON WON, the word boundaries a little less likely than
    blanks. Scoring a word only when it closes would let the run-on WONWONWON... pay no
    LM cost until the end: at beam 2 it pushes the spaced sentence out, then loses to it
    on the final score. An open word that starts no LM word is scored at once."""
    path = tmp_path / "lm.arpa"
    path.write_text(_arpa([(-99, "<s>", -0.3), (-0.5, "</s>"), (-0.3, "ONE", -0.2),
                           (-2.0, "WON", -0.2)], [(-0.1, "ONE </s>"), (-0.1, "WON </s>")]))
    tokens = ["<blank>", "\u2581", "O", "N", "E", "W"]

    def frame(**probs):
        row = [0.0005] * len(tokens)
        for name, p in probs.items():
            row[tokens.index(name)] = p
        return row

    word = [frame(W=.9), frame(O=.9), frame(N=.9)]
    gap = [frame(**{"<blank>": .5, "\u2581": .4})]
    lp = probs_to_lp(word + gap + word + gap + word + gap + word)
    lm = ArpaLM(path)
    assert lm.vocabulary() == ["</s>", "<s>", "ONE", "WON"]
    best = ctc_prefix_beam_search(lp, beam_size=2, token_beam=6, lm=lm, lm_weight=1.0,
                                  token_strings=tokens)[0][0]
    assert "".join(tokens[t] for t in best.tokens) == "WON\u2581WON\u2581WON\u2581WON"
    # the run-on string, scored in full, is indeed worse
    assert best.lm_score > 10 * math.log(0.1)


def test_arpa_unigrams_reads_plain_and_gzipped_arpa(tmp_path):
    import gzip

    from asr.decode.ctc import arpa_unigrams

    (tmp_path / "lm.arpa").write_text(ARPA)
    with gzip.open(tmp_path / "lm.arpa.gz", "wt") as handle:
        handle.write(ARPA)
    (tmp_path / "lm.bin").write_bytes(b"mmap lm http://kheafield.com/code format version 5")
    expected = ["<s>", "</s>", "ONE", "WON", "<unk>"]
    assert arpa_unigrams(tmp_path / "lm.arpa") == expected
    assert arpa_unigrams(tmp_path / "lm.arpa.gz") == expected
    assert arpa_unigrams(tmp_path / "lm.bin") is None


def test_flashlight_reference_agrees_on_peaky_output():
    pytest.importorskip("flashlight.lib.text", reason="reference decoder needs flashlight-text")
    torch.manual_seed(0)
    labels = torch.randint(0, 6, (3, 40))
    logits = torch.randn(3, 40, 6) + 6.0 * torch.nn.functional.one_hot(labels, 6)
    lp = logits.log_softmax(-1)
    ours = ctc_prefix_beam_search(lp, beam_size=8)
    ref = FlashlightCTCDecoder(vocab_size=6, beam_size=8)(lp)
    greedy = ctc_greedy_search(lp)
    for o, r, g in zip(ours, ref, greedy):
        assert o[0].tokens == r.tokens == g.tokens


def test_kenlm_matches_arpa_reader(tmp_path):
    pytest.importorskip("kenlm", reason="the kenlm Python module is not installed")
    from asr.decode import KenLM

    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    ken, arpa = KenLM(path), ArpaLM(path)
    assert ken.vocabulary() == arpa.vocabulary() == ["</s>", "<s>", "<unk>", "ONE", "WON"]
    for words in (["ONE"], ["WON", "ONE"], ["ZZZ", "ONE", "WON"]):
        ks, astate = ken.begin(), arpa.begin()
        for w in words:
            k_lp, ks = ken.score(ks, w)
            a_lp, astate = arpa.score(astate, w)
            assert k_lp == pytest.approx(a_lp, abs=1e-4)
        assert ken.end(ks) == pytest.approx(arpa.end(astate), abs=1e-4)


def test_word_timings_from_alignment():
    from asr.decode import Hypothesis, word_timings

    tokens = ["<blank>", "<unk>", "\u2581G", "O", "\u2581", "N", "<sos/eos>"]
    # frames: G G O _ ▁ N N _   (char style: "▁" is its own token)
    alignment = [2, 2, 3, 0, 4, 5, 5, 0]
    hyp = Hypothesis([2, 3, 4, 5], 0.0, alignment=alignment,
                     token_frames=token_start_frames(alignment))
    assert hyp.token_frames == [0, 2, 4, 5]
    timings = word_timings(hyp, tokens, frame_shift=0.04)
    assert [w for w, _, _ in timings] == ["GO", "N"]
    assert timings[0][1:] == pytest.approx((0.0, 0.12))
    assert timings[1][1:] == pytest.approx((0.20, 0.28))
    with pytest.raises(ValueError, match="alignment"):
        word_timings(Hypothesis([2], 0.0), tokens)
