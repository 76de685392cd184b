from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asr.parallel import JobFailedError, SlurmOptions, run_jobs
from asr.parallel.jobs import exit_code_from_log
from asr.parallel.slurm import build_sbatch_command, build_script, script_path_for, slurm_log_path

PY = sys.executable


def test_sbatch_command_text(tmp_path):
    log = str(tmp_path / "log" / "decode.JOB.log")
    options = SlurmOptions(
        partition="gpu", time="4:00:00", mem="8G", cpus=4, gpus=1, extra_args=["--qos=high"]
    )
    argv = build_sbatch_command("q/decode.sh", 8, log, options, max_parallel=3)
    assert argv == [
        "sbatch",
        "--parsable",
        "--wait",
        "--array=1-8%3",
        f"--output={tmp_path}/log/decode.%a.log",
        "--job-name=decode",
        "--partition=gpu",
        "--time=4:00:00",
        "--mem=8G",
        "--cpus-per-task=4",
        "--gres=gpu:1",
        "--qos=high",
        "q/decode.sh",
    ]
    assert build_sbatch_command("s.sh", 2, log)[:5] == [
        "sbatch",
        "--parsable",
        "--wait",
        "--array=1-2",
        f"--output={tmp_path}/log/decode.%a.log",
    ]


def test_paths():
    assert slurm_log_path("exp/log/x.JOB.log") == os.path.abspath("exp/log/x.%a.log")
    assert script_path_for("exp/log/x.JOB.log") == Path("exp/log/q/x.sh")


def test_script_text(tmp_path):
    script = build_script(
        ["python", "-m", "asr", "feats", "data/split4/JOB", "out dir/feats.JOB.ark"], tmp_path
    )
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert 'JOB="${SLURM_ARRAY_TASK_ID:?not running as a Slurm array task}"' in lines
    assert f"cd {tmp_path} || exit 1" in lines
    assert 'python -m asr feats data/split4/"${JOB}" \'out dir/feats.\'"${JOB}".ark' in lines
    assert lines[-1] == "exit ${rc}"


@pytest.mark.parametrize("task, code", [(2, 0), (3, 5)])
def test_script_runs_one_task_under_bash(tmp_path, task, code):
    """The generated script, run as Slurm would run array task ``task``."""
    cmd = [
        PY,
        "-c",
        "import sys; print('task', sys.argv[1]); sys.exit(int(sys.argv[2]))",
        "JOB",
        str(code),
    ]
    script = tmp_path / "job.sh"
    script.write_text(build_script(cmd, tmp_path))
    out = subprocess.run(
        ["bash", str(script)],
        env={**os.environ, "SLURM_ARRAY_TASK_ID": str(task)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == code
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"# {PY} -c ") and lines[0].endswith(f" {task} {code}")
    assert f"task {task}" in lines
    assert lines[-1].startswith(f"# Ended (code {code}) at ")


# Stands in for Slurm's sbatch: runs each array task's script with SLURM_ARRAY_TASK_ID set and
# its output in --output (%a = task), prints a job id (--parsable) and exits 1 if a task failed.
FAKE_SBATCH = textwrap.dedent("""\
    #!{python}
    import os, subprocess, sys
    args = sys.argv[1:]
    opts = dict(a[2:].split("=", 1) for a in args[:-1] if "=" in a)
    first, last = opts["array"].split("%")[0].split("-")
    open(os.environ["FAKE_SBATCH_ARGV"], "w").write("\\n".join(args))
    print("4242", flush=True)
    failed = False
    for task in range(int(first), int(last) + 1):
        with open(opts["output"].replace("%a", str(task)), "w") as out:
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task))
            code = subprocess.run(["bash", args[-1]], stdout=out, stderr=out, env=env).returncode
            failed |= code != 0
    sys.exit(1 if failed else 0)
""")


@pytest.fixture()
def fake_sbatch(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sbatch = bindir / "sbatch"
    sbatch.write_text(FAKE_SBATCH.format(python=PY))
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SBATCH_ARGV", str(tmp_path / "sbatch_argv"))
    return tmp_path / "sbatch_argv"


def test_slurm_backend_through_a_stand_in_sbatch(tmp_path, fake_sbatch):
    cmd = [PY, "-c", "import sys; open(sys.argv[1], 'w').write('done')", str(tmp_path / "out.JOB")]
    results = run_jobs(
        cmd,
        3,
        str(tmp_path / "log" / "x.JOB.log"),
        backend="slurm",
        slurm_options=SlurmOptions(partition="cpu"),
    )
    assert [(r.job, r.returncode) for r in results] == [(1, 0), (2, 0), (3, 0)]
    assert all((tmp_path / f"out.{j}").read_text() == "done" for j in (1, 2, 3))
    argv = fake_sbatch.read_text().splitlines()
    assert argv[:3] == ["--parsable", "--wait", "--array=1-3"] and "--partition=cpu" in argv
    assert Path(argv[-1]) == tmp_path / "log" / "q" / "x.sh"


def test_slurm_failure_names_tasks_and_logs(tmp_path, fake_sbatch, capsys):
    cmd = [PY, "-c", "import sys; print('bad'); sys.exit(int(sys.argv[1]) == 2)", "JOB"]
    with pytest.raises(JobFailedError) as info:
        run_jobs(cmd, 3, str(tmp_path / "log" / "x.JOB.log"), backend="slurm")
    assert [(r.job, r.returncode) for r in info.value.failed] == [(2, 1)]
    assert str(tmp_path / "log" / "x.2.log") in str(info.value)
    assert "# Ended (code 1)" in capsys.readouterr().err
    assert exit_code_from_log(tmp_path / "log" / "x.1.log") == 0


def test_no_sbatch_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="sbatch"):
        run_jobs([PY, "-c", "pass"], 1, str(tmp_path / "x.log"), backend="slurm")


@pytest.mark.skipif(
    shutil.which("sbatch") is None, reason="Slurm's sbatch is not on PATH (no cluster here)"
)
def test_real_slurm_submission(tmp_path):
    results = run_jobs(
        ["bash", "-c", "echo task JOB"],
        2,
        str(tmp_path / "r.JOB.log"),
        backend="slurm",
        slurm_options=SlurmOptions(time="0:05:00"),
    )
    assert all(r.ok for r in results)
    assert "task 2" in (tmp_path / "r.2.log").read_text()
