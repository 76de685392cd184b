"""OpenFst text-form helpers shared by the graph builders.

A text FST is one ``src dst ilabel olabel cost`` line per arc and one ``state cost``
line per final state, tab-separated; the first arc's source is the start state.
Costs are tropical weights (negated natural-log probabilities), written with 7
significant digits as Kaldi's tools do.
"""

from __future__ import annotations


def fmt_cost(cost: float) -> str:
    """A cost as text: ``0`` for zero (never ``-0``), else 7 significant digits."""
    cost = float(cost) + 0.0
    return "0" if cost == 0.0 else f"{cost:.7g}"


def arc_line(src: int, dst: int, ilabel: int, olabel: int, cost: float) -> str:
    return f"{src}\t{dst}\t{ilabel}\t{olabel}\t{fmt_cost(cost)}"


def final_line(state: int, cost: float) -> str:
    return f"{state}\t{fmt_cost(cost)}"


def compile_text(text: str):
    """Text form -> ``kaldifst.StdVectorFst`` (state numbers kept)."""
    import kaldifst

    return kaldifst.compile(text, acceptor=False, keep_state_numbering=True)


def fst_text(fst) -> str:
    """``kaldifst`` FST -> text form, tab-separated as ``fstprint`` without symbols."""
    text = fst.to_str(show_weight_one=False, fst_field_separator="\t")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip()) + "\n"
