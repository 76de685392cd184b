"""Our ARPA scorer against KenLM's query on the same ARPA files."""

import pytest

from asr.lm import KenLM, perplexity, prune_relative_entropy, write_arpa

kenlm = pytest.importorskip("kenlm", reason="the kenlm module is not installed (pip install kenlm)")


@pytest.mark.parametrize("order", [2, 3, 4])
def test_sentence_scores_match_kenlm(tmp_path, an4_models, an4_test_text, order):
    model = an4_models[order]
    write_arpa(model, tmp_path / "lm.arpa")
    ref = KenLM(tmp_path / "lm.arpa")
    assert ref.order == order
    for sentence in an4_test_text:
        assert model.score_sentence(sentence) == pytest.approx(ref.score(sentence), abs=1e-4)
    ours, theirs = perplexity(model, an4_test_text), ref.perplexity(an4_test_text)
    assert ours.num_oov == theirs.num_oov == 2
    assert ours.ppl == pytest.approx(theirs.ppl, rel=1e-5)


def test_pruned_model_scores_match_kenlm(tmp_path, an4_models, an4_test_text):
    pruned = prune_relative_entropy(an4_models[4], 1e-5)
    write_arpa(pruned, tmp_path / "pruned.arpa")
    ref = KenLM(tmp_path / "pruned.arpa")
    for sentence in an4_test_text:
        assert pruned.score_sentence(sentence) == pytest.approx(ref.score(sentence), abs=1e-4)


def test_word_scores_and_errors(tmp_path, an4_models):
    write_arpa(an4_models[2], tmp_path / "lm.arpa")
    ref = KenLM(tmp_path / "lm.arpa")
    scores = ref.word_scores(["YES", "NO"])
    assert len(scores) == 3 and sum(scores) == pytest.approx(ref.score("YES NO"))
    assert "YES" in ref and "ZZZ" not in ref
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        KenLM(tmp_path / "missing.arpa")
