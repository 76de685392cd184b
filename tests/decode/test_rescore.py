"""n-best rescoring with a larger LM: the cost arithmetic on a constructed list with
hand-written ARPA models, file round trip and errors, and a real n-best list from a tiny
AN4 GMM decode rescored through the CLI."""

import json
import math

import pytest

from asr.decode.rescore import NbestEntry, main, nbest_lines, read_nbest, rescore, rescore_dir
from asr.lm.arpa import read_arpa

# Unigram "old" LM: P(a) = P(b) = 0.25, P(</s>) = 0.5.
OLD_ARPA = """\\data\\
ngram 1=4

\\1-grams:
-0.30103 </s>
-99 <s>
-0.60206 a
-0.60206 b

\\end\\
"""
# Bigram "new" LM that strongly prefers "b" after <s>.
NEW_ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-0.30103 </s>
-99 <s> -1.0
-0.60206 a
-0.60206 b

\\2-grams:
-2.0 <s> a
-0.0457575 <s> b

\\end\\
"""


@pytest.fixture
def lms(tmp_path):
    (tmp_path / "old.arpa").write_text(OLD_ARPA)
    (tmp_path / "new.arpa").write_text(NEW_ARPA)
    return tmp_path / "old.arpa", tmp_path / "new.arpa"


def test_lm_cost_is_swapped_and_the_list_reranked(lms):
    old, new = (read_arpa(p).score_sentence for p in lms)
    nbest = {"u1": [NbestEntry(["a"], 10.0, 20.0), NbestEntry(["b"], 10.5, 20.0)]}
    out = rescore(nbest, old, new)["u1"]
    assert [e.words for e in out] == [["b"], ["a"]]
    # graph' = graph - ln10 * (log10 P_new - log10 P_old)
    old_a = -0.60206 - 0.30103
    new_a = -2.0 - 0.30103
    new_b = -0.0457575 - 0.30103
    by_word = {e.words[0]: e for e in out}
    assert by_word["a"].graph_cost == pytest.approx(10.0 - math.log(10) * (new_a - old_a))
    assert by_word["b"].graph_cost == pytest.approx(10.5 - math.log(10) * (new_b - old_a))
    assert by_word["a"].acoustic_cost == 20.0
    # the same LM on both sides changes nothing
    same = rescore(nbest, old, old)["u1"]
    assert [(e.words, e.graph_cost) for e in same] == [(e.words, e.graph_cost) for e in nbest["u1"]]


def test_nbest_file_round_trip_and_errors(tmp_path, lms):
    nbest = {"u1": [NbestEntry(["a", "b"], 1.5, 2.25), NbestEntry([], 3.0, 0.5)],
             "u2": [NbestEntry(["b"], 0.0, 1.0)]}
    path = tmp_path / "nbest.txt"
    path.write_text(nbest_lines(nbest))
    assert read_nbest(path) == nbest
    path.write_text("u1 2 1.0 0.5 0.5 a\n")
    with pytest.raises(ValueError, match="nbest.txt:1: rank 2"):
        read_nbest(path)
    path.write_text("u1 1 1.0 a b\n")
    with pytest.raises(ValueError, match="expected 'utt rank total graph acoustic"):
        read_nbest(path)
    with pytest.raises(FileNotFoundError, match="--nbest"):
        read_nbest(tmp_path / "missing.txt")
    # a word the new LM does not know (no <unk>) names the utterance
    path.write_text("u7 1 1.0 0.5 0.5 zebra\n")
    with pytest.raises(ValueError, match="u7"):
        rescore_dir(path, *lms, tmp_path / "out")


def test_rescore_a_real_decode(an4_dir, tmp_path, capsys):
    """A tiny monophone system's 5-best lists on AN4 test audio, rescored with a
    trigram of the train text through ``asr rescore-lm``."""
    import torch

    from asr.corpora.an4 import read_subset
    from asr.decode.gmm import decode_datadir
    from asr.gmm.train_mono import MonoConfig, datadir_features, read_lexicon, train_mono
    from asr.graph.mkgraph import estimate_lm_from_text
    from asr.graph.hclg import make_graph, write_graph_dir
    from asr.lexicon.lexicon import read_cmu_dict

    torch.set_num_threads(1)
    train = read_subset(an4_dir, "train").first(60)
    train.save(tmp_path / "train")
    test = read_subset(an4_dir, "test")
    test.subset(test.utterances[:6]).save(tmp_path / "test")
    feats, transcripts = datadir_features(tmp_path / "train")
    cfg = MonoConfig(num_iters=3, realign_iters=[1, 2], total_gauss=150, max_iter_inc=2,
                     final_align=False)
    model = train_mono(feats, transcripts, read_lexicon(an4_dir / "etc" / "an4.dic"), cfg).model
    model.save(tmp_path / "mono" / "final.mdl")
    lm = estimate_lm_from_text(tmp_path / "train" / "text", 2, tmp_path / "bigram.arpa")
    graph = make_graph(model.transition_model, read_cmu_dict(an4_dir / "etc" / "an4.dic"), lm)
    write_graph_dir(graph, tmp_path / "mono" / "graph")
    decode = tmp_path / "mono" / "decode_test"
    decode_datadir(tmp_path / "mono", tmp_path / "mono" / "graph", tmp_path / "test", decode,
                   nbest=5)
    out = tmp_path / "rescored"
    args = ["--decode-dir", str(decode), "--old-lm", str(tmp_path / "bigram.arpa"),
            "--out", str(out)]
    assert main(args + ["--new-lm-text", str(tmp_path / "train" / "text"),
                        "--new-lm-order", "3"]) == 0
    assert "rescored 6 utterances" in capsys.readouterr().out
    assert read_arpa(out / "lm.arpa").order == 3
    before, after = read_nbest(decode / "nbest.txt"), read_nbest(out / "nbest.txt")
    assert sorted(after) == sorted(before)
    for utt, entries in after.items():
        assert sorted(map(tuple, (e.words for e in entries))) == \
            sorted(map(tuple, (e.words for e in before[utt])))
        totals = [e.total_cost for e in entries]
        assert totals == sorted(totals)
    text = dict((line.split(" ", 1) + [""])[:2] for line in (out / "text").read_text().splitlines())
    assert {u: t.split() for u, t in text.items()} == {u: e[0].words for u, e in after.items()}
    info = json.loads((out / "rescore_info.json").read_text())
    assert info["changed_1best"] == sum(after[u][0].words != before[u][0].words for u in after)
    # rescoring with the graph's own LM keeps every 1-best hypothesis
    assert main(args[:-1] + [str(tmp_path / "same"), "--new-lm",
                             str(tmp_path / "bigram.arpa")]) == 0
    same = read_nbest(tmp_path / "same" / "nbest.txt")
    assert all(same[u][0].words == before[u][0].words for u in before)
