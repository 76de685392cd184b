"""Kill the AN4 recipe with SIGKILL mid-stage, rerun it, and get the uninterrupted results.

Two copies of a tiny AN4 run (40 train / 10 dev / 10 test utterances, a 6-iteration
monophone system, the 0.1 M-parameter ``conf/e2e/tiny_test.yaml``) go to separate
data/exp dirs (stage 0, the data dirs, is run once and copied): the reference runs
straight through (in the background), the other is SIGKILLed (its whole process group)
three times, each time as soon as a file shows the stage is under way, and rerun with
the same command after each kill:

1. stage 1 (mfcc): once the first train feature shard (or its temporary file) exists;
2. stage 10 (mono_train): once the log shows the first EM iteration;
3. stage 30 (e2e_train): once the first checkpoint is in the index.

Then both must agree on exp/results.json (WERs), every decoded text, the trained
models (tensors bit for bit), the e2e training log (losses), and the features; and
no temporary file may be left behind by the killed run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "an4" / "run.sh"
TINY_E2E = REPO / "conf" / "e2e" / "tiny_test.yaml"

needs_shell = pytest.mark.skipif(shutil.which("flock") is None or shutil.which("bash") is None,
                                 reason="the recipe needs bash and flock (util-linux)")


def _recipe_command(root: Path) -> list[str]:
    return ["bash", str(RUN_SH), "--data-dir", str(root / "data"), "--exp-dir", str(root / "exp"),
            "--train-utts", "40", "--eval-utts", "10", "--nj", "2",
            "--mono-opts", "num_iters=6 total_gauss=100 max_iter_inc=4",
            "--e2e-config", str(TINY_E2E), "--average-num", "2",
            "--stages", "0-12,30-33,99"]  # the features, mono and e2e systems


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(root: Path, log: Path, *extra: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        # Its own session: the test can SIGKILL run.sh and everything it started at once.
        return subprocess.Popen(_recipe_command(root) + list(extra), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_env(),
                                start_new_session=True)


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])


def _wait_group_gone(pgid: int, timeout: float = 30.0) -> None:
    """Wait until no process of group ``pgid`` is left (children die after their parent,
    and one still alive would hold the recipe's lock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    pytest.fail(f"process group {pgid} still alive {timeout} s after SIGKILL")


def _run_and_kill(root: Path, log: Path, triggered: Callable[[], bool], what: str,
                  timeout: float = 240.0) -> None:
    """Start the recipe, SIGKILL its process group as soon as ``triggered()``."""
    proc = _start(root, log)
    deadline = time.monotonic() + timeout
    while not triggered():
        if proc.poll() is not None:
            pytest.fail(f"the recipe ended (status {proc.returncode}) before {what}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"no {what} after {timeout} s:\n{_tail(log)}")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_group_gone(proc.pid)
    with open(log, "a") as out:
        out.write(f"\n=== test: SIGKILL at {what} ===\n")


def _wait(proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the recipe took more than {timeout} s:\n{_tail(log)}")
    assert proc.returncode == 0, f"the recipe failed (status {proc.returncode}):\n{_tail(log)}"


def _done(root: Path, marker: str) -> bool:
    return (root / "exp" / ".done" / marker).exists()


def _assert_same(a, b, where: str) -> None:
    """Nested dicts/lists of tensors, arrays and plain values: equal bit for bit."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{where}: keys differ"
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b), \
            f"{where}: tensors differ"
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), f"{where}: arrays differ"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _results(root: Path) -> list[dict]:
    rows = json.loads((root / "exp" / "results.json").read_text())
    return [{k: v for k, v in row.items() if k != "path"} for row in rows]


def _train_log(root: Path) -> list[dict]:
    from asr.training.logging import read_log

    # Timings, and audio_s: a difference of running sums that starts anew in a resumed
    # process (equal to ~1e-14 s).
    timing = {"elapsed_s", "audio_s_per_s", "audio_s"}
    return [{k: v for k, v in r.items() if k not in timing}
            for r in read_log(root / "exp" / "e2e" / "log" / "train_log.jsonl")]


def _features(root: Path, name: str) -> dict[str, np.ndarray]:
    from asr.features.pipeline import open_features

    reader = open_features(root / "data" / "mfcc" / name)
    return {utt: reader[utt] for utt in reader.utts}


@pytest.mark.slow  # two tiny recipe runs, ~30 `asr` calls each: ~1.5 min on 2 idle cores
@needs_shell
def test_killed_recipe_resumes_to_the_uninterrupted_results(tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "killed"
    ref.mkdir()
    run.mkdir()
    ref_log, run_log = tmp_path / "ref.log", tmp_path / "killed.log"
    # Stage 0 (data dirs) once, for both: the killed run finds it done.
    _wait(_start(ref, ref_log, "--stop-stage", "0"), ref_log)
    shutil.copytree(ref / "data", run / "data")
    (run / "exp" / ".done").mkdir(parents=True)
    shutil.copy(ref / "exp" / ".done" / "stage0.data", run / "exp" / ".done")
    reference = _start(ref, ref_log)  # runs beside the killed one: 2 cores
    try:
        # 1. Mid feature extraction: the first train shard is being written (or just was).
        train_feats = run / "data" / "mfcc" / "train" / "feats"
        _run_and_kill(run, run_log, lambda: train_feats.is_dir() and any(train_feats.iterdir()),
                      "stage 1 (a train feature shard)")
        assert not _done(run, "stage1.mfcc")

        # 2. Mid monophone training: EM iteration 0 logged, 5 more to go.
        _run_and_kill(run, run_log, lambda: "mono iter 0:" in run_log.read_text(errors="replace"),
                      "stage 10 (mono EM iteration 0)")
        assert _done(run, "stage1.mfcc") and not _done(run, "stage10.mono_train")
        assert not (run / "exp" / "mono" / "final.mdl").exists()

        # 3. Mid e2e training, after its first checkpoint (one every 3 steps, 22 in all).
        index = Path("exp") / "e2e" / "checkpoints" / "index.json"
        _run_and_kill(run, run_log, (run / index).exists, "stage 30 (first checkpoint)")
        assert _done(run, "stage12.mono_decode") and not _done(run, "stage30.e2e_train")
        killed_at = max(e["step"] for e in json.loads((run / index).read_text()))

        # 4. The same command to the end.
        proc = _start(run, run_log)
        _wait(proc, run_log)
        _wait(reference, ref_log)
    finally:
        if reference.poll() is None:
            os.killpg(reference.pid, signal.SIGKILL)
            reference.wait()

    last = max(e["step"] for e in json.loads((ref / index).read_text()))
    assert killed_at < last, f"e2e training was over (step {killed_at}) when killed"
    text = run_log.read_text()
    assert "resumed from" in text and f"ckpt-{killed_at:08d}.pt" in text, \
        "the rerun did not resume e2e training from the last checkpoint"
    _assert_same_outputs(run, ref)


def _assert_same_outputs(run: Path, ref: Path) -> None:
    """Results, decoded texts, models, training log and features of two recipe runs."""
    assert _results(run) == _results(ref)
    assert {(r["system"], r["set"]) for r in _results(ref)} == \
        {(s, d) for s in ("mono", "e2e") for d in ("dev", "test")}
    for system in ("mono", "e2e"):
        for name in ("dev", "test"):
            decoded = Path("exp") / system / f"decode_{name}" / "text"
            assert (run / decoded).read_text() == (ref / decoded).read_text(), decoded
    for model in ("exp/mono/final.mdl", "exp/e2e/final.pt"):
        _assert_same(torch.load(run / model, weights_only=True),
                     torch.load(ref / model, weights_only=True), model)
    assert _train_log(run) == _train_log(ref)
    for name in ("train", "dev", "test"):
        _assert_same(_features(run, name), _features(ref, name), f"mfcc/{name}")
        _assert_same(dict(np.load(run / "data" / "mfcc" / name / "cmvn.npz")),
                     dict(np.load(ref / "data" / "mfcc" / name / "cmvn.npz")),
                     f"mfcc/{name}/cmvn.npz")

    leftovers = sorted(str(p.relative_to(run)) for p in run.rglob("*.tmp"))
    assert not leftovers, f"temporary files left by the killed runs: {leftovers}"


def test_feature_extraction_removes_shards_a_killed_run_left(tmp_path, an4_flacs):
    from asr.features.modules import load_feature_config
    from asr.features.pipeline import compute_datadir_features

    src, dst = tmp_path / "src", tmp_path / "mfcc"
    src.mkdir()
    (src / "wav.scp").write_text(f"a-1 {an4_flacs[0]}\n")
    (src / "utt2spk").write_text("a-1 a\n")
    stale = dst / "feats" / ".raw_mfcc.20260101-000000.1.bin.k1ll3d.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\0" * 100)
    compute_datadir_features(src, dst, load_feature_config(None, kind="mfcc"))
    assert not stale.exists()
    shards = [p.name for p in (dst / "feats").iterdir()]
    assert len(shards) == 1 and shards[0].startswith("raw_mfcc."), shards


def test_checkpoint_save_removes_what_a_killed_save_left(tmp_path):
    from asr.training.checkpoint import FORMAT, CheckpointManager

    manager = CheckpointManager(tmp_path / "checkpoints", keep_last=2)
    manager.save({"format": FORMAT, "step": 1}, step=1, epoch=0)
    stale = manager.dir / ".ckpt-00000002.pt.k1ll3d.tmp"
    stale.write_bytes(b"PK\3\4 torn")
    manager.save({"format": FORMAT, "step": 2}, step=2, epoch=0)
    assert sorted(p.name for p in manager.dir.iterdir()) == \
        ["ckpt-00000001.pt", "ckpt-00000002.pt", "index.json"]
