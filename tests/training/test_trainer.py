"""Trainer on real AN4 features: the loss falls, resume is exact, configs are checked."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from asr.nn.specaugment import SpecAugment
from asr.training.checkpoint import CheckpointManager, load_checkpoint
from asr.training.collate import collate
from asr.training.logging import read_log
from asr.training.sampler import DurationBucketSampler
from asr.training.trainer import Trainer, TrainerConfig

from .helpers import tiny_model

MODEL_CONFIG = {"name": "tiny_ctc", "hidden": 32}


def make_trainer(an4_subset, exp_dir, model_config=MODEL_CONFIG, valid=True, **overrides):
    settings = dict(epochs=2, lr=3e-3, warmup_steps=3, log_every_steps=1,
                    checkpoint_every_steps=4, keep_last=2, seed=11, progress_bar=False,
                    tensorboard=False, accum_grad=1, device="cpu")
    settings.update(overrides)
    config = TrainerConfig(**settings)
    ds = an4_subset.dataset()
    sampler = DurationBucketSampler(ds.duration_list(), max_duration=12.0, num_buckets=2,
                                    seed=config.seed, world_size=1, rank=0)
    valid_ds = an4_subset.dataset(train=False) if valid else None
    valid_sampler = DurationBucketSampler(ds.duration_list(), 20.0, shuffle=False,
                                          world_size=1, rank=0) if valid else None
    augment = SpecAugment(num_freq_masks=1, freq_mask_width=5, num_time_masks=1,
                          time_mask_width=10)
    return Trainer(tiny_model(seed=1), config, exp_dir, ds, sampler, valid_ds, valid_sampler,
                   model_config=model_config, augment=augment)


def test_training_steps_lower_the_loss_on_a_fixed_batch(an4_subset):
    torch.manual_seed(0)
    ds = an4_subset.dataset()
    batch = collate([ds[i] for i in range(4)])
    model = tiny_model(seed=0, dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        out = model(batch.feats, batch.feat_lens, batch.targets, batch.target_lens)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["loss"].detach()))
    assert losses[-1] < 0.7 * losses[0]


def test_fit_logs_validates_and_checkpoints(an4_subset, tmp_path):
    trainer = make_trainer(an4_subset, tmp_path)
    result = trainer.fit()
    assert result["epoch"] == 2 and result["step"] == len(trainer.step_losses)
    records = read_log(tmp_path / "log" / "train_log.jsonl", "train")
    assert [r["step"] for r in records] == list(range(1, result["step"] + 1))
    assert all({"loss", "ctc_loss", "lr", "grad_norm", "epoch"} <= set(r) for r in records)
    valid = read_log(tmp_path / "log" / "train_log.jsonl", "valid")
    assert len(valid) == 2 and valid[1]["loss"] < valid[0]["loss"] * 1.5
    manager = CheckpointManager(tmp_path / "checkpoints")
    entries = manager.entries()
    assert entries[-1]["step"] == result["step"] and entries[-1]["valid_loss"] is not None
    assert (tmp_path / "checkpoints" / "best.pt").is_file()
    best = load_checkpoint(manager.best())
    assert best["valid_loss"] == pytest.approx(result["best_valid_loss"])
    # the training loss went down over two epochs
    n = len(trainer.step_losses)
    assert sum(trainer.step_losses[-3:]) < sum(trainer.step_losses[:3])
    assert n >= 6


@pytest.mark.parametrize("accum_grad", [1, 2])
def test_resume_gives_exactly_the_same_losses(an4_subset, tmp_path, accum_grad):
    full = make_trainer(an4_subset, tmp_path / "full", accum_grad=accum_grad,
                        checkpoint_every_steps=0)
    full.fit()
    records = read_log(tmp_path / "full" / "log" / "train_log.jsonl", "train")
    epoch0 = sum(r["epoch"] == 0 for r in records)
    half = epoch0 + 2  # stop in the middle of the second epoch
    assert half < full.step

    first = make_trainer(an4_subset, tmp_path / "resumed", accum_grad=accum_grad,
                         max_steps=half, checkpoint_every_steps=0)
    first.fit()
    assert first.step == half and 0 < first.batches_done < len(first.train_sampler)

    second = make_trainer(an4_subset, tmp_path / "resumed", accum_grad=accum_grad,
                          checkpoint_every_steps=0)
    second.fit()  # resumes from the mid-epoch checkpoint
    assert first.step_losses + second.step_losses == full.step_losses
    for a, b in zip(full.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    logged = [r["loss"] for r in read_log(tmp_path / "resumed" / "log" / "train_log.jsonl",
                                          "train")]
    assert logged == [r["loss"] for r in read_log(tmp_path / "full" / "log" /
                                                  "train_log.jsonl", "train")]


def test_a_max_steps_stop_inside_an_epoch_validates_the_final_model(an4_subset, tmp_path):
    trainer = make_trainer(an4_subset, tmp_path, max_steps=3, checkpoint_every_steps=0)
    trainer.fit()
    assert trainer.step == 3 and 0 < trainer.batches_done < len(trainer.train_sampler)
    [entry] = CheckpointManager(tmp_path / "checkpoints").entries()
    assert entry["step"] == 3
    valid = read_log(tmp_path / "log" / "train_log.jsonl", "valid")
    assert [r["step"] for r in valid] == [3]
    assert entry["valid_loss"] == pytest.approx(valid[0]["loss"])
    # the epoch's own bookkeeping is untouched: no epoch ended
    assert trainer.best_valid_loss == math.inf and trainer.epoch == 0


def test_resume_with_another_model_config_names_the_keys(an4_subset, tmp_path):
    make_trainer(an4_subset, tmp_path, max_steps=2, valid=False).fit()
    other = dict(MODEL_CONFIG, hidden=64, extra=1)
    trainer = make_trainer(an4_subset, tmp_path, model_config=other, valid=False)
    with pytest.raises(ValueError, match=r"extra .*hidden \(checkpoint: 32, current: 64\)"):
        trainer.fit()


def test_fp16_on_cpu_falls_back_to_fp32(an4_subset, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        trainer = make_trainer(an4_subset, tmp_path, precision="fp16", max_steps=1,
                               valid=False)
    assert trainer.amp_dtype is None and trainer.scaler is None
    assert "fp32" in caplog.text
    trainer.fit()
    assert trainer.step == 1


def test_bf16_autocast_on_cpu_trains_close_to_fp32(an4_subset, tmp_path):
    runs = {}
    for precision in ("fp32", "bf16"):
        trainer = make_trainer(an4_subset, tmp_path / precision, precision=precision,
                               max_steps=4, valid=False)
        trainer.fit()
        runs[precision] = trainer
    bf16 = runs["bf16"]
    assert bf16.amp_dtype == torch.bfloat16 and bf16.scaler is None
    # the weights stay fp32: autocast only lowers the matmuls
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())
    fp32_losses, bf16_losses = runs["fp32"].step_losses, bf16.step_losses
    assert len(bf16_losses) == 4 and all(math.isfinite(v) for v in bf16_losses)
    # same seed, same batches: bf16 rounding moves the losses by well under 5%
    assert bf16_losses == pytest.approx(fp32_losses, rel=0.05)
    assert bf16_losses != fp32_losses  # autocast really ran in bf16


def test_early_stopping(an4_subset, tmp_path):
    # lr 0 after warmup 0 -> the validation loss never improves after epoch 0
    trainer = make_trainer(an4_subset, tmp_path, epochs=5, lr=0.0, warmup_steps=0,
                           early_stop_patience=2)
    result = trainer.fit()
    assert result["stopped_early"] and result["epoch"] == 3


def test_crash_while_saving_keeps_the_last_good_checkpoint(an4_subset, tmp_path, monkeypatch):
    trainer = make_trainer(an4_subset, tmp_path, max_steps=4, valid=False)
    trainer.fit()
    manager = CheckpointManager(tmp_path / "checkpoints")
    good = manager.latest()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        trainer.save_checkpoint()
    monkeypatch.undo()
    assert manager.latest() == good
    assert load_checkpoint(good)["step"] == 4
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))


def test_tensorboard_events_when_installed(an4_subset, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is optional; JSONL log only")
    trainer = make_trainer(an4_subset, tmp_path, max_steps=2, valid=False, tensorboard=True)
    assert trainer.logger.has_tensorboard
    trainer.fit()
    assert list((tmp_path / "log" / "tensorboard").glob("events.out.tfevents.*"))


def test_resume_is_exact_with_prefetching_workers(an4_subset, tmp_path):
    # DataLoader workers run ahead of training; the checkpoint must record the batches
    # actually consumed, not the sampler's own position.
    full = make_trainer(an4_subset, tmp_path / "full", num_workers=2, epochs=1,
                        checkpoint_every_steps=0, valid=False)
    full.fit()
    first = make_trainer(an4_subset, tmp_path / "resumed", num_workers=2, epochs=1,
                         max_steps=3, checkpoint_every_steps=0, valid=False)
    first.fit()
    second = make_trainer(an4_subset, tmp_path / "resumed", num_workers=2, epochs=1,
                          checkpoint_every_steps=0, valid=False)
    second.fit()
    assert first.step_losses + second.step_losses == full.step_losses


def test_crash_mid_training_resumes_from_the_last_checkpoint(an4_subset, tmp_path):
    full = make_trainer(an4_subset, tmp_path / "full", checkpoint_every_steps=0)
    full.fit()

    crashing = make_trainer(an4_subset, tmp_path / "crash", checkpoint_every_steps=2)
    forward = crashing.model.forward
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 8:
            raise RuntimeError("simulated crash")
        return forward(*args)

    crashing.model.forward = flaky
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.fit()
    manager = CheckpointManager(tmp_path / "crash" / "checkpoints")
    assert load_checkpoint(manager.latest())["step"] == 6
    resumed = make_trainer(an4_subset, tmp_path / "crash", checkpoint_every_steps=2)
    resumed.fit()
    assert crashing.step_losses[:6] + resumed.step_losses == full.step_losses


def test_lr_schedule_spans_the_bound_that_stops_training_first(an4_subset, tmp_path):
    per_epoch = len(make_trainer(an4_subset, tmp_path / "probe", valid=False).train_sampler)
    assert per_epoch > 1
    by_epochs = make_trainer(an4_subset, tmp_path / "a", epochs=2, max_steps=100 * per_epoch,
                             valid=False)
    assert by_epochs._total_steps() == 2 * per_epoch
    by_steps = make_trainer(an4_subset, tmp_path / "b", epochs=50, max_steps=per_epoch + 1,
                            valid=False)
    assert by_steps._total_steps() == per_epoch + 1
    steps_only = make_trainer(an4_subset, tmp_path / "c", epochs=0, max_steps=per_epoch + 1,
                              valid=False)
    assert steps_only._total_steps() == per_epoch + 1
    steps_only.fit()  # epochs: 0 does not bound training: it runs into a second epoch
    assert steps_only.step == per_epoch + 1 and steps_only.epoch == 1


def test_validation_starts_at_valid_from_epoch_and_always_ends_the_run(an4_subset, tmp_path):
    trainer = make_trainer(an4_subset, tmp_path / "a", epochs=4, valid_from_epoch=2,
                           checkpoint_every_steps=0, keep_last=10)
    trainer.fit()
    assert [v["epoch"] for v in trainer.valid_history] == [2, 3]
    index = CheckpointManager(tmp_path / "a" / "checkpoints").entries()
    assert [e["valid_loss"] is not None for e in index] == [False, False, True, True]
    late = make_trainer(an4_subset, tmp_path / "b", epochs=2, valid_from_epoch=10)
    late.fit()
    assert [v["epoch"] for v in late.valid_history] == [1]
