"""Train an end-to-end model from data dirs: the function behind ``asr train``.

::

    train(config, train_dir, valid_dir, exp_dir, overrides=None, resume=True) -> dict

- ``config``: a YAML path or an :class:`ExperimentConfig` (sections ``model``,
  ``trainer``, ``data``, ``specaugment``, ``tokenizer``); ``overrides`` are
  ``key.sub=value`` strings applied on top (``trainer.epochs=5``).
- ``train_dir`` / ``valid_dir``: Kaldi-style data dirs (``text``, ``wav.scp``,
  ``utt2dur``; ``segments`` honoured). ``valid_dir`` may be None (no validation).
- ``exp_dir`` gets ``config.yaml`` (the resolved config), ``tokenizer/``,
  ``cmvn.npz`` (with ``data.cmvn: global``), ``checkpoints/`` and ``log/``.

Features are computed on the fly from the audio (:func:`asr.features.functional.fbank`,
no dither) so that speed perturbation can apply. The tokenizer is read from
``tokenizer.dir`` if set, else from ``exp_dir/tokenizer`` when resuming, else trained
on ``train_dir/text``. ``model`` holds ``name`` (a registered model) plus its config;
``input_dim`` and ``vocab_size`` are filled from the data and the tokenizer when the
model's config has such fields and the YAML leaves them out.

Launch with ``torchrun --nproc-per-node N`` for DDP; every rank runs this function.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asr.nn.specaugment import SpecAugment, SpecAugmentConfig
from asr.text.tokenizer import TokenizerConfig
from asr.training import distributed as D
from asr.training.dataset import GlobalCMVN, UtteranceDataset
from asr.training.sampler import DurationBucketSampler
from asr.training.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


@dataclass
class DataConfig:
    """Data pipeline settings (YAML section ``data``).

    max_duration: seconds of audio per batch (see ``batch_cost``); per rank.
    batch_cost: "padded" (count x longest) or "sum" (sum of durations).
    speed_perturb: speed factors drawn per utterance in training ([1.0] = off).
    cmvn: "global" (statistics of up to ``cmvn_max_utts`` training utterances, saved
        to exp_dir/cmvn.npz) or "none".
    min_duration / max_utt_duration: training utterances outside are skipped (seconds;
        0 = no upper limit).
    cache_features: keep each (utterance, speed factor)'s features in memory once made,
        so later epochs skip reading, resampling and fbank (same values). Memory: about
        hours x 3600 x 100 frames x num_mel_bins x 4 bytes per speed factor (AN4's 0.63 h
        with 3 factors and 80 bins: ~220 MB per process); for small corpora only.
    """

    sample_rate: int = 16000
    num_mel_bins: int = 80
    max_duration: float = 200.0
    valid_max_duration: float = 0.0  # 0 = same as max_duration
    num_buckets: int = 10
    batch_cost: str = "padded"
    speed_perturb: list[float] = field(default_factory=lambda: [1.0])
    cmvn: str = "global"
    cmvn_max_utts: int = 1000
    min_duration: float = 0.1
    max_utt_duration: float = 0.0
    cache_features: bool = False


@dataclass
class TokenizerSection(TokenizerConfig):
    """Tokenizer (YAML section ``tokenizer``): ``dir`` of a saved tokenizer, or the
    settings to train one on the training text."""

    dir: str | None = None


@dataclass
class ExperimentConfig:
    model: dict = field(default_factory=lambda: {"name": "conformer_aed"})
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    tokenizer: TokenizerSection = field(default_factory=TokenizerSection)


def load_experiment_config(config: str | Path | ExperimentConfig,
                           overrides: list[str] | None = None) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a YAML path or an object, plus overrides."""
    import yaml

    from asr.config import ConfigError, from_dict, load_config, to_dict

    if not isinstance(config, ExperimentConfig):
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        return load_config(ExperimentConfig, path, overrides)
    data = to_dict(config)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        *parents, last = key.strip().split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(raw)
    return from_dict(ExperimentConfig, data)


