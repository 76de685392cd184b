from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asr.parallel import JobFailedError, run_jobs
from asr.parallel.jobs import exit_code_from_log

PY = sys.executable


def test_job_substitution_and_logs(tmp_path):
    script = (
        "import sys; open(sys.argv[1], 'w').write(sys.argv[2]); print('hello from', sys.argv[2])"
    )
    results = run_jobs(
        [PY, "-c", script, str(tmp_path / "out.JOB.txt"), "job=JOB"],
        3,
        str(tmp_path / "log" / "run.JOB.log"),
    )
    assert [r.job for r in results] == [1, 2, 3] and all(r.ok for r in results)
    for job in (1, 2, 3):
        assert (tmp_path / f"out.{job}.txt").read_text() == f"job={job}"
        log = (tmp_path / "log" / f"run.{job}.log").read_text().splitlines()
        assert log[0].startswith(f"# {PY} -c ") and log[0].endswith(f"out.{job}.txt job={job}")
        assert log[1].startswith("# Started at ")
        assert f"hello from job={job}" in log
        assert log[-1].startswith("# Ended (code 0) at ") and "elapsed time" in log[-1]
        assert exit_code_from_log(tmp_path / "log" / f"run.{job}.log") == 0


def test_stderr_and_env_reach_the_log(tmp_path):
    script = "import os, sys; print('E', os.environ['ASR_TEST_VAR'], file=sys.stderr)"
    run_jobs([PY, "-c", script], 1, str(tmp_path / "one.log"), env={"ASR_TEST_VAR": "v42"})
    assert "E v42" in (tmp_path / "one.log").read_text()


def test_failure_names_jobs_and_logs(tmp_path, capsys):
    script = "import sys; j = int(sys.argv[1]); print('working on', j); sys.exit(3 * (j in (2, 4)))"
    with pytest.raises(JobFailedError) as info:
        run_jobs([PY, "-c", script, "JOB"], 4, str(tmp_path / "f.JOB.log"))
    err = info.value
    assert isinstance(err, RuntimeError)
    assert [r.job for r in err.failed] == [2, 4] and [r.returncode for r in err.failed] == [3, 3]
    assert "2 of 4 job(s) failed" in str(err)
    assert str(tmp_path / "f.2.log") in str(err) and str(tmp_path / "f.4.log") in str(err)
    printed = capsys.readouterr().err
    assert "working on 2" in printed and "# Ended (code 3)" in printed
    # All jobs ran to the end even though some failed.
    assert exit_code_from_log(tmp_path / "f.3.log") == 0


def test_missing_program_is_a_failed_job(tmp_path):
    with pytest.raises(JobFailedError, match=r"job 1 \(exit 127"):
        run_jobs([str(tmp_path / "no-such-program")], 1, str(tmp_path / "x.log"))
    assert "No such file" in (tmp_path / "x.log").read_text()


def test_max_parallel_is_respected(tmp_path):
    script = (
        "import json, sys, time; t0 = time.time(); time.sleep(0.4); "
        "json.dump([t0, time.time()], open(sys.argv[1], 'w'))"
    )
    run_jobs(
        [PY, "-c", script, str(tmp_path / "t.JOB.json")],
        5,
        str(tmp_path / "log.JOB"),
        max_parallel=2,
    )
    spans = [json.loads((tmp_path / f"t.{j}.json").read_text()) for j in range(1, 6)]
    events = sorted(
        [(t0, 1) for t0, _ in spans] + [(t1, -1) for _, t1 in spans], key=lambda e: (e[0], e[1])
    )
    level, peak = 0, 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    assert peak == 2  # never more than 2, and the 2 slots were used together


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="must contain JOB"):
        run_jobs([PY, "-c", "pass"], 2, str(tmp_path / "same.log"))
    with pytest.raises(ValueError, match="list of arguments"):
        run_jobs("echo JOB", 2, str(tmp_path / "x.JOB.log"))
    with pytest.raises(ValueError, match="num_jobs"):
        run_jobs([PY], 0, str(tmp_path / "x.JOB.log"))
    with pytest.raises(ValueError, match="unknown backend"):
        run_jobs([PY], 1, str(tmp_path / "x.log"), backend="sge")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


PARENT = textwrap.dedent("""
    import sys
    from asr.parallel import run_jobs
    child = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"
    run_jobs([sys.executable, "-c", child, sys.argv[1] + "/pid.JOB"], 2, sys.argv[1] + "/log.JOB")
""")


@pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs Linux /proc to inspect children"
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killing_the_parent_kills_the_children(tmp_path, sig):
    # A shell's background job (`pytest ... &`) inherits SIGINT ignored, and Python then
    # keeps ignoring it: give the parent the default disposition, as in a terminal.
    parent = subprocess.Popen([PY, "-c", PARENT, str(tmp_path)], stderr=subprocess.PIPE,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    deadline = time.monotonic() + 20
    while not all(p.exists() and p.read_text() for p in pid_files):
        assert time.monotonic() < deadline and parent.poll() is None, "jobs did not start"
        time.sleep(0.05)
    pids = [int(p.read_text()) for p in pid_files]
    assert all(_alive(pid) for pid in pids)
    parent.send_signal(sig)
    parent.wait(timeout=15)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
    if sig != signal.SIGKILL:  # the runner had the chance to close the logs
        assert all(exit_code_from_log(tmp_path / f"log.{j}") == -signal.SIGTERM for j in (1, 2))
