from __future__ import annotations

import argparse
import sys

import pytest

from asr.parallel import SlurmOptions, add_cmd_argument, parse_cmd


def test_local():
    spec = parse_cmd("local")
    assert (spec.backend, spec.max_parallel) == ("local", None)
    assert parse_cmd("local --max-jobs 4").max_parallel == 4


def test_slurm_options_and_pass_through():
    spec = parse_cmd(
        "slurm --partition gpu --time 4:00:00 --mem 16G --cpus 4 --gpus 1 --max-jobs 10 --qos high"
    )
    assert spec.backend == "slurm" and spec.max_parallel == 10
    assert spec.slurm == SlurmOptions(
        partition="gpu", time="4:00:00", mem="16G", cpus=4, gpus=1, extra_args=["--qos", "high"]
    )


@pytest.mark.parametrize("bad", ["", "sge -q all", "local --partition gpu", "slurm --cpus four"])
def test_bad_specs(bad):
    with pytest.raises(ValueError, match="bad --cmd spec"):
        parse_cmd(bad)


def test_spec_runs_jobs(tmp_path):
    results = parse_cmd("local --max-jobs 1").run(
        [sys.executable, "-c", "print('JOB')"], 2, str(tmp_path / "l.JOB.log")
    )
    assert [r.ok for r in results] == [True, True]
    assert "\n2\n" in (tmp_path / "l.2.log").read_text()


def test_add_cmd_argument():
    parser = argparse.ArgumentParser()
    add_cmd_argument(parser)
    assert parser.parse_args([]).cmd == "local"
    assert parser.parse_args(["--cmd", "slurm --partition x"]).cmd == "slurm --partition x"
