"""Run N jobs as one Slurm job array (like Kaldi's slurm.pl): ``sbatch --wait --array=1-N``.

The batch script sets ``JOB=$SLURM_ARRAY_TASK_ID``, runs the command with every ``JOB``
replaced by ``${JOB}``, and frames its output with the same header and footer as the
local runner, so that the exit status of each task can be read back from its log
(``--output`` with ``%a`` = the task's number).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from asr.parallel.jobs import (
    JOB_TOKEN,
    JobResult,
    check_job_args,
    exit_code_from_log,
    raise_on_failure,
    substitute_job,
)
from asr.utils.io import atomic_write_text


@dataclass
class SlurmOptions:
    """sbatch resources; None leaves the cluster's default."""

    partition: str | None = None
    time: str | None = None  # e.g. "4:00:00"
    mem: str | None = None  # e.g. "8G"
    cpus: int | None = None  # --cpus-per-task
    gpus: int | None = None  # --gres=gpu:N
    job_name: str | None = None
    extra_args: list[str] = field(default_factory=list)  # passed to sbatch verbatim


def _bash_word(text: str) -> str:
    """Quote ``text`` for bash, turning each ``JOB`` into an expansion of ``$JOB``."""
    word = '"${JOB}"'.join(shlex.quote(piece) if piece else "" for piece in text.split(JOB_TOKEN))
    return word or "''"


def slurm_log_path(log_pattern: str) -> str:
    """The ``--output`` path: absolute, ``JOB`` -> ``%a`` (the array task id)."""
    return os.path.abspath(log_pattern).replace(JOB_TOKEN, "%a")


def script_path_for(log_pattern: str) -> Path:
    """Batch scripts go to ``<log dir>/q/<log name without JOB>.sh`` (slurm.pl's place)."""
    log = Path(log_pattern)
    stem = log.name.replace(f".{JOB_TOKEN}", "").replace(JOB_TOKEN, "")
    stem = stem[: -len(".log")] if stem.endswith(".log") else stem
    return log.parent / "q" / f"{stem or 'job'}.sh"


def build_script(command: Sequence[str], workdir: str | Path | None = None) -> str:
    """The bash batch script run by each array task."""
    workdir = os.path.abspath(workdir or os.getcwd())
    run_line = " ".join(_bash_word(arg) for arg in command)
    return "\n".join(
        [
            "#!/usr/bin/env bash",
            "# Written by asr.parallel: Slurm array task i runs job i (JOB=i).",
            'JOB="${SLURM_ARRAY_TASK_ID:?not running as a Slurm array task}"',
            f"cd {shlex.quote(workdir)} || exit 1",
            "echo '# '" + _bash_word(shlex.join(command)),
            'echo "# Started at $(date)"',
            "echo '#'",
            "start=$(date +%s)",
            run_line,
            "rc=$?",
            "elapsed=$(( $(date +%s) - start ))",
            'echo "# Accounting: time=${elapsed} threads=1"',
            'echo "# Ended (code ${rc}) at $(date), elapsed time ${elapsed} seconds"',
            "exit ${rc}",
            "",
        ]
    )


def build_sbatch_command(
    script: str | Path,
    num_jobs: int,
    log_pattern: str,
    options: SlurmOptions | None = None,
    max_parallel: int | None = None,
    sbatch: str = "sbatch",
) -> list[str]:
    """``sbatch --parsable --wait --array=1-N[%P] --output=<log %a> [resources] script``."""
    options = options or SlurmOptions()
    array = f"1-{num_jobs}" + (f"%{max_parallel}" if max_parallel else "")
    name = options.job_name or Path(script).stem
    argv = [
        sbatch,
        "--parsable",
        "--wait",
        f"--array={array}",
        f"--output={slurm_log_path(log_pattern)}",
        f"--job-name={name}",
    ]
    if options.partition:
        argv.append(f"--partition={options.partition}")
    if options.time:
        argv.append(f"--time={options.time}")
    if options.mem:
        argv.append(f"--mem={options.mem}")
    if options.cpus:
        argv.append(f"--cpus-per-task={options.cpus}")
    if options.gpus:
        argv.append(f"--gres=gpu:{options.gpus}")
    argv += list(options.extra_args)
    argv.append(str(script))
    return argv


def run_slurm(
    command: Sequence[str],
    num_jobs: int,
    log_pattern: str,
    options: SlurmOptions | None = None,
    max_parallel: int | None = None,
    env: Mapping[str, str] | None = None,
    sbatch: str = "sbatch",
) -> list[JobResult]:
    """Submit the array, wait for it, and read each task's exit status from its log."""
    check_job_args(command, num_jobs, log_pattern)
    if shutil.which(sbatch) is None:
        raise FileNotFoundError(
            f"{sbatch!r} not found on PATH: Slurm is not available here (use --cmd local)"
        )
    script = script_path_for(log_pattern)
    atomic_write_text(script, build_script(command))
    script.chmod(0o755)
    Path(log_pattern).parent.mkdir(parents=True, exist_ok=True)  # Slurm does not create it
    logs = [Path(substitute_job(log_pattern, j)) for j in range(1, num_jobs + 1)]
    for log in logs:  # stale logs from an earlier run would hide a task that never ran
        log.unlink(missing_ok=True)
    argv = build_sbatch_command(script, num_jobs, log_pattern, options, max_parallel, sbatch)
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, text=True, env={**os.environ, **(env or {})}
        )
        job_id = None
        try:
            job_id = (proc.stdout.readline().strip().split(";")[0]) or None
            proc.wait()
        except BaseException:
            if job_id and shutil.which("scancel"):
                subprocess.run(["scancel", job_id], check=False)
            proc.terminate()
            proc.wait()
            raise
        err.seek(0)
        sbatch_err = err.read().strip()
    if job_id is None:
        raise RuntimeError(
            f"sbatch failed to submit {script} (exit {proc.returncode}): {sbatch_err}"
        )
    results = [JobResult(j, exit_code_from_log(log), log) for j, log in enumerate(logs, start=1)]
    raise_on_failure(results, num_jobs)
    if proc.returncode != 0:
        raise RuntimeError(
            f"sbatch (job {job_id}) exited {proc.returncode} although every task "
            f"reported success: {sbatch_err}"
        )
    return results
