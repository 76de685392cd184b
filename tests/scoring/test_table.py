from __future__ import annotations

import csv
import io
import json

import pytest

from asr.scoring.table import (
    find_results,
    format_csv,
    format_json,
    format_markdown,
    plot_wer_vs_hours,
    sort_results,
)


def _result(system, set_name, wer, hours=None, words=100):
    return {
        "system": system,
        "set": set_name,
        "wer": wer,
        "cer": wer / 2,
        "words": words,
        "sub": 1,
        "del": 1,
        "ins": 1,
        "sentences": 10,
        "sentence_errors": 3,
        "wer_ci95": [wer - 1, wer + 1],
        "hours": hours,
        "extra": {},
    }


@pytest.fixture()
def exp_tree(tmp_path):
    results = [
        _result("e2e", "test", 30.0),
        _result("mono", "test", 20.0),
        _result("zz_custom", "test", 50.0),
        _result("tri3", "dev", 9.0),
        _result("tri3", "test", 10.0),
        _result("hybrid", "test", 8.0),
    ]
    for r in results:
        d = tmp_path / "exp" / r["system"] / f"decode_{r['set']}"
        d.mkdir(parents=True)
        (d / "result.json").write_text(json.dumps(r))
    return tmp_path / "exp"


def test_find_results_recursive(exp_tree):
    found = find_results([exp_tree])
    assert len(found) == 6
    assert all(r["path"].endswith("result.json") for r in found)
    assert len(find_results([exp_tree, exp_tree / "tri3"])) == 6  # no duplicates


def test_find_results_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        find_results([tmp_path / "nope"])


def test_sort_order(exp_tree):
    rows = sort_results(find_results([exp_tree]))
    assert [(r["set"], r["system"]) for r in rows] == [
        ("dev", "tri3"),
        ("test", "mono"),
        ("test", "tri3"),
        ("test", "hybrid"),
        ("test", "e2e"),
        ("test", "zz_custom"),
    ]


def test_markdown_systems_rows_sets_columns(exp_tree):
    lines = format_markdown(find_results([exp_tree])).splitlines()
    assert lines[0] == "| system | dev %WER [95% CI] | test %WER [95% CI] |"
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "mono",
        "tri3",
        "hybrid",
        "e2e",
        "zz_custom",
    ]
    assert lines[3] == "| tri3 | 9.00 [8.00, 10.00] | 10.00 [9.00, 11.00] |"
    assert lines[2] == "| mono | - | 20.00 [19.00, 21.00] |"


def test_markdown_separates_hours_and_clashes(tmp_path):
    rows = [_result("tri3", "test", 30.0, hours=10), _result("tri3", "test", 20.0, hours=100)]
    rows[0]["path"], rows[1]["path"] = (
        "a/exp/tri3/decode_test/result.json",
        "b/exp/tri3/decode_test/result.json",
    )
    text = format_markdown(rows)
    assert "| tri3 (10 h) | 30.00" in text and "| tri3 (100 h) | 20.00" in text
    rows[1]["hours"] = 10
    text = format_markdown(rows)
    assert "| tri3 (10 h) [a/exp] | 30.00" in text and "| tri3 (10 h) [b/exp] | 20.00" in text


def test_csv_and_json(exp_tree):
    results = find_results([exp_tree])
    table = list(csv.DictReader(io.StringIO(format_csv(results))))
    assert len(table) == 6
    assert (
        table[0]["system"] == "tri3" and table[0]["set"] == "dev" and float(table[0]["wer"]) == 9.0
    )
    assert table[0]["hours"] == ""
    objs = json.loads(format_json(results))
    assert [o["system"] for o in objs] == [row["system"] for row in table]
    assert {"system", "set", "wer", "words", "hours"} <= set(objs[0])
    assert objs[0]["hours"] is None and objs[0]["wer_ci95_low"] == 8.0


def test_plot(tmp_path):
    results = [
        _result(s, "test", w, hours=h)
        for s, pts in {
            "tri3": [(1, 30.0), (10, 15.0), (100, 10.0)],
            "e2e": [(1, 80.0), (10, 30.0), (100, 8.0)],
        }.items()
        for h, w in pts
    ]
    results.append(_result("mono", "test", 40.0))  # no hours: not drawn
    out = tmp_path / "plots" / "wer.png"
    assert plot_wer_vs_hours(results, out) == 6
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_hours_writes_nothing(tmp_path):
    assert plot_wer_vs_hours([_result("mono", "test", 40.0)], tmp_path / "x.png") == 0
    assert not (tmp_path / "x.png").exists()
