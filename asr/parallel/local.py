"""Run N jobs as local processes, at most ``max_parallel`` at a time (like Kaldi's run.pl)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import Mapping, Sequence

from asr.parallel.jobs import (
    JobResult,
    check_job_args,
    job_command,
    log_footer,
    log_header,
    raise_on_failure,
    substitute_job,
)

_PR_SET_PDEATHSIG = 1
_LIBC = None
if os.name == "posix":
    with contextlib.suppress(OSError):
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux: the child gets SIGTERM if the parent dies, even by SIGKILL.
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _kill_group(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """SIGTERM the child's process group (it leads its own session), SIGKILL after ``grace`` s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class _TermFlag:
    """``signum`` of a SIGTERM received while :func:`_sigterm_flagged` is active, else 0."""

    signum = 0

    def check(self) -> None:
        """Raise ``SystemExit(128 + signum)`` once a SIGTERM has arrived."""
        if self.signum:
            raise SystemExit(128 + self.signum)


@contextlib.contextmanager
def _sigterm_flagged():
    """While running, SIGTERM to this process is recorded in the yielded flag, which the
    caller checks at safe points and turns into SystemExit, so that children get cleaned
    up. The handler itself does not raise: an exception raised between two bytecodes of
    ``Popen.poll`` can leave Popen's internal wait lock held, and the cleanup's
    ``wait()`` then blocks forever."""
    flag = _TermFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.signum = signum

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_local(
    command: Sequence[str],
    num_jobs: int,
    log_pattern: str,
    max_parallel: int | None = None,
    env: Mapping[str, str] | None = None,
    poll_interval: float = 0.02,
) -> list[JobResult]:
    """Run ``command`` for jobs 1..N (``JOB`` replaced); see :func:`asr.parallel.run_jobs`."""
    check_job_args(command, num_jobs, log_pattern)
    if max_parallel is None:
        max_parallel = min(num_jobs, os.cpu_count() or 1)
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
    full_env = {**os.environ, **(env or {})}
    pending = deque(range(1, num_jobs + 1))
    running: dict[int, tuple[subprocess.Popen, Path, float]] = {}
    results: dict[int, JobResult] = {}

    def start(job: int) -> None:
        argv = job_command(command, job)
        log = Path(substitute_job(log_pattern, job))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(log_header(argv), encoding="utf-8")
        with open(log, "ab") as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=full_env,
                    start_new_session=True,
                    preexec_fn=_child_setup,
                )
            except OSError as err:  # e.g. the program does not exist: a failed job, not a crash
                out.write(f"{err}\n".encode())
                out.write(log_footer(127, 0.0).encode())
                results[job] = JobResult(job, 127, log, 0.0)
                return
        running[job] = (proc, log, time.monotonic())

    def finish(job: int, returncode: int) -> None:
        proc, log, t0 = running.pop(job)
        elapsed = time.monotonic() - t0
        with open(log, "a", encoding="utf-8") as out:
            out.write(log_footer(returncode, elapsed))
        results[job] = JobResult(job, returncode, log, elapsed)

    with _sigterm_flagged() as terminated:
        try:
            while pending or running:
                terminated.check()
                while pending and len(running) < max_parallel:
                    start(pending.popleft())
                for job, (proc, _, _) in list(running.items()):
                    code = proc.poll()
                    if code is not None:
                        finish(job, code)
                if running:
                    time.sleep(poll_interval)
            terminated.check()
        except BaseException:
            # Ctrl-C, SIGTERM or an error here: no job may outlive the runner.
            for job, (proc, log, _) in list(running.items()):
                _kill_group(proc)
                finish(job, proc.returncode if proc.returncode is not None else -signal.SIGKILL)
            raise
    ordered = [results[j] for j in sorted(results)]
    raise_on_failure(ordered, num_jobs)
    return ordered
