"""Context expansion: identity for monophones, Kaldi's C for wider windows."""

import pytest

from asr.graph.c import ContextSpec, compose_context
from asr.graph.fstext import compile_text, fst_text

LG = "0\t1\t1\t1\t0\n1\t2\t2\t0\t0\n2\t0\n"   # phones 1 2, word 1


def test_monophone_context_is_identity():
    lg = compile_text(LG)
    clg, ilabels = compose_context(lg, ContextSpec(), disambig_ids=[3])
    assert clg is lg and ilabels is None


def test_triphone_context_windows():
    clg, ilabels = compose_context(compile_text(LG), ContextSpec(3, 1), disambig_ids=[3])
    labels = [int(line.split("\t")[2]) for line in fst_text(clg).splitlines()
              if len(line.split("\t")) >= 4]
    windows = [ilabels[i] for i in labels]
    # phone 1 with no left context and phone 2 on its right, then phone 2 after 1 at the end
    assert [0, 1, 2] in windows and [1, 2, 0] in windows


@pytest.mark.parametrize("width, centre", [(0, 0), (3, 3), (2, -1)])
def test_bad_context_spec(width, centre):
    with pytest.raises(ValueError, match="context"):
        ContextSpec(width, centre)
