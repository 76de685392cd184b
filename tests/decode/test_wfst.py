"""The WFST decoder (kaldi-decoder) on a hand-made graph with hand-made scores."""

import numpy as np
import pytest

from asr.decode.wfst import DecoderConfig, WfstDecoder, add_word_penalty, lattice_best_paths
from asr.graph.fstext import compile_text, fst_text

# Labels 1..3 are "sounds"; words 1 = ONE (sound 1 then 2), 2 = TWO (sound 3),
# any number of them in a row. Self-loops let a sound last several frames.
_ARCS = [
    "0\t1\t1\t1\t0.5",   # ONE starts
    "1\t1\t1\t0\t0",
    "1\t2\t2\t0\t0",
    "2\t2\t2\t0\t0",
    "2\t0\t0\t0\t0",     # epsilon back to the word loop
    "0\t3\t3\t2\t0.5",   # TWO
    "3\t3\t3\t0\t0",
    "3\t0\t0\t0\t0",
    "0\t0",
]
GRAPH = "".join(line + "\n" for line in _ARCS)


def _scores(sounds: list[int], frames: int = 4, miss: float = -10.0) -> np.ndarray:
    x = np.full((len(sounds) * frames, 3), miss, np.float32)
    for i, s in enumerate(sounds):
        x[i * frames:(i + 1) * frames, s - 1] = 0.0
    return x


@pytest.mark.parametrize("lattice", [False, True])
@pytest.mark.parametrize("sounds, words", [([1, 2], [1]), ([3], [2]), ([1, 2, 3, 3, 1, 2], [1, 2, 1])])
def test_decoder_returns_expected_words(sounds, words, lattice):
    dec = WfstDecoder(compile_text(GRAPH), DecoderConfig(beam=10.0, lattice=lattice,
                                                         acoustic_scale=1.0))
    result = dec.decode(_scores(sounds))
    # TWO TWO in a row cannot be told from one long TWO: the cheaper single word wins.
    expected = [w for i, w in enumerate(words) if not (w == 2 and i and words[i - 1] == 2)]
    assert result.words == expected
    assert result.reached_final
    assert len(result.labels) == 4 * len(sounds)
    assert result.acoustic_cost == pytest.approx(0.0)
    assert result.graph_cost == pytest.approx(0.5 * len(expected))


def test_acoustic_scale_trades_against_graph_cost():
    # The frames fit TWO best (acoustic cost 0 vs 6 for ONE), but TWO's graph cost is 6
    # vs 0.5: at acoustic scale 1 TWO wins (6 < 6.5), at 0.1 ONE does (1.1 < 6).
    graph = compile_text(GRAPH.replace("0\t3\t3\t2\t0.5", "0\t3\t3\t2\t6"))
    x = np.full((4, 3), -2.0, np.float32)
    x[:, 2] = 0.0
    x[2:, 1] = -1.0
    strong = WfstDecoder(graph, DecoderConfig(acoustic_scale=1.0)).decode(x)
    weak = WfstDecoder(graph, DecoderConfig(acoustic_scale=0.1)).decode(x)
    assert strong.words == [2]
    assert weak.words == [1]


def test_nbest_from_lattice():
    dec = WfstDecoder(compile_text(GRAPH), DecoderConfig(lattice=True, acoustic_scale=1.0,
                                                         lattice_beam=20.0))
    x = _scores([1, 2])
    x[:, 2] = -1.0  # TWO is a close second
    result = dec.decode(x)
    paths = dec.nbest(result, 5)
    assert paths[0] == ([1], pytest.approx(result.graph_cost), pytest.approx(result.acoustic_cost))
    assert all(paths[i][1] + paths[i][2] <= paths[i + 1][1] + paths[i + 1][2] + 1e-4
               for i in range(len(paths) - 1))
    assert len({tuple(p[0]) for p in paths}) == len(paths) == 5
    # By hand: ONE TWO gives TWO one frame of sound 3 (-1): graph 2 x 0.5, acoustic 1; so
    # does TWO ONE. Each sentence appears once (the raw lattice holds many alignments of
    # each) with its best path's costs.
    by_words = {tuple(w): (g, a) for w, g, a in paths}
    assert by_words[(1, 2)] == (pytest.approx(1.0), pytest.approx(1.0))
    assert by_words[(2, 1)] == (pytest.approx(1.0), pytest.approx(1.0))
    # TWO alone costs 8 frames of sound 3: acoustic 8
    far = dict((tuple(w), (g, a)) for w, g, a in dec.nbest(result, 40))
    assert far[(2,)] == (pytest.approx(0.5), pytest.approx(8.0))


def test_word_penalty_adds_cost_to_word_arcs_only():
    penalised = fst_text(add_word_penalty(compile_text(GRAPH), 1.0)).splitlines()
    assert "0\t1\t1\t1\t1.5" in penalised
    assert "0\t3\t3\t2\t1.5" in penalised
    assert "1\t2\t2\t0" in penalised   # zero cost, printed without a weight
    assert add_word_penalty(compile_text(GRAPH), 0.0).num_states == 4


def test_decode_rejects_empty_input():
    dec = WfstDecoder(compile_text(GRAPH))
    with pytest.raises(ValueError, match="utt7"):
        dec.decode(np.zeros((0, 3), np.float32), "utt7")


def test_lattice_best_paths_equal_a_fresh_search_at_each_setting():
    """One lattice, decoded at acoustic scale 1 with a wide lattice beam, gives for every
    (acoustic scale, word penalty) the words and frame labels that a search at that
    setting finds."""
    graph = compile_text(GRAPH.replace("0\t3\t3\t2\t0.5", "0\t3\t3\t2\t3"))
    rng = np.random.default_rng(0)
    settings = [(1.0, 0.0), (0.1, 0.0), (0.5, 2.0), (2.0, -0.4), (0.3, 1.0)]
    for _ in range(4):
        x = rng.normal(-1.0, 1.5, size=(10, 3)).astype(np.float32)
        dec = WfstDecoder(graph, DecoderConfig(beam=50.0, lattice=True, acoustic_scale=1.0,
                                               lattice_beam=50.0))
        result = dec.decode(x)
        paths = lattice_best_paths(result, [s for s, _ in settings], [p for _, p in settings])
        assert paths[0][0] == result.words and paths[0][1].tolist() == result.labels.tolist()
        for (scale, penalty), (words, labels) in zip(settings, paths):
            fresh = WfstDecoder(add_word_penalty(graph, penalty),
                                DecoderConfig(beam=50.0, acoustic_scale=scale)).decode(x)
            assert words == fresh.words, (scale, penalty)
            assert labels.tolist() == fresh.labels.tolist()


def test_lattice_best_paths_need_a_lattice():
    result = WfstDecoder(compile_text(GRAPH)).decode(_scores([3]))
    with pytest.raises(ValueError, match="lattice=True"):
        lattice_best_paths(result, [1.0], [0.0])
