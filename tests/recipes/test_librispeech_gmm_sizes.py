"""recipes/librispeech/run.sh sizes tri1-tri3 (tree leaves, Gaussians) by the training
hours unless --tri-opts sets them: its ``tri_size_opts`` function, run by bash on data
dirs whose utt2dur adds up to the hours under test (read back by `asr data info`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "librispeech" / "run.sh"


def function_text(name: str) -> str:
    """The text of shell function ``name`` in run.sh (from ``name() {`` to ``}``)."""
    lines = RUN_SH.read_text().splitlines()
    start = lines.index(f"{name}() {{")
    end = lines.index("}", start)
    return "\n".join(lines[start:end + 1])


def tri_size_opts(tmp_path: Path, hours: float, tri_opts: str = "") -> str:
    train = tmp_path / f"train-{hours}h"
    train.mkdir()
    (train / "wav.scp").write_text("u1 /dev/null\n")
    (train / "text").write_text("u1 HELLO\n")
    (train / "utt2spk").write_text("u1 s1\n")
    (train / "utt2dur").write_text(f"u1 {hours * 3600}\n")
    script = (f"{function_text('tri_size_opts')}\n"
              f'data={tmp_path}; train={train.name}; tri_opts="$1"\ntri_size_opts\n')
    asr_dir = str(Path(shutil.which("asr") or Path(sys.executable).with_name("asr")).parent)
    env = {**os.environ, "PATH": f"{asr_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script, "tri_size_opts", tri_opts], env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("hours,sizes", [
    (0.5, "num_leaves=300 total_gauss=1500"),
    (1.99, "num_leaves=300 total_gauss=1500"),
    (3, "num_leaves=2000 total_gauss=10000"),
    (10, "num_leaves=2000 total_gauss=10000"),
    (100.6, "num_leaves=4200 total_gauss=40000"),
    (460, "num_leaves=5000 total_gauss=100000"),
    (960, "num_leaves=7000 total_gauss=150000"),
])
def test_sizes_grow_with_the_training_hours(tmp_path, hours, sizes):
    assert tri_size_opts(tmp_path, hours) == sizes


def test_other_options_are_kept_after_the_sizes(tmp_path):
    assert tri_size_opts(tmp_path, 10, "num_iters=3 realign_iters=[]") == (
        "num_leaves=2000 total_gauss=10000 num_iters=3 realign_iters=[]")


@pytest.mark.parametrize("tri_opts", ["num_leaves=40 total_gauss=80", "total_gauss=5000",
                                      "num_iters=3 num_leaves=900"])
def test_sizes_given_in_tri_opts_win(tmp_path, tri_opts):
    assert tri_size_opts(tmp_path, 10, tri_opts) == tri_opts
