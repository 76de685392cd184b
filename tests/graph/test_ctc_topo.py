"""The CTC topology H on its text form and as a transducer; HLG built on a small lexicon."""

import numpy as np
import pytest

from asr.decode.wfst import DecoderConfig, WfstDecoder
from asr.graph.ctc_topo import ctc_topo_text, make_hlg, phone_table, read_hlg_dir, write_hlg_dir
from asr.graph.fstext import compile_text
from asr.lexicon.lexicon import Lexicon
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney

# Tokenizer layout: 0 <blank>, 1 <unk>, 2 A, 3 B, 4 <sos/eos>; L's #0 has phone id 5.
TOKENS = ["<blank>", "<unk>", "A", "B", "<sos/eos>"]


def test_standard_topology_text_form():
    lines = ctc_topo_text(len(TOKENS), [2, 3], disambig_ids=[5]).splitlines()
    # input label = token id + 1 (blank = 1); #0 reads 6 = V + 1; states: 0, q_A = 1, q_B = 2
    assert lines == [
        "0\t0\t1\t0\t0",     # blank self-loop
        "0\t1\t3\t2\t0",     # A starts
        "0\t2\t4\t3\t0",     # B starts
        "0\t0\t6\t5\t0",     # #0 passes through
        "1\t0\t1\t0\t0",     # a blank ends A
        "1\t1\t3\t0\t0",     # A repeated: collapsed
        "1\t2\t4\t3\t0",     # B right after A
        "1\t1\t6\t5\t0",
        "2\t0\t1\t0\t0",
        "2\t1\t3\t2\t0",
        "2\t2\t4\t0\t0",
        "2\t2\t6\t5\t0",
        "0\t0", "1\t0", "2\t0",
    ]


def test_topology_rejects_bad_phone_ids():
    with pytest.raises(ValueError, match="outside"):
        ctc_topo_text(3, [0, 1])
    with pytest.raises(ValueError, match="outside"):
        ctc_topo_text(3, [3])
    with pytest.raises(ValueError, match="repeated"):
        ctc_topo_text(3, [1, 1])


def _one_hot(frames: list[int], num_tokens: int) -> np.ndarray:
    x = np.full((len(frames), num_tokens), -20.0, np.float32)
    x[np.arange(len(frames)), frames] = 0.0
    return x


@pytest.mark.parametrize("frames, phones", [
    ([2, 2, 0, 2, 3, 3], [2, 2, 3]),   # a blank separates two A's; B B collapses
    ([2, 2, 2], [2]),
    ([0, 3, 0, 0], [3]),
    ([2, 3, 2], [2, 3, 2]),
    ([0, 0], []),
])
def test_h_applies_the_ctc_collapse_rule(frames, phones):
    h = compile_text(ctc_topo_text(len(TOKENS), [2, 3]))
    result = WfstDecoder(h, DecoderConfig(acoustic_scale=1.0)).decode(
        _one_hot(frames, len(TOKENS)))
    assert result.words == phones  # H's output labels are phone (token) ids
    assert result.labels.tolist() == [f + 1 for f in frames]


def test_phone_table_renames_the_blank():
    table = phone_table(TOKENS, num_disambig=1)
    assert table.symbols == ["<eps>", "<unk>", "A", "B", "<sos/eos>", "#0", "#1"]


def test_make_hlg_drops_silence_words_and_round_trips(tmp_path):
    lexicon = Lexicon.from_pairs([("AB", "A B"), ("BA", "B A"), ("A", "A"), ("<sil>", "SIL")])
    arpa = estimate_kneser_ney([["AB", "BA"], ["A", "AB"]], 2, unk=None,
                               discount_fallback=DEFAULT_FALLBACK)
    graph = make_hlg(TOKENS, lexicon, arpa)
    assert graph.info["dropped_lexicon_entries"] == ["<sil> SIL"]
    assert graph.info["num_phones"] == 2 and graph.info["num_tokens"] == 5
    assert graph.info["num_disambig"] == 1  # A is a prefix of AB
    assert "<sil>" not in graph.words and "AB" in graph.words
    write_hlg_dir(graph, tmp_path / "graph", {"lm": "test"})
    hlg, words, tokens, info = read_hlg_dir(tmp_path / "graph")
    assert tokens.symbols == TOKENS and words == graph.words
    assert hlg.num_states == graph.hlg.num_states and info["lm"] == "test"
    assert (tmp_path / "graph" / "lexicon.txt").read_text() == "AB A B\nBA B A\nA A\n"
    with pytest.raises(FileNotFoundError, match="HLG.fst"):
        read_hlg_dir(tmp_path)
