"""Two-process gloo DDP: all-reduced gradients equal one process on the whole batch,
a short DDP fit keeps the ranks' models identical with only rank 0 writing, and
``Trainer.close()`` frees the DDP wrapper before the process group is destroyed."""

from __future__ import annotations

import os
import socket
import weakref

import pytest
import torch
import torch.multiprocessing as mp

from asr.training import distributed as D
from asr.training.collate import collate
from asr.training.sampler import DurationBucketSampler
from asr.training.trainer import Trainer, TrainerConfig

from .helpers import tiny_model

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(**kw) -> TrainerConfig:
    base = dict(epochs=1, lr=1e-3, warmup_steps=1, log_every_steps=1, progress_bar=False,
                tensorboard=False, device="cpu", checkpoint_every_steps=2, seed=3)
    base.update(kw)
    return TrainerConfig(**base)


def make_trainer(subset, exp_dir, dist_info) -> Trainer:
    ds = subset.dataset()
    sampler = DurationBucketSampler(ds.duration_list(), 12.0, seed=3,
                                    world_size=dist_info.world_size, rank=dist_info.rank)
    return Trainer(tiny_model(seed=0, dropout=0.0), config(), exp_dir, ds, sampler,
                   model_config={"name": "tiny"}, dist_info=dist_info)


def _worker(rank: int, port: int, subset, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    info = D.init_distributed(device="cpu")
    try:
        # 1. gradients of one step on this rank's half of a global batch of 4
        trainer = make_trainer(subset, f"{out_dir}/grads_exp", info)
        ds = subset.dataset()
        half = collate([ds[i] for i in range(rank * 2, rank * 2 + 2)])
        trainer._forward_backward(half, sync=True)
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
        torch.save(grads, f"{out_dir}/grads{rank}.pt")
        # 2. a short fit
        trainer = make_trainer(subset, f"{out_dir}/exp", info)
        trainer.fit(resume=False)
        # 3. close() frees DDP (and its reducer) before the process group goes
        wrapper = weakref.ref(trainer.ddp_model)
        trainer.close()
        torch.save({"params": trainer.model.state_dict(), "step": trainer.step,
                    "batches": len(trainer.train_sampler), "ddp_freed": wrapper() is None},
                   f"{out_dir}/fit{rank}.pt")
    finally:
        D.cleanup()


@pytest.fixture(scope="module")
def ddp_run(an4_subset, tmp_path_factory):
    """Run both two-rank jobs once (process start-up dominates the time)."""
    out = tmp_path_factory.mktemp("ddp")
    # fork: the children reuse the imported modules (spawn would import torch again)
    mp.start_processes(_worker, args=(free_port(), an4_subset, str(out)), nprocs=WORLD,
                       join=True, start_method="fork")
    return out


@pytest.mark.slow
def test_ddp_gradients_equal_single_process_on_whole_batch(an4_subset, ddp_run, tmp_path):
    single = make_trainer(an4_subset, tmp_path / "single", D.DistInfo(0, 1, 0,
                                                                      torch.device("cpu")))
    ds = an4_subset.dataset()
    single._forward_backward(collate([ds[i] for i in range(4)]), sync=True)
    ranks = [torch.load(ddp_run / f"grads{r}.pt") for r in range(WORLD)]
    for name, p in single.model.named_parameters():
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        assert torch.allclose(ranks[0][name], p.grad, rtol=1e-5, atol=1e-6), name
    # one half alone gives other gradients: the equality above needs the all-reduce
    alone = make_trainer(an4_subset, tmp_path / "alone", D.DistInfo(0, 1, 0,
                                                                     torch.device("cpu")))
    alone._forward_backward(collate([ds[i] for i in range(2)]), sync=True)
    assert not torch.allclose(alone.model.out.bias.grad, single.model.out.bias.grad,
                              rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_ddp_fit_keeps_ranks_in_step_and_rank0_writes(ddp_run):
    fits = [torch.load(ddp_run / f"fit{r}.pt") for r in range(WORLD)]
    assert fits[0]["step"] == fits[1]["step"] == fits[0]["batches"] > 0
    assert fits[0]["ddp_freed"] and fits[1]["ddp_freed"], "Trainer.close() left DDP alive"
    for key, value in fits[0]["params"].items():
        assert torch.equal(value, fits[1]["params"][key]), key
    ckpts = sorted((ddp_run / "exp" / "checkpoints").glob("ckpt-*.pt"))
    assert ckpts, "rank 0 wrote no checkpoint"
    saved = torch.load(ckpts[-1], weights_only=True)
    assert len(saved["rng"]) == WORLD  # every rank's RNG state, for an exact resume
    lines = (ddp_run / "exp" / "log" / "train_log.jsonl").read_text().splitlines()
    assert len([ln for ln in lines if '"train"' in ln]) == fits[0]["step"]  # one writer
