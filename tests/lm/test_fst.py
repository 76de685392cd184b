import math

import pytest

from asr.lm import arpa_to_fst_text, compile_g, read_arpa
from asr.text.symbols import SymbolTable

from .test_arpa import TINY

TRIGRAM = """\\data\\
ngram 1=4
ngram 2=3
ngram 3=1

\\1-grams:
-0.6\t</s>
-99\t<s>\t-0.1
-0.4\ta\t-0.2
-0.5\tb\t-0.3

\\2-grams:
-0.3\t<s> a\t-0.15
-0.2\ta b\t-0.25
-0.1\tb </s>

\\3-grams:
-0.05\t<s> a b

\\end\\
"""


def load(tmp_path, text):
    path = tmp_path / "lm.arpa"
    path.write_text(text)
    return read_arpa(path)


def test_bigram_g_line_by_line(tmp_path):
    # States: 0 = <s>, 1 = empty history, 2 = "a"; "b" has no extension so no state.
    # Costs are -ln(10) * log10 values.
    expected = [
        "0\t2\ta\ta\t0.460517",  # <s> a (-0.2)
        "0\t1\t#0\t<eps>\t1.151293",  # back-off of <s> (-0.5)
        "1\t2\ta\ta\t1.151293",  # a (-0.5)
        "1\t1\tb\tb\t1.61181",  # b (-0.7): "b" is no history state
        "1\t2.302585",  # </s> (-1.0) as final weight
        "2\t1\tb\tb\t0.921034",  # a b (-0.4)
        "2\t1\t#0\t<eps>\t0.6907755",  # back-off of a (-0.3)
        "2\t0.6907755",  # a </s> (-0.3)
    ]
    assert arpa_to_fst_text(load(tmp_path, TINY)).splitlines() == expected


def test_trigram_g_skips_histories_without_extensions(tmp_path):
    # "a b" has a back-off weight but no extension: arcs into it go to "b" with
    # bo(a b) = -0.25 added, as Kaldi's arpa2fst leaves it after RemoveRedundantStates.
    expected = [
        "0\t4\ta\ta\t0.6907755",  # <s> a -> state "<s> a"
        "0\t1\t#0\t<eps>\t0.2302585",
        "1\t2\ta\ta\t0.921034",
        "1\t3\tb\tb\t1.151293",
        "1\t1.381551",
        "2\t3\tb\tb\t1.036163",  # a b (-0.2) + bo(a b) (-0.25)
        "2\t1\t#0\t<eps>\t0.460517",
        "3\t1\t#0\t<eps>\t0.6907755",
        "3\t0.2302585",  # b </s>
        "4\t3\tb\tb\t0.6907755",  # <s> a b (-0.05) + bo(a b) (-0.25)
        "4\t2\t#0\t<eps>\t0.3453878",  # back-off of "<s> a" to "a"
    ]
    assert arpa_to_fst_text(load(tmp_path, TRIGRAM)).splitlines() == expected


def test_integer_labels_and_oov(tmp_path):
    model = load(tmp_path, TINY)
    words = SymbolTable.from_symbols(["<eps>", "a", "b", "#0", "<s>", "</s>"])
    lines = arpa_to_fst_text(model, words).splitlines()
    assert lines[0] == "0\t2\t1\t1\t0.460517"
    assert lines[1] == "0\t1\t3\t0\t1.151293"
    small = SymbolTable.from_symbols(["<eps>", "a", "#0"])
    with pytest.raises(ValueError, match="'b' is not in the word symbol table"):
        arpa_to_fst_text(model, small)
    assert all(
        "\t2\t2\t" not in line for line in arpa_to_fst_text(model, small, oov="skip").splitlines()
    )


def walk(fst_text: str, words: list[str]) -> float:
    """Cost of a sentence through G, taking a back-off arc only when no word arc exists."""
    arcs: dict[tuple[int, str], tuple[int, float]] = {}
    finals: dict[int, float] = {}
    for line in fst_text.splitlines():
        fields = line.split("\t")
        if len(fields) == 2:
            finals[int(fields[0])] = float(fields[1])
        else:
            arcs[(int(fields[0]), fields[2])] = (int(fields[1]), float(fields[4]))
    state, cost = 0, 0.0
    for word in words + ["</s>"]:
        while True:
            if word == "</s>" and state in finals:
                return cost + finals[state]
            if (state, word) in arcs:
                state, arc_cost = arcs[(state, word)]
                cost += arc_cost
                break
            state, arc_cost = arcs[(state, "#0")]
            cost += arc_cost
    raise AssertionError("unreachable")


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_g_scores_equal_lm_scores(an4_models, an4_test_text, order):
    model = an4_models[order]
    text = arpa_to_fst_text(model)
    for sentence in an4_test_text[:40]:
        sentence = [w if w in model else "<unk>" for w in sentence]
        expected = -math.log(10.0) * model.score_sentence(sentence)
        assert walk(text, sentence) == pytest.approx(expected, abs=1e-4)


def test_compile_with_kaldifst(an4_models):
    pytest.importorskip("kaldifst", reason="kaldifst is not installed")
    model = an4_models[3]
    words = SymbolTable.from_symbols(
        ["<eps>", *sorted(w for w in model.vocab if w not in ("<s>", "</s>")), "#0", "<s>", "</s>"]
    )
    text = arpa_to_fst_text(model, words)
    fst = compile_g(model, words)
    num_states = len({int(line.split("\t")[0]) for line in text.splitlines()})
    assert fst.num_states == num_states
    assert fst.start == 0
    assert sum(fst.num_arcs(s) for s in range(fst.num_states)) == sum(
        1 for line in text.splitlines() if line.count("\t") == 4
    )
    assert fst.is_ilabel_sorted
