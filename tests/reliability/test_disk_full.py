"""Writing into a full disk: a clear error, no partial file under a final name, and the
previous good output left intact.

Two ways to run out of room, each a parameter:

- ``enospc``: a small tmpfs mounted for the test and filled up (needs root, i.e.
  CAP_SYS_ADMIN; skipped otherwise): writes fail with ENOSPC "No space left on device";
- ``efbig``: RLIMIT_FSIZE (with SIGXFSZ ignored) caps the size of any file written:
  writes past it fail with EFBIG "File too large". Works for any user.

Stages: feature extraction (``asr compute-feats`` in a subprocess, over a dir that
holds an earlier complete extraction) and checkpoint writing (the trainer's
:class:`CheckpointManager`, in this process, after a first checkpoint).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from asr.features.pipeline import compute_datadir_features, open_features
from asr.features.modules import load_feature_config
from asr.training.checkpoint import FORMAT, CheckpointManager, load_checkpoint

LIMIT = 32 * 1024  # bytes left on the disk / largest file allowed: a few small files fit
REASONS = {"enospc": "No space left on device", "efbig": "File too large"}


class Disk:
    """A directory that runs out of room on demand (see the module docstring)."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind, self.root = kind, root

    def fill(self) -> None:
        """From now on, only about LIMIT bytes more fit (enospc)."""
        if self.kind == "enospc":
            st = os.statvfs(self.root)
            free = st.f_bavail * st.f_frsize
            with open(self.root / "filler", "wb") as handle:
                handle.write(b"\0" * max(0, free - LIMIT))

    def preexec(self):
        """``preexec_fn`` for a subprocess that must run out of room (efbig)."""
        if self.kind != "efbig":
            return None

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # survives exec: EFBIG, not death
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return limit

    @contextlib.contextmanager
    def limited(self):
        """In this process: writes past LIMIT bytes fail while inside (efbig)."""
        if self.kind != "efbig":
            yield
            return
        old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, old_limit[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
            signal.signal(signal.SIGXFSZ, old_handler)


@pytest.fixture(params=["enospc", "efbig"])
def disk(request, tmp_path):
    root = tmp_path / "disk"
    root.mkdir()
    if request.param == "efbig":
        yield Disk("efbig", root)
        return
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN) and mount(8)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(root)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield Disk("enospc", root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _temporaries(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*.tmp")]


@pytest.fixture
def six_utts(tmp_path, an4_flacs) -> Path:
    """A data dir of 6 real AN4 utterances (about 90 KB of MFCC)."""
    src = tmp_path / "src"
    src.mkdir()
    utts = [(f"spk-{i}", f) for i, f in enumerate(an4_flacs)]
    (src / "wav.scp").write_text("".join(f"{u} {f}\n" for u, f in utts))
    (src / "utt2spk").write_text("".join(f"{u} spk\n" for u, _ in utts))
    return src


def test_feature_extraction_into_a_full_disk(disk, six_utts):
    dst = disk.root / "mfcc"
    compute_datadir_features(six_utts, dst, load_feature_config(None, kind="mfcc"))
    good = _files(dst)
    features = {u: open_features(dst)[u] for u in open_features(dst).utts}
    disk.fill()

    result = subprocess.run(
        [sys.executable, "-m", "asr.bin.main", "compute-feats", str(six_utts), str(dst),
         "--feature", "mfcc", "--nj", "1"],
        capture_output=True, text=True, preexec_fn=disk.preexec(),
        env={**os.environ, "OMP_NUM_THREADS": "1"})

    assert result.returncode != 0
    assert REASONS[disk.kind] in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"asr compute-feats: error: cannot write {dst / 'feats'}/raw_mfcc."), last
    assert last.endswith(f": {REASONS[disk.kind]}"), last
    assert "Traceback" not in result.stderr, result.stderr
    assert not _temporaries(dst)
    now = _files(dst)
    # No new shard, index or statistics; the earlier ones unchanged and still readable.
    assert sorted(p for p in now if p.startswith("feats/")) == \
        sorted(p for p in good if p.startswith("feats/"))
    for name, content in good.items():
        if not name.startswith(("log/", "conf/")):
            assert now.get(name) == content, f"{name} changed"
    reader = open_features(dst)
    assert sorted(reader.utts) == sorted(features)
    for utt, feats in features.items():
        np.testing.assert_array_equal(reader[utt], feats)


def _state(step: int) -> dict:
    gen = torch.Generator().manual_seed(step)
    return {"format": FORMAT, "step": step, "model": {"w": torch.randn(64, 256, generator=gen)}}


def test_checkpoint_into_a_full_disk(disk):
    manager = CheckpointManager(disk.root / "checkpoints", keep_last=1, keep_best=1)
    first = manager.save(_state(1), step=1, epoch=0, valid_loss=2.0)  # 64 KB of weights
    index = manager.index_path.read_bytes()
    disk.fill()

    with disk.limited(), pytest.raises(OSError) as info:
        manager.save(_state(2), step=2, epoch=0, valid_loss=1.0)

    assert info.value.errno == {"enospc": errno.ENOSPC, "efbig": errno.EFBIG}[disk.kind]
    assert f"cannot write checkpoint {manager.dir / 'ckpt-00000002.pt'}: {REASONS[disk.kind]}" \
        in str(info.value)
    assert sorted(p.name for p in manager.dir.iterdir()) == ["best.pt", first.name, "index.json"]
    assert manager.index_path.read_bytes() == index
    assert manager.latest() == first and manager.best() == first
    for path in (first, manager.dir / "best.pt"):
        assert torch.equal(load_checkpoint(path)["model"]["w"], _state(1)["model"]["w"])
