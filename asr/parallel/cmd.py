"""``--cmd`` specs for recipes: one string picks the backend and its options.

    parse_cmd("local")
    parse_cmd("local --max-jobs 4")
    parse_cmd("slurm --partition gpu --time 4:00:00 --mem 16G --cpus 4 --gpus 1 --qos high")

Unknown ``--options`` of a slurm spec go to sbatch unchanged (``--qos high`` above).
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from asr.parallel.jobs import JobResult
from asr.parallel.slurm import SlurmOptions


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # a bad spec is a user error, not a SystemExit
        raise ValueError(f"bad --cmd spec: {message}")


@dataclass
class CmdSpec:
    """A parsed ``--cmd``: the backend, a cap on concurrent jobs, and Slurm resources."""

    backend: str = "local"
    max_parallel: int | None = None
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    def run(
        self,
        command: Sequence[str],
        num_jobs: int,
        log_pattern: str,
        env: Mapping[str, str] | None = None,
    ) -> list[JobResult]:
        from asr.parallel import run_jobs

        return run_jobs(
            command,
            num_jobs,
            log_pattern,
            backend=self.backend,
            max_parallel=self.max_parallel,
            slurm_options=self.slurm,
            env=env,
        )


def parse_cmd(spec: str) -> CmdSpec:
    """Parse ``"local [--max-jobs N]"`` or ``"slurm [--partition P] [--time T] [--mem M] [--cpus N]
    [--gpus N] [--max-jobs N] [other sbatch options]"``."""
    tokens = shlex.split(spec)
    if not tokens or tokens[0] not in ("local", "slurm"):
        raise ValueError(f"bad --cmd spec {spec!r}: must start with 'local' or 'slurm'")
    backend, rest = tokens[0], tokens[1:]
    parser = _Parser(prog=backend, add_help=False)
    parser.add_argument("--max-jobs", type=int, dest="max_parallel")
    if backend == "local":
        args = parser.parse_args(rest)
        return CmdSpec("local", args.max_parallel)
    parser.add_argument("--partition")
    parser.add_argument("--time")
    parser.add_argument("--mem")
    parser.add_argument("--cpus", type=int)
    parser.add_argument("--gpus", type=int)
    parser.add_argument("--job-name")
    args, extra = parser.parse_known_args(rest)
    options = SlurmOptions(
        partition=args.partition,
        time=args.time,
        mem=args.mem,
        cpus=args.cpus,
        gpus=args.gpus,
        job_name=args.job_name,
        extra_args=extra,
    )
    return CmdSpec("slurm", args.max_parallel, options)


def add_cmd_argument(parser: argparse.ArgumentParser, default: str = "local") -> None:
    """Add ``--cmd SPEC`` to a subcommand (parse it with :func:`parse_cmd`)."""
    parser.add_argument(
        "--cmd",
        default=default,
        help=f"job runner, 'local [--max-jobs N]' or 'slurm --partition P ...' (default {default})",
    )