class _Fbank:
    """Picklable feature function for DataLoader workers: waveform -> (T, F) numpy."""

    def __init__(self, num_mel_bins: int) -> None:
        self.num_mel_bins = num_mel_bins

    def __call__(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        from asr.features.functional import fbank

        feats = fbank(torch.as_tensor(wave), sample_rate, num_mel_bins=self.num_mel_bins,
                      dither=0.0)
        return feats.numpy()


class _AudioReader:
    """utt_id -> float32 waveform, through the data dir's wav.scp (and segments)."""

    def __init__(self, data, sample_rate: int) -> None:
        self.entries = {u: data.wav_entry(u) for u in data.utterances}
        self.sample_rate = sample_rate

    def __call__(self, utt: str) -> np.ndarray:
        from asr.audio.io import load_audio

        entry, start, end = self.entries[utt]
        return load_audio(entry, self.sample_rate, start=start, end=end).numpy()


def _load_data(data_dir: str | Path):
    from asr.data.datadir import DataDir, compute_durations

    data = DataDir.load(data_dir)
    if not data.utt2dur:
        data.utt2dur = compute_durations(data)
    return data


def _tokenizer(cfg: ExperimentConfig, exp_dir: Path, train_data, info):
    from asr.text.tokenizer import build_tokenizer, load_tokenizer

    if cfg.tokenizer.dir:
        return load_tokenizer(cfg.tokenizer.dir)
    saved = exp_dir / "tokenizer"
    if not (saved / "tokenizer.yaml").is_file():
        if info.is_main:
            settings = {f.name: getattr(cfg.tokenizer, f.name)
                        for f in dataclasses.fields(TokenizerConfig)}
            tok = build_tokenizer(TokenizerConfig(**settings),
                                  [train_data.text[u] for u in train_data.utterances])
            tok.save(saved)
        D.barrier()
    return load_tokenizer(saved)


def _dataset(data, tokenizer, cfg: DataConfig, cmvn, train: bool, seed: int,
             name: str) -> UtteranceDataset:
    utts = []
    for u in data.utterances:
        dur = data.utt2dur.get(u)
        if dur is None or not data.text.get(u, "").strip():
            continue
        if train and (dur < cfg.min_duration or (cfg.max_utt_duration > 0 and
                                                 dur > cfg.max_utt_duration)):
            continue
        utts.append(u)
    if not utts:
        raise ValueError(f"{name}: no utterance with a transcript and a duration")
    if len(utts) < len(data.utterances):
        log.info("%s: using %d of %d utterances", name, len(utts), len(data.utterances))
    targets = {u: tokenizer.encode(data.text[u]) for u in utts}
    return UtteranceDataset(
        utts, targets, data.utt2dur, audio=_AudioReader(data, cfg.sample_rate),
        feature_fn=_Fbank(cfg.num_mel_bins), sample_rate=cfg.sample_rate,
        speed_factors=tuple(cfg.speed_perturb) if train else (1.0,), cmvn=cmvn,
        train=train, seed=seed, cache=cfg.cache_features)


def _readable_features(reader, fbank, utts, sample_rate: int):
    """Features of each utterance whose audio can be read; the others are logged."""
    from asr.audio import AudioError

    for utt in utts:
        try:
            wave = reader(utt)
        except (AudioError, OSError) as err:
            log.warning("CMVN: skipping utterance %s: %s", utt, err)
            continue
        yield fbank(wave, sample_rate)


def _cmvn(cfg: ExperimentConfig, exp_dir: Path, train_data, info) -> GlobalCMVN | None:
    if cfg.data.cmvn == "none":
        return None
    if cfg.data.cmvn != "global":
        raise ValueError(f"data.cmvn must be 'global' or 'none', got {cfg.data.cmvn!r}")
    path = exp_dir / "cmvn.npz"
    if not path.is_file() and info.is_main:
        reader, fbank = _AudioReader(train_data, cfg.data.sample_rate), _Fbank(cfg.data.num_mel_bins)
        utts = train_data.utterances[: cfg.data.cmvn_max_utts]
        log.info("computing global CMVN over %d utterances", len(utts))
        GlobalCMVN.from_features(_readable_features(reader, fbank, utts, cfg.data.sample_rate)
                                 ).save(path)
    D.barrier()
    return GlobalCMVN.load(path)


def _build_model(cfg: ExperimentConfig, input_dim: int, vocab_size: int):
    import asr.models  # noqa: F401  (registers the models)
    import asr.training.tiny_model  # noqa: F401  (registers "tiny_ctc")
    from asr.models.registry import build_model, get_model_class

    settings = dict(cfg.model)
    name = settings.pop("name", None)
    if not name:
        raise ValueError("model.name is missing in the config")
    fields = {f.name for f in dataclasses.fields(get_model_class(name).config_class)}
    for key, value in (("input_dim", input_dim), ("vocab_size", vocab_size)):
        if key in fields and key not in settings:
            settings[key] = value
    cfg.model = {"name": name, **settings}  # resolved: saved to config.yaml
    return build_model(name, settings)


def train(config: str | Path | ExperimentConfig, train_dir: str | Path,
          valid_dir: str | Path | None, exp_dir: str | Path,
          overrides: list[str] | None = None, resume: bool = True) -> dict[str, Any]:
    """Train; see the module docstring. Returns :meth:`Trainer.fit`'s summary."""
    from asr.config import save_config

    cfg = load_experiment_config(config, overrides)
    exp_dir = Path(exp_dir)
    dev = None if cfg.trainer.device == "auto" else cfg.trainer.device
    info = D.init_distributed(device=dev)
    trainer = None
    try:
        train_data = _load_data(train_dir)
        valid_data = _load_data(valid_dir) if valid_dir is not None else None
        if info.is_main:
            exp_dir.mkdir(parents=True, exist_ok=True)
        D.barrier()
        tokenizer = _tokenizer(cfg, exp_dir, train_data, info)
        cmvn = _cmvn(cfg, exp_dir, train_data, info)
        seed = cfg.trainer.seed
        train_set = _dataset(train_data, tokenizer, cfg.data, cmvn, True, seed, str(train_dir))
        sampler = DurationBucketSampler(train_set.duration_list(), cfg.data.max_duration,
                                        cfg.data.num_buckets, shuffle=True, seed=seed,
                                        cost=cfg.data.batch_cost,
                                        world_size=info.world_size, rank=info.rank)
        valid_set = valid_sampler = None
        if valid_data is not None:
            valid_set = _dataset(valid_data, tokenizer, cfg.data, cmvn, False, seed,
                                 str(valid_dir))
            valid_sampler = DurationBucketSampler(
                valid_set.duration_list(), cfg.data.valid_max_duration or cfg.data.max_duration,
                cfg.data.num_buckets, shuffle=False, cost=cfg.data.batch_cost,
                world_size=info.world_size, rank=info.rank)
        torch.manual_seed(seed)  # identical initial weights on every rank
        model = _build_model(cfg, cfg.data.num_mel_bins, tokenizer.vocab_size)
        saved_config = exp_dir / "config.yaml"
        if resume and saved_config.is_file():
            # Refuse a different model before anything in exp_dir is overwritten.
            from asr.training.checkpoint import check_model_config

            check_model_config(load_experiment_config(saved_config).model, cfg.model,
                               str(saved_config))
        if info.is_main:
            save_config(cfg, saved_config)
            n = sum(p.numel() for p in model.parameters())
            log.info("model %s: %.2fM parameters; %d training utterances (%.2f h)",
                     cfg.model["name"], n / 1e6, len(train_set),
                     sum(train_set.duration_list()) / 3600)
        trainer = Trainer(model, cfg.trainer, exp_dir, train_set, sampler, valid_set,
                          valid_sampler, model_config=cfg.model,
                          augment=SpecAugment(cfg.specaugment), dist_info=info)
        return trainer.fit(resume=resume)
    finally:
        if trainer is not None:
            trainer.close()
        D.cleanup()
