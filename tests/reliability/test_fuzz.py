"""A short run of the mutation fuzzer (scripts/fuzz.py) on both targets: every mutated
input is either accepted or rejected with a documented error, none crashes or hangs."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_short_fuzz_run(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "fuzz.py"), "--count", "300",
                           "--seed", "7", "--crash-dir", str(tmp_path / "findings")],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for target in ("audio", "datadir"):
        counts = report[target]
        assert counts["crashed"] == 0 and counts["hung"] == 0, (counts, proc.stderr[-2000:])
        assert counts["ok"] + counts["rejected"] == 300
        assert counts["rejected"] > 0  # the mutations do reach the error paths
    assert proc.returncode == 0
