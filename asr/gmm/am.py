"""A GMM-HMM acoustic model: topology + transition model + per-pdf diagonal GMMs.

File format (``torch.save`` of a plain dict, loadable with ``weights_only=True``)::

    {
      "format": "asr.gmm.am", "version": 1,
      "topology": {TopologyConfig fields},
      "transition": {"phones": [str], "tuples": (S, 3) long [phone, state, pdf],
                     "log_probs": (S, 2) float32 log [self-loop, forward]},
      "gmm": {"means": (G, D), "variances": (G, D), "log_weights": (G,),
              "gauss_pdf": (G,) long, "num_pdfs": int},
      "info": {free-form str/int/float metadata, e.g. the feature pipeline}
    }

Written atomically (:func:`asr.utils.io.atomic_open`): the file is complete or absent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch

from asr.gmm.diag_gmm import DiagGmmSet
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel
from asr.utils.io import atomic_open

FORMAT = "asr.gmm.am"
VERSION = 1


@dataclass
class AcousticModel:
    """Transition model and GMMs; ``gmm.num_pdfs`` equals ``transition_model.num_pdfs``."""

    transition_model: TransitionModel
    gmm: DiagGmmSet
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gmm.num_pdfs != self.transition_model.num_pdfs:
            raise ValueError(f"acoustic model: {self.gmm.num_pdfs} GMMs for "
                             f"{self.transition_model.num_pdfs} pdfs")

    @property
    def topology(self) -> Topology:
        return self.transition_model.topology

    def to(self, device: torch.device | str) -> "AcousticModel":
        return AcousticModel(self.transition_model, self.gmm.to(device), dict(self.info))

    def save(self, path: str | Path) -> None:
        state = {
            "format": FORMAT, "version": VERSION,
            "topology": dataclasses.asdict(self.topology.config),
            "transition": self.transition_model.state_dict(),
            "gmm": self.gmm.state_dict(),
            "info": dict(self.info),
        }
        with atomic_open(path, "wb") as handle:
            torch.save(state, handle)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "AcousticModel":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"acoustic model {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path}: not an {FORMAT} file")
        if state.get("version") != VERSION:
            raise ValueError(f"{path}: version {state.get('version')} is not {VERSION}")
        topology = Topology(TopologyConfig(**state["topology"]))
        tm = TransitionModel.from_state_dict(state["transition"], topology)
        gmm = DiagGmmSet.from_state_dict(state["gmm"]).to(device)
        return cls(tm, gmm, dict(state.get("info", {})))
