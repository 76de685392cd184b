"""The AN4 recipe's classical, hybrid and phoneme-CTC stages (0-1, 10-28, 40-43, 99) run
end to end on a tiny subset (40 training utterances, 8 dev/test utterances, small sizes
through --mono-opts/--tri-opts/--hybrid-opts/--phone-ctc-config): every stage's command,
its inputs from earlier stages and its outputs, as the full recipe runs them. WERs on so
little data are meaningless; the test checks that every system reaches the table and that
the trained systems transcribe a file."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "an4" / "run.sh"


@pytest.mark.slow  # ~45 `asr` calls on tiny data: ~2-3 min on 2 cores
@pytest.mark.skipif(shutil.which("flock") is None, reason="the recipe needs flock (util-linux)")
def test_graph_systems_of_the_an4_recipe(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    tiny = ["--data-dir", str(tmp_path / "data"), "--exp-dir", str(tmp_path / "exp"),
            "--train-utts", "40", "--eval-utts", "8",
            "--mono-opts", "num_iters=4 total_gauss=100 max_iter_inc=3 realign_iters=[1,2]",
            "--tri-opts", "num_leaves=30 total_gauss=120 num_iters=3 realign_iters=[2] "
                          "max_iter_inc=2",
            "--hybrid-opts", "max_epochs=1 model.hidden_dim=32 valid_fraction=0.2",
            "--phone-ctc-config", str(REPO / "conf" / "ctc_phone" / "tiny_test.yaml"),
            "--average-num", "2", "--stages", "0-1,10-28,40-43,99"]
    log = tmp_path / "recipe.log"
    with open(log, "wb") as out:
        proc = subprocess.run(["bash", str(RUN_SH), *tiny], stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=env, timeout=900)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    assert proc.returncode == 0, f"the recipe failed:\n{tail}"
    exp = tmp_path / "exp"
    rows = json.loads((exp / "results.json").read_text())
    got = {(r["system"], r["set"]) for r in rows}
    systems = ["mono", "tri1", "tri2", "tri3", "tri3_tg", "hybrid", "phone_ctc"]
    assert got == {(s, t) for s in systems for t in ("dev", "test")}, got
    assert all(r["words"] > 0 and r["wer"] >= 0 for r in rows)
    # the hybrid read tri3's fMLLR features with each set's transforms
    info = json.loads((exp / "hybrid" / "decode_test" / "decode_info.json").read_text())
    assert info["transform_dir"].endswith("tri3/decode_test")
    rescore = json.loads((exp / "tri3" / "decode_test_tg" / "rescore_info.json").read_text())
    assert rescore["utterances"] == 8 and rescore["hypotheses"] >= 8
    # every stage left its done marker; a rerun skips them all
    markers = sorted(p.name for p in (exp / ".done").iterdir())
    assert "stage28.hybrid_decode" in markers and "stage43.phone_ctc_decode" in markers
    rerun = subprocess.run(["bash", str(RUN_SH), *tiny], capture_output=True, text=True,
                           env=env, timeout=300)
    assert rerun.returncode == 0 and "already done" in rerun.stdout + rerun.stderr
    # the trained systems transcribe a file (the hybrid through a SAT first pass)
    flac = next((REPO / "corpora" / "an4" / "wav" / "an4test_clstk").rglob("*.flac"))
    for system in ("tri3", "hybrid", "phone_ctc"):
        out = subprocess.run([str(Path(sys.executable).parent / "asr"), "transcribe", "--model",
                              str(exp / system), str(flac), "--format", "json"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)[0]["file"] == str(flac)
