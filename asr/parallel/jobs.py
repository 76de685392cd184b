"""What both backends share: JOB substitution, log header/footer, results and the failure error."""

from __future__ import annotations

import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

JOB_TOKEN = "JOB"

_FOOTER = re.compile(r"^# Ended \(code (-?\d+)\)")


def substitute_job(text: str, job: int) -> str:
    """Replace every ``JOB`` in ``text`` by the job number (as Kaldi's run.pl does)."""
    return text.replace(JOB_TOKEN, str(job))


def job_command(command: Sequence[str], job: int) -> list[str]:
    return [substitute_job(arg, job) for arg in command]


def check_job_args(command: Sequence[str], num_jobs: int, log_pattern: str) -> None:
    if isinstance(command, str) or not command:
        raise ValueError(f"command must be a non-empty list of arguments, got {command!r}")
    if num_jobs < 1:
        raise ValueError(f"num_jobs must be at least 1, got {num_jobs}")
    if num_jobs > 1 and JOB_TOKEN not in log_pattern:
        raise ValueError(
            f"log path {log_pattern!r} must contain {JOB_TOKEN} when running {num_jobs} jobs"
        )


def log_header(command: Sequence[str]) -> str:
    return f"# {shlex.join(command)}\n# Started at {time.strftime('%a %b %d %H:%M:%S %Z %Y')}\n#\n"


def log_footer(returncode: int, elapsed: float) -> str:
    return (
        f"# Accounting: time={round(elapsed)} threads=1\n"
        f"# Ended (code {returncode}) at {time.strftime('%a %b %d %H:%M:%S %Z %Y')}, "
        f"elapsed time {elapsed:.2f} seconds\n"
    )


def exit_code_from_log(path: str | Path) -> int | None:
    """The code in the log's ``# Ended (code N)`` footer; None if absent (job killed or not run)."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        match = _FOOTER.match(line)
        if match:
            return int(match.group(1))
    return None


@dataclass(frozen=True)
class JobResult:
    """One finished job: its number (1-based), exit status (None: unknown), log and run time (s)."""

    job: int
    returncode: int | None
    log: Path
    elapsed: float | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class JobFailedError(RuntimeError):
    """One or more jobs exited non-zero; ``failed`` lists them with their logs."""

    def __init__(self, failed: Sequence[JobResult], num_jobs: int):
        self.failed = list(failed)
        self.num_jobs = num_jobs
        parts = [
            f"job {r.job} (exit {'unknown' if r.returncode is None else r.returncode}, log {r.log})"
            for r in self.failed
        ]
        super().__init__(f"{len(self.failed)} of {num_jobs} job(s) failed: " + "; ".join(parts))


def tail(path: str | Path, num_lines: int = 20) -> str:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return f"(log {path} was not written)"
    return "\n".join(lines[-num_lines:])


def raise_on_failure(results: Sequence[JobResult], num_jobs: int) -> None:
    """Print the end of the first failed log to stderr and raise :class:`JobFailedError`."""
    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0]
        print(
            f"asr.parallel: job {first.job} failed; last lines of {first.log}:\n{tail(first.log)}",
            file=sys.stderr,
        )
        raise JobFailedError(failed, num_jobs)
