"""Job runner: N jobs of one command, locally or on Slurm, with one calling convention.

Like Kaldi's run.pl / slurm.pl: every ``JOB`` in the command's arguments and in the
log path is replaced by the job number 1..N; each job writes its own log framed by a
``# <command>`` header and a ``# Ended (code N) ...`` footer::

    from asr.parallel import run_jobs, parse_cmd
    run_jobs(["python", "-m", "x", "data/split4/JOB", "out.JOB.ark"], 4, "exp/log/x.JOB.log")
    parse_cmd("slurm --partition gpu --time 4:00:00").run(cmd, 40, "exp/log/x.JOB.log")

A failed job raises :class:`JobFailedError` (a RuntimeError) naming the jobs and logs.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from asr.parallel.cmd import CmdSpec, add_cmd_argument, parse_cmd
from asr.parallel.jobs import JobFailedError, JobResult
from asr.parallel.local import run_local
from asr.parallel.slurm import SlurmOptions, run_slurm

__all__ = [
    "CmdSpec",
    "JobFailedError",
    "JobResult",
    "SlurmOptions",
    "add_cmd_argument",
    "parse_cmd",
    "run_jobs",
]


def run_jobs(
    command: Sequence[str],
    num_jobs: int,
    log_pattern: str,
    backend: str = "local",
    max_parallel: int | None = None,
    slurm_options: SlurmOptions | None = None,
    env: Mapping[str, str] | None = None,
) -> list[JobResult]:
    """Run jobs 1..num_jobs of ``command`` and wait for all of them.

    Args:
        command: program and arguments; ``JOB`` anywhere in them becomes the job number.
        num_jobs: N >= 1.
        log_pattern: per-job log path containing ``JOB`` (stdout and stderr together).
        backend: ``"local"`` (subprocesses) or ``"slurm"`` (one ``sbatch --wait`` job array).
        max_parallel: at most this many jobs at once (local default: min(N, CPU count);
            Slurm default: no cap, else ``--array=1-N%P``).
        slurm_options: partition, time, mem, cpus, gpus, extra sbatch args.
        env: extra environment variables for the jobs.

    Returns:
        One :class:`JobResult` per job, in job order.

    Raises:
        JobFailedError: some job exited non-zero (after all jobs have finished).
    """
    if backend == "local":
        return run_local(command, num_jobs, log_pattern, max_parallel=max_parallel, env=env)
    if backend == "slurm":
        return run_slurm(
            command,
            num_jobs,
            log_pattern,
            options=slurm_options,
            max_parallel=max_parallel,
            env=env,
        )
    raise ValueError(f"unknown backend {backend!r}: expected 'local' or 'slurm'")
