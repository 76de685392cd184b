"""Decoding graphs: H, C, L, G construction and HCLG composition with kaldifst.

- :mod:`asr.graph.l`: lexicon FST L with optional silence (``lexicon_fst_text``)
- :mod:`asr.graph.h`: HMM transducer H from a transition model (``hmm_fst_text``)
- :mod:`asr.graph.c`: context expansion (``ContextSpec``; identity for monophones)
- :mod:`asr.graph.hclg`: ``make_graph`` (L, G, LG, CLG, HCLG), graph directories
- :mod:`asr.graph.mkgraph`: ``python -m asr.graph.mkgraph`` (Kaldi's ``mkgraph.sh``)

G comes from :mod:`asr.lm.fst` (ARPA -> FST).
"""

from asr.graph.c import ContextSpec
from asr.graph.h import hmm_fst_text
from asr.graph.hclg import Graph, GraphConfig, make_graph, read_graph_dir, write_graph_dir
from asr.graph.l import lexicon_fst_text

__all__ = ["ContextSpec", "Graph", "GraphConfig", "hmm_fst_text", "lexicon_fst_text",
           "make_graph", "read_graph_dir", "write_graph_dir"]
