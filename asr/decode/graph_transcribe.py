"""Transcribe audio files with a system that decodes through a WFST graph: GMM-HMM
(mono, tri1), LDA+MLLT / SAT (tri2, tri3), hybrid DNN-HMM and phoneme CTC + HLG.

Each such system decodes data dirs; here the files become one (a temporary dir: one
utterance per piece of at most ``chunk_seconds``, cut with a ``segments`` file, each file
its own speaker, so a SAT system adapts to each file), decoded with the graph and the
LM weight / insertion penalty chosen on dev (``decode_dev/best_setting.json`` beside the
model, when the recipe tuned it). Word timings come from the decoder's CTM when the
system writes one.

The graph is ``MODEL/graph`` or, failing that, the one ``decode_dev/decode_info.json``
names (a hybrid system decodes through its GMM system's graph). A hybrid model on fMLLR
features first decodes the files with the SAT system that owns that graph, as the recipe
does, to get each file's speaker transform.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable

SYSTEMS = ("gmm", "gmm_sat", "hybrid", "ctc_hlg")


def system_kind(model_dir: str | Path) -> str | None:
    """Which graph-decoded system ``model_dir`` holds, or None (e.g. an end-to-end dir)."""
    d = Path(model_dir)
    if (d / "final.mdl").is_file():
        return "gmm_sat" if (d / "final.mat").is_file() else "gmm"
    if (d / "final.pt").is_file() and not (d / "tokenizer").is_dir():
        import torch

        state = torch.load(d / "final.pt", map_location="cpu", weights_only=True)
        return "hybrid" if state.get("format") == "asr.hybrid" else None
    tokenizer = d / "tokenizer" / "tokenizer.yaml"
    if tokenizer.is_file() and "kind: phone" in tokenizer.read_text(encoding="utf-8"):
        return "ctc_hlg"
    return None


def _graph_dir(model_dir: Path) -> Path:
    if (model_dir / "graph").is_dir():
        return model_dir / "graph"
    info = model_dir / "decode_dev" / "decode_info.json"
    if info.is_file():
        graph = json.loads(info.read_text(encoding="utf-8")).get("graph")
        if graph:
            # a relative path is relative to where the decode ran (a recipe dir, above
            # the model dir)
            for base in (Path.cwd(), *model_dir.resolve().parents):
                if (base / graph).is_dir():
                    return base / graph
    raise FileNotFoundError(f"{model_dir}: no graph/ dir and no decode_dev/decode_info.json "
                            "naming one; build the graph first (asr mkgraph / mkgraph-ctc)")


def _setting(model_dir: Path) -> tuple[list[float] | None, list[float] | None]:
    path = model_dir / "decode_dev" / "best_setting.json"
    if not path.is_file():
        return None, None  # each decoder's own default
    data = json.loads(path.read_text(encoding="utf-8"))
    return [float(data["lm_weight"])], [float(data["word_insertion_penalty"])]


def _decoder(kind: str):
    if kind == "gmm":
        from asr.decode.gmm import decode_datadir
    elif kind == "gmm_sat":
        from asr.decode.gmm_sat import decode_datadir_sat as decode_datadir
    elif kind == "hybrid":
        from asr.decode.hybrid import decode_datadir
    else:
        from asr.decode.ctc_wfst import decode_datadir
    return decode_datadir


def _reads_fmllr(model_dir: Path) -> bool:
    from asr.training.frame_classifier import load_hybrid_model

    return load_hybrid_model(model_dir).frontend.feature == "fmllr"


def _sat_first_pass(graph: Path, data_dir: Path, out_dir: Path) -> Path:
    """Decode ``data_dir`` with the SAT system that owns ``graph`` (``<system>/graph``)
    to estimate each speaker's fMLLR transform; returns the dir holding ``trans.pt``."""
    from asr.decode.gmm_sat import decode_datadir_sat

    sat_dir = graph.parent
    if not (sat_dir / "trans.pt").is_file():
        raise FileNotFoundError(f"the hybrid model reads fMLLR features but {sat_dir} (the "
                                f"owner of its graph) is not a SAT system with trans.pt")
    lm_weights, penalties = _setting(sat_dir)
    decode_datadir_sat(sat_dir, graph, data_dir, out_dir, lm_weights=lm_weights,
                       word_insertion_penalties=penalties)
    return out_dir


def _read_kaldi_text(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        utt, _, text = line.partition(" ")
        out[utt] = text.strip()
    return out


def _read_ctm(path: Path) -> dict[str, list[tuple[str, float, float]]]:
    words: dict[str, list[tuple[str, float, float]]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            utt, _, start, dur, word = line.split()[:5]
            words.setdefault(utt, []).append((word, float(start), float(start) + float(dur)))
    return words


def transcribe_graph_system(model_dir: str | Path, files: Iterable[str | Path], *,
                            timings: bool = False, chunk_seconds: float = 30.0) -> list[dict]:
    """Transcribe ``files`` with the graph-decoded system in ``model_dir``.

    Returns one ``{"file", "text", "duration"}`` per file (plus ``words``: ``word``,
    ``start``, ``end`` in seconds, with ``timings`` when the decoder writes a CTM).
    """
    from asr.audio import audio_info
    from asr.data import DataDir, Segment

    model_dir = Path(model_dir)
    kind = system_kind(model_dir)
    if kind is None:
        raise ValueError(f"{model_dir} is not a GMM, SAT, hybrid or phone-CTC system dir")
    graph = _graph_dir(model_dir)
    lm_weights, penalties = _setting(model_dir)
    files = [Path(f) for f in files]
    wav_scp, segments, utt2spk, pieces = {}, {}, {}, {}
    durations = {}
    for i, path in enumerate(files):
        rec = f"file{i:05d}"
        wav_scp[rec] = str(path.resolve())
        durations[rec] = audio_info(path).duration
        start, k = 0.0, 0
        while start < durations[rec] - 0.05 or k == 0:
            end = min(durations[rec], start + chunk_seconds)
            utt = f"{rec}-{k:04d}"
            segments[utt] = (rec, start, end)
            utt2spk[utt] = rec
            pieces.setdefault(rec, []).append((utt, start))
            start, k = end, k + 1
    with tempfile.TemporaryDirectory(prefix="asr-transcribe-") as tmp:
        data = DataDir(wav_scp=wav_scp, utt2spk=utt2spk,
                       segments={u: Segment(*seg) for u, seg in segments.items()})
        data.save(Path(tmp) / "data")
        out = Path(tmp) / "out"
        extra = {}
        if kind == "hybrid" and _reads_fmllr(model_dir):
            extra["transform_dir"] = _sat_first_pass(graph, Path(tmp) / "data", Path(tmp) / "sat")
        _decoder(kind)(model_dir, graph, Path(tmp) / "data", out, lm_weights=lm_weights,
                       word_insertion_penalties=penalties, **extra)
        texts = _read_kaldi_text(out / "text")
        ctm = _read_ctm(out / "ctm")
    results = []
    for i, path in enumerate(files):
        rec = f"file{i:05d}"
        text = " ".join(t for t in (texts.get(utt, "") for utt, _ in pieces[rec]) if t)
        entry = {"file": str(path), "text": text, "duration": round(durations[rec], 3)}
        if timings:
            entry["words"] = [{"word": w, "start": round(offset + s, 2), "end": round(offset + e, 2)}
                              for utt, offset in pieces[rec] for w, s, e in ctm.get(utt, [])]
        results.append(entry)
    return results

