"""The CTC topology H and the decoding graph HLG = H o L o G for a phone CTC model.

**H (standard CTC topology).** Token ids are those of the tokenizer (0 = blank); an
input label is ``token id + 1`` (0 is epsilon), so column ``j`` of the model's CTC
log-probabilities ``(T', V)`` scores label ``j + 1`` (:mod:`asr.decode.wfst`). An output
label is the token id itself: the blank becomes epsilon, and the phones keep their
tokenizer ids, which are also L's input labels. States: 0 = "after a blank" (the
start), and one state per phone token = "that phone was the last frame"::

    0   --blank:<eps>--> 0               blank self-loop
    q_a --blank:<eps>--> 0               a blank ends the phone
    q_a --a:<eps>------> q_a             a repeated frame of phone a collapses
    s   --a:a----------> q_a             for every state s other than q_a: phone a starts

Every state is final (cost 0); all costs are 0 (the model's log-probabilities are the
only acoustic score). A phone repeated in the output needs a blank between its two
instances, exactly as CTC's collapse rule says. This is the "standard" topology
(k2's ``ctc_topo(max_token, modified=False)``; ``O(N^2)`` arcs for N phones, ~1.2 k arcs
for AN4's 33). A compact variant, where a phone state returns to the blank state through
an epsilon (``O(N)`` arcs), is smaller but also reads ``a a`` without a blank as two
phones, which the CTC loss never trained; it is not built here.

Disambiguation: each phone-level ``#k`` gets a self-loop at every state reading the
new input label ``V + 1 + k`` and writing ``#k``'s phone id; after determinization
these input labels become epsilon (:func:`asr.graph.hclg.remove_input_labels`).

**HLG** (every FST in the tropical semiring, costs = negated natural logs)::

    L   = lexicon FST without optional silence (the blank absorbs silence), with
          disambiguation symbols and #0:#0 self-loops                 (asr.graph.l)
    G   = ARPA -> FST, back-off arcs #0:<eps>                         (asr.lm.fst)
    LG  = minimize_encoded(determinize_star(L o G, use_log))          (asr.graph.hclg)
    HLG = arcsort(minimize_encoded(rmsymbols(determinize_star(H o LG, use_log))))

L's phone table is the tokenizer's table with ``<blank>`` renamed ``<eps>``, followed
by ``#0 .. #N``. Lexicon entries with a phone that is not a token (``<sil> SIL``,
``<UNK> SPN``) are left out.

Graph directory (:func:`write_hlg_dir`, each file atomically): ``HLG.fst`` (OpenFst
binary), ``words.txt``, ``tokens.txt`` (the tokenizer's ids), ``phones.txt`` (L's
table), ``lexicon.txt`` (the pronunciations in L), ``info.json`` (sizes, options).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asr.graph.fstext import arc_line, compile_text, final_line
from asr.lexicon.lexicon import Lexicon, lexicon_text
from asr.text.symbols import SymbolTable
from asr.utils.io import atomic_write_text

BLANK_ID = 0
TOPOLOGY = "standard"


def ctc_topo_text(num_tokens: int, phone_ids: Sequence[int],
                  disambig_ids: Sequence[int] = ()) -> str:
    """H in OpenFst text form (the standard CTC topology, see the module docstring).

    Args:
        num_tokens: the tokenizer's vocabulary size ``V`` (blank 0 included); input
            labels of tokens are ``1 .. V``, of disambiguation symbols ``V + 1 + k``.
        phone_ids: the token ids that H may output (the phones; not 0, each < V).
        disambig_ids: output labels (L's phone ids) of ``#0, #1, ...``.
    """
    if len(set(phone_ids)) != len(phone_ids):
        raise ValueError("CTC topology: repeated phone ids")
    for t in phone_ids:
        if not 0 < t < num_tokens:
            raise ValueError(f"CTC topology: phone id {t} outside 1 .. {num_tokens - 1}")
    blank_label = BLANK_ID + 1
    state = {t: i + 1 for i, t in enumerate(phone_ids)}  # q_a
    lines = [arc_line(0, 0, blank_label, 0, 0.0)]
    for src_token in (None, *phone_ids):
        src = 0 if src_token is None else state[src_token]
        if src_token is not None:
            lines.append(arc_line(src, 0, blank_label, 0, 0.0))
        for t in phone_ids:
            lines.append(arc_line(src, state[t], t + 1, 0 if t == src_token else t, 0.0))
        for k, d in enumerate(disambig_ids):
            lines.append(arc_line(src, src, num_tokens + 1 + k, d, 0.0))
    lines.extend(final_line(s, 0.0) for s in range(len(phone_ids) + 1))
    return "\n".join(lines) + "\n"


@dataclass
class HlgGraph:
    """A built HLG and its tables."""

    hlg: object                      # kaldifst.StdVectorFst
    words: SymbolTable
    tokens: SymbolTable              # the tokenizer's tokens (input label = id + 1)
    phones: SymbolTable              # L's phone table (tokens, blank as <eps>, then #k)
    lexicon: Lexicon = field(default_factory=Lexicon)
    info: dict = field(default_factory=dict)


def phone_table(tokens: Sequence[str], num_disambig: int) -> SymbolTable:
    """L's phone table: the tokens with the blank (id 0) as ``<eps>``, then ``#0 .. #N``."""
    return SymbolTable.from_symbols(["<eps>", *tokens[1:],
                                     *(f"#{k}" for k in range(num_disambig + 1))])


def make_hlg(tokens: Sequence[str], lexicon: Lexicon, arpa_model,
             words: SymbolTable | None = None) -> HlgGraph:
    """Build HLG for a CTC model over ``tokens`` (the tokenizer's tokens in id order,
    blank first). The phones are every token that some lexicon entry uses; ``arpa_model``
    is an :class:`asr.lm.arpa.ArpaModel` (n-grams over words outside ``words`` skipped)."""
    import kaldifst

    from asr.graph.hclg import build_lg, remove_input_labels, usable_lexicon, word_table
    from asr.graph.l import lexicon_fst_text
    from asr.lexicon.disambig import add_disambig_symbols
    from asr.lm.fst import compile_g

    tokens = list(tokens)
    lexicon, dropped = usable_lexicon(lexicon, tokens[1:])
    if not len(lexicon):
        raise ValueError("HLG: no lexicon entry uses only the model's tokens")
    words = words or word_table(lexicon.words())
    for w in lexicon.words():
        if w not in words:
            raise ValueError(f"HLG: lexicon word {w!r} is not in the word table")
    lex_disambig, num_disambig = add_disambig_symbols(lexicon.with_probs())
    phones = phone_table(tokens, num_disambig)
    entries = [(e.word, list(e.phones), e.prob) for e in lex_disambig]
    lfst = compile_text(lexicon_fst_text(entries, phones, words, sil_phone=None, sil_prob=0.0))
    kaldifst.add_self_loops(lfst, [phones["#0"]], [words["#0"]])
    kaldifst.arcsort(lfst, sort_type="olabel")
    lg = build_lg(lfst, compile_g(arpa_model, words, oov="skip"))

    phone_ids = sorted({phones[p] for e in lexicon for p in e.phones})
    disambig_ids = [phones[f"#{k}"] for k in range(num_disambig + 1)]
    hfst = compile_text(ctc_topo_text(len(tokens), phone_ids, disambig_ids))
    kaldifst.arcsort(hfst, sort_type="olabel")
    kaldifst.arcsort(lg, sort_type="ilabel")
    hlg = kaldifst.compose(hfst, lg)
    kaldifst.determinize_star(hlg, use_log=True)
    hlg = remove_input_labels(hlg, first=len(tokens) + 1)
    kaldifst.minimize_encoded(hlg)
    kaldifst.arcsort(hlg, sort_type="ilabel")
    if hlg.num_states == 0:
        raise ValueError("HLG is empty (no LM word has a pronunciation?)")
    info = {"topology": TOPOLOGY, "num_tokens": len(tokens), "num_phones": len(phone_ids),
            "num_states": hlg.num_states,
            "num_arcs": sum(hlg.num_arcs(s) for s in range(hlg.num_states)),
            "h_arcs": sum(hfst.num_arcs(s) for s in range(hfst.num_states)),
            "lg_states": lg.num_states, "num_disambig": num_disambig,
            "dropped_lexicon_entries": dropped}
    return HlgGraph(hlg, words, SymbolTable.from_symbols(tokens), phones, lexicon, info)


def write_hlg_dir(graph: HlgGraph, out_dir: str | Path, extra_info: dict | None = None) -> None:
    """Write the graph directory described in the module docstring."""
    from asr.graph.hclg import write_fst

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_fst(graph.hlg, out / "HLG.fst")
    graph.words.write(out / "words.txt")
    graph.tokens.write(out / "tokens.txt")
    graph.phones.write(out / "phones.txt")
    atomic_write_text(out / "lexicon.txt", lexicon_text(graph.lexicon))
    atomic_write_text(out / "info.json", json.dumps({**graph.info, **(extra_info or {})},
                                                    indent=1) + "\n")


def read_hlg_dir(graph_dir: str | Path) -> tuple[object, SymbolTable, SymbolTable, dict]:
    """``(HLG, words, tokens, info)``; FileNotFoundError naming a missing file."""
    import kaldifst

    d = Path(graph_dir)
    for name in ("HLG.fst", "words.txt", "tokens.txt", "info.json"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"HLG graph directory {d} has no {name}")
    hlg = kaldifst.StdVectorFst.read(str(d / "HLG.fst"))
    info = json.loads((d / "info.json").read_text(encoding="utf-8"))
    return hlg, SymbolTable.read(d / "words.txt"), SymbolTable.read(d / "tokens.txt"), info
