"""recipes/sweep.sh: argument checks and its tables of recipe stages.

(A real sweep trains several systems per size: too slow for a unit test. The AN4
mono sweep is run by hand; see the sweep's header and `asr sweep-report`.)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SWEEP = Path(__file__).resolve().parents[2] / "recipes" / "sweep.sh"


def _sweep(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SWEEP), "--out-dir", str(tmp_path / "sweep"), *options],
                          capture_output=True, text=True, timeout=300, check=False)


def test_unknown_corpus_and_system_are_usage_errors(tmp_path):
    result = _sweep(tmp_path, "--corpus", "timit")
    assert result.returncode == 2
    assert "--corpus must be an4, synthetic or librispeech" in result.stderr
    result = _sweep(tmp_path, "--corpus", "an4", "--systems", "mono gmm9")
    assert result.returncode == 2
    assert "unknown system 'gmm9' (known: mono tri1 tri3 hybrid phone_ctc e2e)" in result.stderr


def test_stage_ranges_name_real_stages_of_each_recipe():
    """Every range in the sweep's stage tables starts and ends on a stage its recipe has
    (a renumbered recipe stage would otherwise make the sweep run the wrong steps)."""
    import re

    text = SWEEP.read_text()
    recipes = SWEEP.parent
    for table, recipe in (("an4_stages", "an4"), ("libri_stages", "librispeech")):
        body = re.search(rf"declare -A {table}=\((.*?)\)\n", text, re.S).group(1)
        ranges = dict(re.findall(r"\[(\w+)\]=(\d+-\d+)", body))
        stages = {int(n) for n in re.findall(r"^\s*run_stage (\d+) ",
                                             (recipes / recipe / "run.sh").read_text(), re.M)}
        assert {"prep", "mono", "tri1", "tri3", "hybrid", "e2e", "phone_ctc"} <= set(ranges)
        for system, span in ranges.items():
            first, last = map(int, span.split("-"))
            assert first in stages and last in stages, (recipe, system, span)
