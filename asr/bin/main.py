"""The ``asr`` command: dispatches to the subcommand modules in :mod:`asr.bin`."""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import logging
import os
import pkgutil
import signal
import sys

import asr
import asr.bin


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 1, no traceback."""


def _subcommand_modules():
    for info in sorted(pkgutil.iter_modules(asr.bin.__path__), key=lambda i: i.name):
        if info.name in {"main"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"asr.bin.{info.name}")
        if hasattr(module, "COMMAND") and hasattr(module, "run"):
            yield module


def _requested_module(argv: list[str]):
    """The module of the subcommand named in ``argv`` when its file name gives it
    (``train-mono`` -> ``asr/bin/train_mono.py``), else None.

    Importing only that module keeps ``asr data info`` from loading torch through the
    other subcommands (over a second per call, many seconds on a loaded machine).
    """
    for arg in argv:
        if arg.startswith("-"):
            continue
        name = arg.replace("-", "_")
        if name == "main" or name.startswith("_") or not name.isidentifier():
            return None
        if importlib.util.find_spec(f"asr.bin.{name}") is None:
            return None
        module = importlib.import_module(f"asr.bin.{name}")
        ok = getattr(module, "COMMAND", None) == arg and hasattr(module, "run")
        return module if ok else None
    return None


def build_parser(modules=None) -> argparse.ArgumentParser:
    """The ``asr`` parser with ``modules``' subcommands (default: all of them)."""
    parser = argparse.ArgumentParser(
        prog="asr",
        description="Train, decode and compare classical (HMM) and end-to-end speech recognizers.",
    )
    parser.add_argument("--version", action="version", version=f"asr {asr.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in modules if modules is not None else _subcommand_modules():
        p = sub.add_parser(
            module.COMMAND,
            help=module.HELP,
            description=(module.__doc__ or module.HELP).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _die_with_launcher() -> None:
    """Under ``torchrun``, have the kernel SIGKILL this worker when its launcher dies.

    torchrun starts each worker in a session of its own, so killing the recipe's
    process group (a SIGKILLed stage, a node's job killed) leaves the workers running:
    orphans that train on and write checkpoints beside the rerun of the stage. Linux
    only (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() == 1:  # the launcher died before the request took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("TORCHELASTIC_RUN_ID"):  # set by torchrun for its workers
        _die_with_launcher()
    module = _requested_module(sys.argv[1:] if argv is None else argv)
    parser = build_parser([module] if module is not None else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if args.command is None:
        parser.print_help()
        return 2
    from asr.parallel import JobFailedError

    try:
        return int(args._run(args) or 0)
    except (CommandError, FileNotFoundError, ValueError, JobFailedError) as err:
        # Errors meant for the user (bad input, missing files) are one clear line.
        if args.verbose:
            raise
        print(f"asr {args.command}: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        # So is a full disk, a quota or a file size limit (no bug to trace).
        if args.verbose or err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        print(f"asr {args.command}: error: {err.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
