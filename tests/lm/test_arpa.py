from pathlib import Path

import pytest

from asr.lm import ArpaModel, arpa_text, perplexity, read_arpa, write_arpa
from asr.lm.arpa import UNK

from .test_estimate import context_sums

ETC = Path(__file__).resolve().parents[2] / "corpora" / "an4" / "etc"

TINY = """\\data\\
ngram 1=4
ngram 2=3

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.5
-0.5\ta\t-0.3
-0.7\tb

\\2-grams:
-0.2\t<s> a
-0.4\ta b
-0.3\ta </s>

\\end\\
"""


def write(tmp_path, text, name="lm.arpa"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tiny_model_queries(tmp_path):
    model = read_arpa(write(tmp_path, TINY))
    assert model.order == 2 and model.counts == [4, 3]
    assert model.ngrams[0][("a",)] == (-0.5, -0.3)
    assert model.ngrams[0][("b",)] == (-0.7, 0.0)  # missing back-off reads as 0
    assert model.log10_prob("a", ["<s>"]) == pytest.approx(-0.2)
    assert model.log10_prob("b", ["<s>"]) == pytest.approx(-0.5 - 0.7)  # bo(<s>) + p(b)
    assert model.log10_prob("b", ["b"]) == pytest.approx(-0.7)  # b is no context
    assert model.score_sentence(["a", "b"]) == pytest.approx(-0.2 - 0.4 - 1.0)
    with pytest.raises(ValueError, match="not in the LM vocabulary"):
        model.log10_prob("zzz", ["a"])


def test_write_read_roundtrip(tmp_path, an4_models):
    model = an4_models[3]
    for name in ("lm.arpa", "lm.arpa.gz"):
        write_arpa(model, tmp_path / name)
        back = read_arpa(tmp_path / name)
        assert back.counts == model.counts
        for table, table_back in zip(model.ngrams, back.ngrams):
            assert list(table) == list(table_back)
            for ngram, (prob, backoff) in table.items():
                assert table_back[ngram][0] == pytest.approx(prob, abs=1e-6)
                assert table_back[ngram][1] == pytest.approx(backoff, abs=1e-6)
        sums = context_sums(back).values()  # normalized up to the 7 digits written
        assert max(abs(s - 1.0) for s in sums) < 1e-5
    text = arpa_text(model)
    assert text.startswith("\\data\\\nngram 1=102\nngram 2=1256\nngram 3=3121\n\n\\1-grams:\n")
    assert text.endswith("\n\\end\\\n")


def test_reads_cmu_an4_unigram_lm():
    model = read_arpa(ETC / "an4.ug.lm")  # comment header before \data\, -99 back-offs
    assert model.counts == [107, 1]
    assert model.ngrams[0][("</s>",)] == (-2.0253, -99.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("ngram 1=1\n\\1-grams:\n-1 a\n\\end\\\n", r"lm.arpa:4: no \\data\\ header"),
        ("\\data\\\nngram one=1\n", r"lm.arpa:2: expected 'ngram N=count'"),
        ("\\data\\\nngram 2=1\n", r"lm.arpa:2: header declares order 2 after order 0"),
        ("\\data\\\n\n\\1-grams:\n", r"lm.arpa:3: expected 'ngram N=count'"),
        (
            "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n\\end\\\n",
            r"lm.arpa:4: \\1-grams: section has 1 entries but the header \(line 2\) declares 2",
        ),
        (
            "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\n\n"
            "\\2-grams:\n-1\ta a\n-1\ta b\n\\end\\\n",
            r"lm.arpa:8: \\2-grams: section has 2 entries but the header \(line 3\) declares 1",
        ),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta\n", r"lm.arpa:5: file ends without \\end\\"),
        (
            "\\data\\\nngram 1=1\n\n\\1-grams:\n0.5\ta\n\\end\\\n",
            r"lm.arpa:5: log10 probability 0.5 > 0",
        ),
        (
            "\\data\\\nngram 1=1\n\n\\1-grams:\nx\ta\n\\end\\\n",
            r"lm.arpa:5: log10 probability 'x' is not a number",
        ),
        (
            "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta b c\n\\end\\\n",
            r"lm.arpa:5: a 1-gram entry needs 2 or 3 fields",
        ),
        (
            "\\data\\\nngram 1=1\nngram 2=0\n\n\\2-grams:\n\\end\\\n",
            r"lm.arpa:5: section \\2-grams: out of order",
        ),
        (
            "\\data\\\nngram 1=1\nngram 2=0\n\n\\1-grams:\n-1\ta\n\\end\\\n",
            r"lm.arpa:7: \\end\\ after the 1-grams",
        ),
        (
            "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n-1\ta\n\\end\\\n",
            r"lm.arpa:6: duplicate 1-gram 'a'",
        ),
    ],
)
def test_broken_files_name_file_and_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_arpa(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        read_arpa(tmp_path / "missing.arpa")


def test_perplexity_counts_oov_as_unk(an4_models):
    model: ArpaModel = an4_models[2]
    assert UNK in model
    result = perplexity(model, [["YES", "ZZZ"]])
    assert result.num_oov == 1 and result.num_excluded == 0 and result.num_predictions == 3
    expected = model.score_sentence(["YES", UNK])
    assert result.logprob == pytest.approx(expected)
    assert result.ppl == pytest.approx(10 ** (-expected / 3))
