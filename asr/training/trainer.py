"""The training loop: AdamW, lr schedule, mixed precision, accumulation, DDP, resume.

The model follows one interface::

    model(feats (B, T, F) float, feat_lens (B,) long,
          targets (B, U) long padded with -1, target_lens (B,) long)
        -> {"loss": scalar tensor, <stat>: float or scalar tensor, ...}

An optional ``augment`` module (e.g. :class:`asr.nn.specaugment.SpecAugment`) is
applied to ``feats`` in training only. A "step" is one optimizer step (``accum_grad``
batches). Checkpoints are taken after an optimizer step, so a checkpoint never holds
half-accumulated gradients, and resuming from one reproduces the uninterrupted run's
losses exactly (same data order, RNG states, optimizer, scheduler and scaler).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch.utils.data import DataLoader

from asr.training import distributed as D
from asr.training.checkpoint import (FORMAT, CheckpointManager, capture_rng_state,
                                     check_model_config, config_hash, load_checkpoint,
                                     restore_rng_state, seed_everything)
from asr.training.collate import Batch, collate
from asr.training.logging import TrainLogger
from asr.training.sampler import DurationBucketSampler
from asr.training.schedulers import SCHEDULES, WarmupScheduler

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainerConfig:
    """Training hyper-parameters (YAML section ``trainer``).

    Steps are optimizer steps. ``epochs`` and ``max_steps`` both bound training
    (``max_steps: 0`` = no step limit, ``epochs: 0`` = no epoch limit); the lr schedule
    spans whichever stops training first; a ``max_steps`` stop inside an epoch validates
    and saves the final model. ``lr`` is the peak learning rate reached after
    ``warmup_steps`` (see :mod:`asr.training.schedulers`). Weight decay applies to
    matrices only (parameters with 2+ dims), not to biases and norms. ``grad_clip`` is
    the max global gradient norm (0 = off). ``checkpoint_every_steps: 0`` saves at epoch
    ends only (an epoch end always saves). ``early_stop_patience``: stop after that
    many epochs without a lower validation loss (0 = off). ``precision`` "bf16" uses
    autocast on CUDA and on CPU; "fp16" (with a gradient scaler) on CUDA only, on CPU it
    trains in fp32 and the log says so.
    ``pad_to_multiple``: pad each batch's frame count to a multiple of this (e.g. 32),
    so that fewer distinct shapes occur: on GPU each new shape can cost a cuDNN plan
    search, on CPU in bf16 a oneDNN matmul primitive creation (~10% of an AN4 step with
    exact lengths; see :func:`collate`). The padded frames enter a Conformer conv
    module's batch-norm statistics unless the model has ``conv_norm:
    masked_batch_norm``.
    ``find_unused_parameters``: DDP option, needed when some parameters get no gradient
    (e.g. an attention decoder with ``ctc_weight: 1.0``).
    ``device``: "auto" (CUDA if available), "cpu" or "cuda".
    ``valid_from_epoch``: validate only after epochs with this 0-based index or later
    (and always after the last epoch); earlier epochs save a checkpoint without a
    validation loss, which neither early stopping nor best-checkpoint averaging sees.
    With a decaying schedule the best checkpoints come at the end, so skipping the early
    validations saves time (on AN4 on 2 CPU cores, ~2.5 s of every ~27 s epoch).
    """

    epochs: int = 10
    max_steps: int = 0
    lr: float = 1e-3
    schedule: str = "inverse_sqrt"
    warmup_steps: int = 1000
    min_lr_ratio: float = 0.0
    weight_decay: float = 1e-3
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    adam_eps: float = 1e-9
    grad_clip: float = 5.0
    accum_grad: int = 1
    checkpoint_every_steps: int = 1000
    keep_last: int = 3
    keep_best: int = 5
    log_every_steps: int = 50
    early_stop_patience: int = 0
    valid_from_epoch: int = 0
    seed: int = 0
    precision: str = "fp32"
    num_workers: int = 0
    pad_to_multiple: int = 1
    find_unused_parameters: bool = False
    device: str = "auto"
    progress_bar: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"trainer.precision must be one of {PRECISIONS}, "
                             f"got {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"trainer.schedule must be one of {SCHEDULES}, "
                             f"got {self.schedule!r}")
        if self.accum_grad < 1:
            raise ValueError(f"trainer.accum_grad must be >= 1, got {self.accum_grad}")
        if self.epochs < 1 and self.max_steps < 1:
            raise ValueError("set trainer.epochs or trainer.max_steps to at least 1")


def _scalar(value: Any) -> float:
    return float(value.detach().float().item()) if torch.is_tensor(value) else float(value)


class Trainer:
    """Trains ``model`` on batches from ``train_sampler`` over ``train_dataset``.

    Args:
        model: a module following the interface in the module docstring.
        config: :class:`TrainerConfig`.
        exp_dir: experiment dir; gets ``checkpoints/`` and ``log/``.
        train_dataset, train_sampler: map-style dataset of :class:`~asr.training.dataset.Item`
            and a :class:`DurationBucketSampler` over it (built for this rank).
        valid_dataset, valid_sampler: optional validation data (loss each epoch).
        model_config: the model's config as a dict; stored in checkpoints and checked
            on resume.
        augment: optional module applied to feats in training (SpecAugment).
        dist_info: from :func:`asr.training.distributed.init_distributed`; default:
            one process on ``config.device``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainerConfig,
        exp_dir: str | Path,
        train_dataset: torch.utils.data.Dataset,
        train_sampler: DurationBucketSampler,
        valid_dataset: torch.utils.data.Dataset | None = None,
        valid_sampler: DurationBucketSampler | None = None,
        model_config: Mapping[str, Any] | None = None,
        augment: torch.nn.Module | None = None,
        dist_info: D.DistInfo | None = None,
    ) -> None:
        self.config = config
        self.exp_dir = Path(exp_dir)
        if dist_info is None:
            dev = config.device
            if dev == "auto":
                dev = "cuda" if torch.cuda.is_available() else "cpu"
            if dev.startswith("cuda") and not torch.cuda.is_available():
                raise ValueError("trainer.device is 'cuda' but CUDA is not available")
            dist_info = D.DistInfo(D.get_rank(), D.get_world_size(), 0, torch.device(dev))
        self.dist = dist_info
        self.device = dist_info.device
        self.is_main = dist_info.is_main
        self.model_config = dict(model_config or {})

        self.train_dataset, self.train_sampler = train_dataset, train_sampler
        self.valid_dataset, self.valid_sampler = valid_dataset, valid_sampler
        self.augment = augment.to(self.device) if augment is not None else None

        self.model = model.to(self.device)
        self.ddp_model: torch.nn.Module = self.model
        if dist_info.world_size > 1:
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=config.find_unused_parameters)

        self.optimizer = self._build_optimizer()
        self.scheduler = WarmupScheduler(self.optimizer, config.schedule, config.warmup_steps,
                                         self._total_steps(), config.min_lr_ratio)

        self.amp_dtype: torch.dtype | None = None
        if config.precision == "bf16":
            # CPU autocast too: on CPUs with AVX512-BF16 or AMX a Conformer step is ~1.7x
            # faster (bench/train_throughput.py --vs-fp32); older CPUs emulate it, slower.
            self.amp_dtype = torch.bfloat16
        elif config.precision == "fp16":
            if self.device.type == "cuda":
                self.amp_dtype = torch.float16
            else:
                log.warning("precision fp16 needs CUDA; training on %s in fp32", self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

        self.checkpoints = CheckpointManager(self.exp_dir / "checkpoints", config.keep_last,
                                             config.keep_best)
        self.logger = TrainLogger(self.exp_dir / "log", enabled=self.is_main,
                                  tensorboard=config.tensorboard)
        self.step = 0
        self.epoch = 0
        self.batches_done = 0  # batches of this rank consumed in the current epoch
        self.best_valid_loss = math.inf
        self.bad_epochs = 0
        self.step_losses: list[float] = []  # loss of every optimizer step run here
        self.valid_history: list[dict] = []
        self._audio_seconds = 0.0
        self.skipped_utts: list[str] = []  # unreadable training utterances (this process)
        self._micro_losses: list[float] = []
        seed_everything(config.seed + dist_info.rank)

    # -- setup ----------------------------------------------------------------
    def _build_optimizer(self) -> torch.optim.Optimizer:
        decay, no_decay = [], []
        for p in self.model.parameters():
            if p.requires_grad:
                (decay if p.ndim >= 2 else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": self.config.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        # fused: one kernel for all parameters, on CUDA (the per-tensor loop is
        # launch-bound) and on CPU (3.4x faster than the loop for the AN4 Conformer)
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=self.config.lr,
                                 betas=tuple(self.config.adam_betas), eps=self.config.adam_eps,
                                 fused=self.device.type in ("cuda", "cpu"))

    def _total_steps(self) -> int:
        # The schedule spans the bound that stops training first.
        per_epoch = math.ceil(len(self.train_sampler) / self.config.accum_grad)
        bounds = [per_epoch * self.config.epochs] if self.config.epochs > 0 else []
        if self.config.max_steps > 0:
            bounds.append(self.config.max_steps)
        return max(min(bounds), self.config.warmup_steps + 1)

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _loader(self, dataset, sampler, epoch: int) -> DataLoader:
        # A private generator: creating the iterator must not consume the global RNG,
        # or a resumed run would diverge from an uninterrupted one.
        gen = torch.Generator().manual_seed(self.config.seed * 100003 + epoch)
        return DataLoader(dataset, batch_sampler=sampler,
                          collate_fn=functools.partial(collate,
                                                       pad_to_multiple=self.config.pad_to_multiple),
                          num_workers=self.config.num_workers, generator=gen,
                          pin_memory=self.device.type == "cuda")

    # -- checkpoints ----------------------------------------------------------
    def state_dict(self, valid_loss: float | None = None) -> dict:
        """The checkpoint dict (collective in DDP: every rank must call it)."""
        rng = D.all_gather_object(capture_rng_state())
        return {
            "format": FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "sampler": self.train_sampler.state_dict(position=self.batches_done),
            "epoch": self.epoch,
            "step": self.step,
            "rng": rng,
            "model_config": self.model_config,
            "model_config_hash": config_hash(self.model_config),
            "trainer_config": dataclasses.asdict(self.config),
            "valid_loss": valid_loss,
            "best_valid_loss": self.best_valid_loss,
            "bad_epochs": self.bad_epochs,
            "torch_version": str(torch.__version__),
        }

    def save_checkpoint(self, valid_loss: float | None = None) -> Path | None:
        state = self.state_dict(valid_loss)
        path = None
        if self.is_main:
            path = self.checkpoints.save(state, self.step, self.epoch, valid_loss)
            log.info("saved checkpoint %s", path)
        D.barrier()
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything needed to continue exactly where ``path`` left off."""
        state = load_checkpoint(path)
        check_model_config(state["model_config"], self.model_config, where=str(path))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.train_sampler.load_state_dict(state["sampler"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.batches_done = int(state["sampler"]["position"])
        self.best_valid_loss = float(state["best_valid_loss"])
        self.bad_epochs = int(state["bad_epochs"])
        rng = state["rng"]
        if len(rng) == self.dist.world_size:
            restore_rng_state(rng[self.dist.rank])
        else:
            log.warning("%s was saved with %d ranks, running with %d: RNG reseeded",
                        path, len(rng), self.dist.world_size)
            seed_everything(self.config.seed + self.dist.rank + self.step)
        self.logger.truncate_after(self.step)
        log.info("resumed from %s (epoch %d, step %d, batch %d of the epoch)",
                 path, self.epoch, self.step, self.batches_done)

    # -- training -------------------------------------------------------------
    def fit(self, resume: bool | str | Path = True) -> dict:
        """Train until ``epochs`` or ``max_steps``. ``resume``: True = from the latest
        checkpoint in ``exp_dir`` if any; a path = from that checkpoint; False = fresh.
        Returns ``{"step", "epoch", "best_valid_loss", "stopped_early"}``."""
        if resume is True:
            latest = self.checkpoints.latest()
            if latest is not None:
                self.load_checkpoint(latest)
        elif resume:
            self.load_checkpoint(resume)
        if self.is_main:
            log.info("training on %s, world size %d, precision %s", self.device,
                     self.dist.world_size, self.config.precision if self.amp_dtype or
                     self.config.precision == "fp32" else "fp32 (no CUDA)")
        stopped_early = False
        try:
            while self.config.epochs <= 0 or self.epoch < self.config.epochs:
                if self._train_epoch():  # max_steps reached inside the epoch
                    if self.batches_done < len(self.train_sampler):
                        # the final model gets a validation loss too, so that averaging
                        # the best checkpoints can choose it (best_valid_loss and the
                        # early-stop count stay per epoch, as in an uninterrupted run)
                        final_loss = (self.validate()["loss"] if self.valid_dataset is not None
                                      else None)
                        self.save_checkpoint(final_loss)
                        break
                valid_loss = self.validate()["loss"] if self._validates_now() else None
                stopped_early = self._end_epoch(valid_loss)
                if stopped_early or self._steps_done():
                    break
        finally:
            self.logger.close()
        return {"step": self.step, "epoch": self.epoch,
                "best_valid_loss": self.best_valid_loss, "stopped_early": stopped_early}

    def close(self) -> None:
        """Free the DistributedDataParallel wrapper (``self.model`` stays); call it before
        :func:`asr.training.distributed.cleanup`.

        DDP's reducer holds the gloo process group. Were the reducer the group's last
        holder, freeing it would destroy the group with the GIL held while gloo's worker
        threads may need the GIL to free a finished collective's tensors: a deadlock in
        torch (seen at the end of a two-rank test under load). Freed here first, the group
        is destroyed from its Python handle by ``destroy_process_group``, and that
        binding releases the GIL (pytorch/pytorch#154976).
        """
        if self.ddp_model is not self.model:
            self.ddp_model = self.model
            gc.collect()  # were DDP held in a reference cycle, free it now, not later

    def _validates_now(self) -> bool:
        """Whether the epoch that just ended (index ``self.epoch``) is validated."""
        if self.valid_dataset is None:
            return False
        last = self.config.epochs > 0 and self.epoch + 1 >= self.config.epochs
        return last or self.epoch >= self.config.valid_from_epoch

    def _steps_done(self) -> bool:
        return self.config.max_steps > 0 and self.step >= self.config.max_steps

    def _end_epoch(self, valid_loss: float | None) -> bool:
        improved = valid_loss is not None and valid_loss < self.best_valid_loss
        if improved:
            self.best_valid_loss = valid_loss
            self.bad_epochs = 0
        elif valid_loss is not None:
            self.bad_epochs += 1
        self.epoch += 1
        self.batches_done = 0
        self.train_sampler.set_epoch(self.epoch)
        self.save_checkpoint(valid_loss)
        patience = self.config.early_stop_patience
        if patience > 0 and self.bad_epochs >= patience:
            if self.is_main:
                log.info("early stop: no better validation loss for %d epochs", patience)
            return True
        return False

    def _train_epoch(self) -> bool:
        """Run the rest of the current epoch; True if ``max_steps`` was reached."""
        cfg = self.config
        self.train_sampler.set_epoch(self.epoch)
        self.train_sampler.position = self.batches_done
        if hasattr(self.train_dataset, "set_epoch"):
            self.train_dataset.set_epoch(self.epoch)
        num_batches = len(self.train_sampler)
        if self._steps_done():
            return True
        self.ddp_model.train()
        if self.augment is not None:
            self.augment.train()
        from tqdm import tqdm

        bar = tqdm(total=num_batches, initial=self.batches_done, desc=f"epoch {self.epoch}",
                   disable=not (self.is_main and cfg.progress_bar), dynamic_ncols=True,
                   leave=False)
        interval: dict[str, float] = {}
        interval_batches = 0
        micro = 0
        t0 = time.perf_counter()
        audio0 = self._audio_seconds
        try:
            for batch in self._loader(self.train_dataset, self.train_sampler, self.epoch):
                self.batches_done += 1
                micro += 1
                bar.update(1)
                last = self.batches_done == num_batches
                sync = micro == cfg.accum_grad or last
                stats = self._forward_backward(batch, sync)
                for key, value in stats.items():
                    interval[key] = interval.get(key, 0.0) + value
                interval_batches += 1
                if not sync:
                    continue
                grad_norm = self._optimizer_step(micro)
                micro = 0
                step_loss = interval["loss"] / interval_batches  # approx for display
                checkpoint = (cfg.checkpoint_every_steps > 0
                              and self.step % cfg.checkpoint_every_steps == 0)
                # A record before each mid-epoch checkpoint too: a run resumed from it
                # starts a new interval there, and so logs what the uninterrupted run logs.
                if cfg.log_every_steps > 0 and (self.step % cfg.log_every_steps == 0
                                                or checkpoint):
                    elapsed = time.perf_counter() - t0
                    record = {k: v / interval_batches for k, v in interval.items()}
                    record.update(epoch=self.epoch, lr=self.scheduler.get_last_lr()[0],
                                  grad_norm=grad_norm, audio_s=self._audio_seconds - audio0,
                                  elapsed_s=elapsed,
                                  audio_s_per_s=(self._audio_seconds - audio0) / max(elapsed, 1e-9),
                                  skipped_utts=len(self.skipped_utts))
                    self.logger.log("train", self.step, record)
                    bar.set_postfix(loss=f"{step_loss:.3f}", lr=f"{record['lr']:.2e}")
                    interval, interval_batches = {}, 0
                    t0, audio0 = time.perf_counter(), self._audio_seconds
                if checkpoint:
                    self.save_checkpoint()
                if self._steps_done():
                    return True
        finally:
            bar.close()
        if self.skipped_utts:
            log.warning("%d training utterance(s) skipped so far for unusable audio "
                        "(first: %s); see the warnings above", len(self.skipped_utts),
                        self.skipped_utts[0])
        return False

    def _forward_backward(self, batch: Batch, sync: bool) -> dict[str, float]:
        batch = batch.to(self.device, non_blocking=True)
        feats = batch.feats
        if self.augment is not None:
            feats = self.augment(feats, batch.feat_lens)
        no_sync = getattr(self.ddp_model, "no_sync", None)
        ctx = no_sync() if (no_sync is not None and not sync) else contextlib.nullcontext()
        with ctx:
            with self._autocast():
                out = self.ddp_model(feats, batch.feat_lens, batch.targets, batch.target_lens)
            if "loss" not in out:
                raise ValueError("the model's output dict has no 'loss'")
            loss = out["loss"]
            scaled = loss / self.config.accum_grad
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        self._audio_seconds += batch.total_duration
        self.skipped_utts.extend(batch.skipped)
        stats = {k: _scalar(v) for k, v in out.items()
                 if k != "loss" and (isinstance(v, (int, float)) or
                                     (torch.is_tensor(v) and v.numel() == 1))}
        stats["loss"] = _scalar(loss)
        self._micro_losses.append(stats["loss"])
        return stats

    def _optimizer_step(self, micro: int) -> float:
        """Clip, step, schedule. ``micro`` < accum_grad at an epoch's end: gradients
        are rescaled so that they are the mean over the batches actually seen."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        if micro != self.config.accum_grad:
            for p in params:
                p.grad.mul_(self.config.accum_grad / micro)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        max_norm = self.config.grad_clip if self.config.grad_clip > 0 else math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)  # skips the update on inf/nan itself
            self.scaler.update()
        elif math.isfinite(grad_norm):
            self.optimizer.step()
        else:
            log.warning("step %d: non-finite gradient norm, update skipped", self.step + 1)
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        losses = self._micro_losses
        self._micro_losses = []
        self.step_losses.append(sum(losses) / len(losses))
        return grad_norm

    # -- validation -----------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Utterance-weighted mean loss (and stats) over the validation set, all ranks."""
        if self.valid_dataset is None or self.valid_sampler is None:
            raise ValueError("no validation data was given to the trainer")
        self.model.eval()
        sums: dict[str, float] = {}
        count = 0
        self.valid_sampler.position = 0
        for batch in self._loader(self.valid_dataset, self.valid_sampler, 0):
            batch = batch.to(self.device)
            with self._autocast():
                out = self.model(batch.feats, batch.feat_lens, batch.targets, batch.target_lens)
            n = len(batch)
            for key, value in out.items():
                if isinstance(value, (int, float)) or (torch.is_tensor(value) and value.numel() == 1):
                    sums[key] = sums.get(key, 0.0) + _scalar(value) * n
            count += n
        self.valid_sampler.position = 0
        keys = sorted(sums)
        totals = D.all_reduce_sum([sums[k] for k in keys] + [float(count)], self.device)
        result = {k: v / max(totals[-1], 1.0) for k, v in zip(keys, totals[:-1])}
        self.model.train()
        result["epoch"] = self.epoch
        self.valid_history.append(result)
        self.logger.log("valid", self.step, result)
        if self.is_main:
            log.info("epoch %d validation: %s", self.epoch,
                     ", ".join(f"{k}={v:.4f}" for k, v in result.items() if k != "epoch"))
        return result
