"""`asr score` and `asr compare` end to end, in-process, on AN4 test transcripts."""

from __future__ import annotations

import csv
import io
import json

import jiwer
import pytest

from asr.bin.main import main
from asr.corpora.an4 import parse_transcriptions


def _write_text(path, texts):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u} {t}\n" for u, t in texts.items()))


def _drop_every(texts, k, seed):
    """A deterministic stand-in for decoder output: drop the (seed + i)-th word every k words."""
    out = {}
    for i, (utt, text) in enumerate(texts.items()):
        words = text.split()
        out[utt] = " ".join(w for j, w in enumerate(words) if (i + j + seed) % k)
    return out


@pytest.fixture()
def workdir(tmp_path, an4_dir, monkeypatch):
    ref = dict(sorted(parse_transcriptions(an4_dir / "etc" / "an4_test.transcription").items()))
    _write_text(tmp_path / "data" / "test" / "text", ref)
    (tmp_path / "data" / "test" / "utt2spk").write_text(
        "".join(f"{u} {u.split('-')[1]}\n" for u in ref)
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path, ref


def test_score_writes_files_and_prints_summary(workdir, capsys):
    tmp_path, ref = workdir
    hyp = _drop_every(ref, 6, 0)
    del hyp[list(hyp)[0]]
    _write_text(tmp_path / "exp" / "tri3" / "decode_test" / "text", hyp)
    code = main(
        ["score", "--ref", "data/test/text", "--hyp", "exp/tri3/decode_test/text", "--hours", "0.7"]
    )
    assert code == 0
    out, err = capsys.readouterr()
    result = json.loads((tmp_path / "exp/tri3/decode_test/result.json").read_text())
    wer = 100 * jiwer.wer(list(ref.values()), [hyp.get(u, "") for u in ref])
    assert result["wer"] == pytest.approx(wer, abs=1e-4)
    assert (result["system"], result["set"], result["hours"]) == ("tri3", "test", 0.7)
    errors = result["sub"] + result["del"] + result["ins"]
    assert out.strip() == (
        f"%WER {result['wer']:.2f} [ {errors} / {result['words']}, {result['ins']} ins, "
        f"{result['del']} del, {result['sub']} sub ] exp/tri3/decode_test"
    )
    assert "1 reference utterance(s) have no hypothesis" in err
    for name in ("per_utt.txt", "per_spk.txt", "confusions.txt"):
        assert (tmp_path / "exp/tri3/decode_test" / name).stat().st_size > 0


def test_score_options_and_errors(workdir, capsys):
    tmp_path, ref = workdir
    _write_text(tmp_path / "hyps" / "text", {**ref, "bogus-utt": "A"})
    code = main(
        ["score", "--ref", "data/test/text", "--hyp", "hyps/text", "--system", "x", "--set", "y"]
    )
    assert code == 1
    assert "bogus-utt" in capsys.readouterr().err
    _write_text(tmp_path / "hyps" / "text", ref)
    assert (
        main(
            [
                "score",
                "--ref",
                "data/test/text",
                "--hyp",
                "hyps/text",
                "--system",
                "x",
                "--set",
                "y",
                "--out",
                "scored",
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "scored" / "result.json").read_text())
    assert (result["system"], result["set"], result["wer"]) == ("x", "y", 0.0)
    assert main(["score", "--ref", "data/test/missing", "--hyp", "hyps/text"]) == 1
    assert "data/test/missing" in capsys.readouterr().err


@pytest.fixture()
def scored_tree(workdir):
    """Two corpora sizes (hours 1 and 10) x three systems, scored through the CLI."""
    tmp_path, ref = workdir
    for root, hours, k0 in (("exp_1h", 1, 3), ("exp_10h", 10, 6)):
        for i, system in enumerate(("e2e", "tri3", "mono")):
            decode = tmp_path / root / "exp" / system / "decode_test"
            _write_text(decode / "text", _drop_every(ref, k0 + 2 * i, i))
            assert (
                main(
                    [
                        "score",
                        "--ref",
                        "data/test/text",
                        "--hyp",
                        str(decode / "text"),
                        "--hours",
                        str(hours),
                        "--bootstrap",
                        "200",
                    ]
                )
                == 0
            )
    return tmp_path


def test_compare_markdown(scored_tree, capsys):
    capsys.readouterr()
    assert main(["compare", "exp_1h", "exp_10h"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| system | test %WER [95% CI] |"
    labels = [line.split("|")[1].strip() for line in lines[2:]]
    assert labels == [
        "mono (1 h)",
        "mono (10 h)",
        "tri3 (1 h)",
        "tri3 (10 h)",
        "e2e (1 h)",
        "e2e (10 h)",
    ]


def test_compare_csv_json_and_plot(scored_tree, capsys):
    capsys.readouterr()
    assert main(["compare", "exp_1h", "exp_10h", "--format", "csv", "--output", "t/r.csv"]) == 0
    assert capsys.readouterr().out == ""
    rows = list(csv.DictReader(io.StringIO((scored_tree / "t" / "r.csv").read_text())))
    assert len(rows) == 6 and {r["hours"] for r in rows} == {"1.0", "10.0"}
    assert main(["compare", ".", "--format", "json", "--plot", "plots/wer.png"]) == 0
    out, err = capsys.readouterr()
    objs = json.loads(out)
    assert [o["system"] for o in objs] == ["mono", "mono", "tri3", "tri3", "e2e", "e2e"]
    on_disk = json.loads((scored_tree / "exp_1h/exp/tri3/decode_test/result.json").read_text())
    tri3_1h = next(o for o in objs if o["system"] == "tri3" and o["hours"] == 1.0)
    assert tri3_1h["wer"] == on_disk["wer"] and tri3_1h["words"] == on_disk["words"]
    assert (scored_tree / "plots" / "wer.png").read_bytes()[:4] == b"\x89PNG"
    assert "wrote plots/wer.png" in err


def test_compare_without_results(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty")]) == 1
    assert "no result.json found under" in capsys.readouterr().err


def test_compare_plot_without_hours_warns(workdir, capsys):
    tmp_path, ref = workdir
    _write_text(tmp_path / "exp" / "mono" / "decode_test" / "text", ref)
    assert main(["score", "--ref", "data/test/text", "--hyp", "exp/mono/decode_test/text"]) == 0
    assert main(["compare", "exp", "--plot", "p.png"]) == 0
    assert "no result records training hours" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()
