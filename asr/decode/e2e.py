"""Decode with a trained end-to-end model: data dirs (``asr decode``) and audio files
(``asr transcribe``).

An end-to-end experiment dir (written by ``asr train``) holds ``config.yaml`` (the
resolved experiment config), ``tokenizer/``, ``cmvn.npz`` (global CMVN, when used),
``checkpoints/`` and, after ``asr average``, ``final.pt``. :class:`E2ERecognizer`
loads all of it and turns waveforms into :class:`~asr.decode.ctc.Hypothesis` objects,
batching utterances by length.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from asr.decode import DecodeConfig, decode_batch, load_lm
from asr.decode.ctc import Hypothesis, ctc_forced_align, token_start_frames, word_timings

log = logging.getLogger(__name__)


def is_e2e_dir(exp_dir: str | Path) -> bool:
    exp_dir = Path(exp_dir)
    return (exp_dir / "config.yaml").is_file() and (exp_dir / "tokenizer").is_dir()


def model_file_of(exp_dir: Path) -> Path:
    """``final.pt`` (averaged) if present, else the best, else the latest checkpoint."""
    from asr.training.checkpoint import CheckpointManager

    if (exp_dir / "final.pt").is_file():
        return exp_dir / "final.pt"
    manager = CheckpointManager(exp_dir / "checkpoints")
    chosen = manager.best() or manager.latest()
    if chosen is None:
        raise FileNotFoundError(f"{exp_dir}: no final.pt and no checkpoint; train first "
                                "(asr train) or average (asr average)")
    return chosen


class E2ERecognizer:
    """A trained end-to-end model ready to decode.

    Args:
        exp_dir: the experiment dir of ``asr train``.
        decode: decoding options (method, beam, LM fusion).
        model_file: a model file or checkpoint (default: :func:`model_file_of`).
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available.
    """

    def __init__(self, exp_dir: str | Path, decode: DecodeConfig | None = None,
                 model_file: str | Path | None = None, device: str | None = None) -> None:
        from asr.models.registry import build_model_from_section
        from asr.text.tokenizer import load_tokenizer
        from asr.training.averaging import load_model_file
        from asr.training.checkpoint import check_model_config
        from asr.training.dataset import GlobalCMVN
        from asr.training.experiment import load_experiment_config

        self.exp_dir = Path(exp_dir)
        if not is_e2e_dir(self.exp_dir):
            raise FileNotFoundError(f"{self.exp_dir} is not an end-to-end experiment dir "
                                    "(needs config.yaml and tokenizer/ from `asr train`)")
        self.config = load_experiment_config(self.exp_dir / "config.yaml")
        self.decode_config = decode or DecodeConfig()
        self.tokenizer = load_tokenizer(self.exp_dir / "tokenizer")
        cmvn_path = self.exp_dir / "cmvn.npz"
        self.cmvn = GlobalCMVN.load(cmvn_path) if cmvn_path.is_file() else None
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model_file = Path(model_file) if model_file else model_file_of(self.exp_dir)
        state = load_model_file(self.model_file)
        if "model_config" in state:  # a model file from another config fails here, by key
            check_model_config(state["model_config"], self.config.model, str(self.model_file))
        self.model = build_model_from_section(self.config.model)
        self.model.load_state_dict(state["model"])
        self.model.to(self.device).eval()
        self.lm = load_lm(self.decode_config)
        self.sample_rate = self.config.data.sample_rate
        log.info("loaded %s (%s, decoding with %s)", self.model_file, self.config.model["name"],
                 self.decode_config.method)

    def features(self, wave: torch.Tensor) -> np.ndarray:
        """Waveform ``(T,)`` at ``sample_rate`` -> normalised fbank ``(frames, F)``."""
        from asr.features.functional import fbank

        feats = fbank(wave, self.sample_rate, num_mel_bins=self.config.data.num_mel_bins,
                      dither=0.0).numpy()
        return self.cmvn(feats) if self.cmvn is not None else feats

    def datadir_features(self, data, progress: bool = False) -> list[np.ndarray]:
        """Normalised fbank of every utterance of a :class:`~asr.data.DataDir`, in
        ``data.utterances`` order (segments honoured)."""
        from tqdm import tqdm

        from asr.audio import load_audio

        feats = []
        for utt in tqdm(data.utterances, desc="features", unit="utt",
                        disable=not progress or None):
            entry, start, end = data.wav_entry(utt)
            feats.append(self.features(load_audio(entry, self.sample_rate, start=start, end=end)))
        return feats

    def recognize_features(self, feats: Sequence[np.ndarray], batch_frames: int = 6000,
                           nj: int = 1) -> list[Hypothesis]:
        """Decode ``(T_i, F)`` feature matrices, in length-sorted batches of at most
        ``batch_frames`` padded frames; results in input order.

        ``nj`` > 1 (CPU only) splits the utterances over that many forked processes of
        one thread each, dealt round-robin by length so that every share costs about
        the same; the hypotheses are those of ``nj`` 1.
        """
        order = sorted(range(len(feats)), key=lambda i: -feats[i].shape[0])
        nj = max(1, min(nj, len(order))) if self.device.type == "cpu" else 1
        shares = [order[k::nj] for k in range(nj)]
        if nj > 1:
            from asr.parallel.forked import forked_map

            def decode_share(share: list[int]) -> list[Hypothesis]:
                torch.set_num_threads(1)  # nj one-thread workers, as DataLoader workers
                return self._recognize_sorted(feats, share, batch_frames)

            per_share = forked_map(decode_share, shares, nj)
        else:
            per_share = [self._recognize_sorted(feats, order, batch_frames)]
        results: list[Hypothesis | None] = [None] * len(feats)
        for share, hyps in zip(shares, per_share):
            for i, hyp in zip(share, hyps):
                results[i] = hyp
        return results  # type: ignore[return-value]

    def _recognize_sorted(self, feats: Sequence[np.ndarray], order: Sequence[int],
                          batch_frames: int) -> list[Hypothesis]:
        """Hypotheses of ``feats[i] for i in order`` (longest first), in that order."""
        results: list[Hypothesis] = []
        start = 0
        while start < len(order):
            longest = feats[order[start]].shape[0]
            size = max(1, batch_frames // max(longest, 1))
            batch = order[start:start + size]
            start += len(batch)
            lens = torch.tensor([feats[i].shape[0] for i in batch])
            padded = torch.zeros(len(batch), int(lens.max()), feats[batch[0]].shape[1])
            for row, i in enumerate(batch):
                padded[row, :feats[i].shape[0]] = torch.from_numpy(feats[i])
            results.extend(decode_batch(self.model, padded.to(self.device),
                                        lens.to(self.device), self.decode_config,
                                        self.tokenizer, self.lm))
        return results

    def word_timings(self, feats: np.ndarray, hyp: Hypothesis) -> list[tuple[str, float, float]]:
        """``(word, start s, end s)`` from a CTC forced alignment of ``hyp``'s tokens."""
        if not hyp.tokens:
            return []
        with torch.no_grad():
            x = torch.from_numpy(feats)[None].to(self.device)
            enc, enc_lens = self.model.encode(x, torch.tensor([feats.shape[0]], device=self.device))
            log_probs = self.model.ctc_log_probs(enc)[0, : int(enc_lens[0])].cpu()
        labels, _ = ctc_forced_align(log_probs, hyp.tokens, self.model.blank_id)
        aligned = Hypothesis(hyp.tokens, hyp.score, hyp.text, alignment=list(labels),
                             token_frames=token_start_frames(labels, self.model.blank_id))
        frame_shift = 0.01 * self.model.encoder.subsampling.factor  # 10 ms feature frames
        return word_timings(aligned, self.tokenizer.tokens, frame_shift=frame_shift)


