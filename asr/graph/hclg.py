"""HCLG composition (Kaldi's ``mkgraph.sh``) with kaldifst, and the graph directory.

Pipeline (every FST in the tropical semiring, costs = negated natural logs)::

    L   = lexicon FST with optional silence and disambiguation symbols   (asr.graph.l)
          + self-loops #0:#0 so that G's back-off symbols pass through
    G   = ARPA -> FST, back-off arcs #0:<eps>                            (asr.lm.fst)
    LG  = minimize_encoded(determinize_star(L o G, use_log))
    CLG = context expansion of LG (identity for monophones)              (asr.graph.c)
    H   = HMM transducer with self-loops, disambiguation loops at the hub (asr.graph.h;
          for a tree-tied model its output labels are CLG's context windows)
    HCLG = arcsort(minimize_encoded(rmsymbols(determinize_star(H o CLG, use_log))))

``rmsymbols`` turns the disambiguation input labels into epsilon. HCLG's input labels
are transition ids + 1 (0 = epsilon), its output labels word ids.

Graph directory (written by :func:`write_graph_dir`, each file atomically)::

    HCLG.fst     OpenFst binary (StdVectorFst), readable by kaldifst / Kaldi / OpenFst
    HCLG.txt     the same in text form, only when it has at most ``text_max_arcs`` arcs
    words.txt    word symbol table (output labels)
    phones.txt   the graph's phone table (<eps>, the model's phones, #0 .. #N)
    lexicon.txt  the pronunciations in L (WORD PH1 PH2 ...; for word timings)
    info.json    sizes, options, the number of transition ids, the model it was built for
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asr.graph.c import ContextSpec, compose_context
from asr.graph.fstext import compile_text, fst_text
from asr.graph.h import cd_hmm_fst_text, disambig_tid_label, hmm_fst_text
from asr.graph.l import lexicon_fst_text
from asr.hmm.transition_model import TransitionModel
from asr.lexicon.disambig import add_disambig_symbols
from asr.lexicon.lexicon import Lexicon, lexicon_text
from asr.text.symbols import SymbolTable
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class GraphConfig:
    """Graph options (defaults follow Kaldi's ``prepare_lang.sh`` / ``mkgraph.sh``)."""

    sil_phone: str = "SIL"
    sil_prob: float = 0.5
    self_loop_scale: float = 0.1
    context_width: int = 1
    central_position: int = 0
    text_max_arcs: int = 200_000


@dataclass
class Graph:
    """A built decoding graph and its symbol tables."""

    hclg: object                      # kaldifst.StdVectorFst
    words: SymbolTable
    phones: SymbolTable
    num_transition_ids: int
    lexicon: Lexicon = field(default_factory=Lexicon)   # the entries used in L
    info: dict = field(default_factory=dict)


def word_table(words: Sequence[str]) -> SymbolTable:
    """Kaldi's words.txt: ``<eps>`` 0, the words sorted, then ``#0``, ``<s>``, ``</s>``."""
    return SymbolTable.from_symbols(["<eps>", *sorted(set(words)), "#0", "<s>", "</s>"])


def usable_lexicon(lexicon: Lexicon, phones: Sequence[str]) -> tuple[Lexicon, list[str]]:
    """Entries whose phones the model has, and the dropped entries as ``WORD PH..`` lines
    (e.g. ``<UNK> SPN`` when the model has no SPN)."""
    known = set(phones)
    kept, dropped = Lexicon(), []
    for e in lexicon:
        if all(p in known for p in e.phones):
            kept.entries.append(e)
        else:
            dropped.append(" ".join([e.word, *e.phones]))
    return kept, dropped


def build_l(lexicon: Lexicon, tm: TransitionModel, words: SymbolTable, config: GraphConfig):
    """``(L fst, phone table, number of phone disambiguation symbols)``; L includes the
    ``#0:#0`` self-loops and is sorted on output labels."""
    import kaldifst

    lex_disambig, max_n = add_disambig_symbols(lexicon.with_probs())
    use_sil = config.sil_phone is not None and config.sil_prob > 0
    num_disambig = max_n + 1 if use_sil else max_n  # Kaldi: one more for the silence
    phones = SymbolTable.from_symbols(["<eps>", *tm.phones,
                                       *(f"#{k}" for k in range(num_disambig + 1))])
    if use_sil and config.sil_phone not in tm.phones:
        raise ValueError(f"graph: the silence phone {config.sil_phone!r} is not in the model")
    entries = [(e.word, list(e.phones), e.prob) for e in lex_disambig]
    text = lexicon_fst_text(entries, phones, words, config.sil_phone if use_sil else None,
                            config.sil_prob, f"#{num_disambig}" if use_sil else None)
    lfst = compile_text(text)
    kaldifst.add_self_loops(lfst, [phones["#0"]], [words["#0"]])
    kaldifst.arcsort(lfst, sort_type="olabel")
    return lfst, phones, num_disambig


def build_lg(lfst, gfst):
    """``LG = minimize_encoded(determinize_star(L o G))`` (log-semiring determinization)."""
    import kaldifst

    kaldifst.arcsort(gfst, sort_type="ilabel")
    lg = kaldifst.compose(lfst, gfst)
    kaldifst.determinize_star(lg, use_log=True)
    kaldifst.minimize_encoded(lg)
    return lg


def build_hclg(tm: TransitionModel, clg, phones: SymbolTable, num_disambig: int,
               config: GraphConfig, tree=None, ilabels=None):
    """``HCLG`` from CLG (monophone CLG = LG), disambiguation symbols removed, arcsorted.

    With a ``tree`` (:class:`asr.gmm.tree.ContextDependency`) H is the context-dependent
    one over CLG's ``ilabels`` windows."""
    import kaldifst

    if tree is not None:
        text, _ = cd_hmm_fst_text(tm, tree, ilabels, config.self_loop_scale)
        hfst = compile_text(text)
    else:
        disambig_ids = [phones[f"#{k}"] for k in range(num_disambig + 1)]
        phone_ids = [phones[p] for p in tm.phones]
        hfst = compile_text(hmm_fst_text(tm, phone_ids, disambig_ids, config.self_loop_scale))
    kaldifst.arcsort(hfst, sort_type="olabel")
    kaldifst.arcsort(clg, sort_type="ilabel")
    hclg = kaldifst.compose(hfst, clg)
    kaldifst.determinize_star(hclg, use_log=True)
    hclg = remove_input_labels(hclg, first=disambig_tid_label(tm, 0))
    kaldifst.minimize_encoded(hclg)
    kaldifst.arcsort(hclg, sort_type="ilabel")
    return hclg


def remove_input_labels(fst, first: int):
    """A copy of ``fst`` with every input label >= ``first`` replaced by epsilon
    (Kaldi's ``fstrmsymbols`` on the disambiguation transition ids)."""
    lines = []
    for line in fst_text(fst).splitlines():
        cols = line.split("\t")
        if len(cols) >= 4 and int(cols[2]) >= first:
            cols[2] = "0"
        lines.append("\t".join(cols))
    return compile_text("\n".join(lines) + "\n")


def make_graph(tm: TransitionModel, lexicon: Lexicon, arpa_model, words: SymbolTable | None = None,
               config: GraphConfig | None = None, tree=None) -> Graph:
    """Build HCLG for a monophone transition model, or a tree-tied one with ``tree``.

    Args:
        tm: the acoustic model's transition model (phones and transition ids).
        lexicon: pronunciations (entries using phones the model lacks are dropped with a
            warning, e.g. ``<UNK> SPN``).
        arpa_model: an :class:`asr.lm.arpa.ArpaModel` (G, via :func:`asr.lm.fst.compile_g`;
            n-grams over words missing from ``words`` are skipped).
        words: word table (default :func:`word_table` of the lexicon's words).
        config: options (``context_width``/``central_position`` are taken from ``tree``).
        tree: the :class:`asr.gmm.tree.ContextDependency` of a context-dependent model.
    """
    from asr.lm.fst import compile_g

    cfg = config or GraphConfig()
    if tree is not None:
        tree.check_phones(tm)
        cfg = GraphConfig(**{**asdict(cfg), "context_width": tree.context_width,
                             "central_position": tree.central_position})
    spec = ContextSpec(cfg.context_width, cfg.central_position)
    if not spec.is_monophone and tree is None:
        raise ValueError("graph: a context-dependent graph needs the model's tree")
    lexicon, dropped = usable_lexicon(lexicon, tm.phones)
    if dropped:
        log.warning("graph: %d lexicon entries use phones the model lacks and are left out: %s",
                    len(dropped), "; ".join(dropped[:10]))
    if not len(lexicon):
        raise ValueError("graph: no lexicon entry uses only the model's phones")
    words = words or word_table(lexicon.words())
    for w in lexicon.words():
        if w not in words:
            raise ValueError(f"graph: lexicon word {w!r} is not in the word table")
    lfst, phones, num_disambig = build_l(lexicon, tm, words, cfg)
    gfst = compile_g(arpa_model, words, oov="skip")
    lg = build_lg(lfst, gfst)
    disambig_ids = [phones[f"#{k}"] for k in range(num_disambig + 1)]
    clg, ilabels = compose_context(lg, spec, disambig_ids)
    hclg = build_hclg(tm, clg, phones, num_disambig, cfg, tree, ilabels)
    if hclg.num_states == 0:
        raise ValueError("graph: HCLG is empty (no LM word has a pronunciation?)")
    info = {"config": asdict(cfg), "num_transition_ids": tm.num_transition_ids,
            "num_states": hclg.num_states, "num_arcs": _num_arcs(hclg),
            "lg_states": lg.num_states, "num_disambig": num_disambig,
            "clg_states": clg.num_states,
            "dropped_lexicon_entries": dropped}
    return Graph(hclg, words, phones, tm.num_transition_ids, lexicon, info)


def _num_arcs(fst) -> int:
    return sum(fst.num_arcs(s) for s in range(fst.num_states))


def write_fst(fst, path: str | Path) -> None:
    """Write ``fst`` in OpenFst binary form atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        if not fst.write(tmp):
            raise OSError(f"could not write FST {path}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_graph_dir(graph: Graph, out_dir: str | Path, extra_info: dict | None = None) -> None:
    """Write the graph directory described in the module docstring."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_fst(graph.hclg, out / "HCLG.fst")
    text_max = graph.info.get("config", {}).get("text_max_arcs", 0)
    if graph.info.get("num_arcs", 0) <= text_max:
        atomic_write_text(out / "HCLG.txt", fst_text(graph.hclg))
    graph.words.write(out / "words.txt")
    graph.phones.write(out / "phones.txt")
    atomic_write_text(out / "lexicon.txt", lexicon_text(graph.lexicon))
    atomic_write_text(out / "info.json", json.dumps({**graph.info, **(extra_info or {})},
                                                    indent=1) + "\n")


def read_graph_dir(graph_dir: str | Path) -> tuple[object, SymbolTable, dict]:
    """``(HCLG, words, info)`` of a graph directory; FileNotFoundError naming a missing file."""
    import kaldifst

    d = Path(graph_dir)
    for name in ("HCLG.fst", "words.txt", "info.json"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"graph directory {d} has no {name}")
    hclg = kaldifst.StdVectorFst.read(str(d / "HCLG.fst"))
    info = json.loads((d / "info.json").read_text(encoding="utf-8"))
    return hclg, SymbolTable.read(d / "words.txt"), info
