"""The ``asr`` entry point: a torchrun worker dies with its launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# The "launcher" starts a worker in a session of its own (as torchrun does), prints the
# worker's pid and sleeps; the worker runs the entry point's start-up and sleeps.
LAUNCHER = textwrap.dedent("""
    import os, subprocess, sys, time
    env = dict(os.environ, TORCHELASTIC_RUN_ID="test")
    worker = subprocess.Popen([sys.executable, "-c",
        "from asr.bin.main import main; import sys, time; sys.argv = ['asr', '--version']\\n"
        "try:\\n    main()\\nexcept SystemExit:\\n    pass\\n"
        "print('ready', flush=True); time.sleep(120)"],
        env=env, start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip().startswith("asr")
    assert worker.stdout.readline().strip() == "ready"
    print(worker.pid, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its reaper is dead
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_torchrun_worker_is_killed_when_its_launcher_is_sigkilled():
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True)
    worker = int(launcher.stdout.readline())
    try:
        assert _alive(worker)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived its SIGKILLed launcher"
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