def decode_datadir(recognizer: E2ERecognizer, data_dir: str | Path, out_dir: str | Path,
                   progress: bool = True, nj: int = 1) -> dict[str, str]:
    """Decode every utterance of a data dir; writes ``out_dir/text`` (Kaldi format).
    ``nj``: parallel CPU decoding processes (see :meth:`E2ERecognizer.recognize_features`)."""
    from tqdm import tqdm

    from asr.data import DataDir
    from asr.utils.io import atomic_write_text

    data = DataDir.load(data_dir)
    data.validate(name=str(data_dir), require_text=False)
    utts = data.utterances
    feats = recognizer.datadir_features(data, progress)
    hyps: list[Hypothesis] = []
    chunk = 32 * max(1, nj)  # progress every 32 utterances per process
    bar = tqdm(total=len(utts), desc="decoding", unit="utt", disable=not progress or None)
    for i in range(0, len(utts), chunk):
        hyps.extend(recognizer.recognize_features(feats[i:i + chunk], nj=nj))
        bar.update(min(chunk, len(utts) - i))
    bar.close()
    texts = {utt: hyp.text for utt, hyp in zip(utts, hyps)}
    atomic_write_text(Path(out_dir) / "text", "".join(f"{u} {t}".rstrip() + "\n"
                                                       for u, t in texts.items()))
    return texts


def transcribe_files(recognizer: E2ERecognizer, paths: Iterable[str | Path],
                     timings: bool = False, chunk_seconds: float = 30.0) -> list[dict]:
    """Transcribe audio files (any rate, stereo mixed down). Audio longer than
    ``chunk_seconds`` is cut into chunks decoded one by one and joined.

    Returns one ``{"file", "text", "duration", "words": [{"word", "start", "end"}]}`` per
    file (``words`` only with ``timings``).
    """
    from asr.audio import load_audio

    results = []
    for path in paths:
        wave = load_audio(path, recognizer.sample_rate, min_duration=0.1)
        step = int(chunk_seconds * recognizer.sample_rate)
        pieces, words = [], []
        for offset in range(0, wave.shape[0], step):
            chunk = wave[offset:offset + step]
            if chunk.shape[0] < 0.1 * recognizer.sample_rate:
                continue
            feats = recognizer.features(chunk)
            hyp = recognizer.recognize_features([feats])[0]
            pieces.append(hyp.text)
            if timings:
                base = offset / recognizer.sample_rate
                words.extend({"word": w, "start": round(base + s, 2), "end": round(base + e, 2)}
                             for w, s, e in recognizer.word_timings(feats, hyp))
        entry = {"file": str(path), "text": " ".join(p for p in pieces if p),
                 "duration": round(wave.shape[0] / recognizer.sample_rate, 3)}
        if timings:
            entry["words"] = words
        results.append(entry)
    return results
