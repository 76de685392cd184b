"""Sweep tables (WER per system per size), crossovers and `asr sweep-report`."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import pytest

from asr.bin.main import main
from asr.scoring.sweep import (build_sweep, end_to_end_crossovers, find_crossovers,
                               format_markdown, plot_sweep, to_json)


def _results(curves: dict[str, dict[float, float]], set_name: str = "test") -> list[dict]:
    return [{"system": s, "set": set_name, "hours": h, "wer": w, "words": 100,
             "path": f"exp_{h}h/{s}/decode_{set_name}/result.json"}
            for s, curve in curves.items() for h, w in curve.items()]


def test_table_rows_are_sizes_columns_are_systems_in_toolkit_order():
    results = _results({"e2e": {1.0: 50.0, 10.0: 20.0}, "mono": {1.0: 20.0, 10.0: 16.0,
                                                                  100.0: 14.0}})
    results += _results({"mono": {1.0: 99.0}}, set_name="dev")  # another set: ignored
    results.append({"system": "mono", "set": "test", "hours": None, "wer": 1.0, "words": 1})
    table = build_sweep(results, "test")
    assert table.systems == ["mono", "e2e"]
    assert table.hours == [1.0, 10.0, 100.0]
    assert table.wer["mono"] == {1.0: 20.0, 10.0: 16.0, 100.0: 14.0}
    text = format_markdown(table)
    assert "| hours | mono | e2e |" in text
    assert "| 100 | 14.00 | - |" in text
    rows = to_json(table)["rows"]
    assert rows[2] == {"hours": 100.0, "wer": {"mono": 14.0, "e2e": None},
                       "paths": {"mono": "exp_100.0h/mono/decode_test/result.json"},
                       "trained_hours": {}, "grid_edges": {}}


def test_a_size_marker_puts_a_subset_trained_system_in_its_sizes_row(tmp_path):
    """recipes/sweep.sh writes sweep_size.json in each hour size's dir; mono trained on
    a 2 h subset inside the 3 h and 10 h pipelines then fills those rows (no clash of
    two monos at 2 h) and is listed with the hours it trained on."""
    results = []
    for size, mono_hours in ((1, 1.002), (3, 2.001), (10, 1.998)):
        (tmp_path / f"train_{size}h").mkdir()
        (tmp_path / f"train_{size}h" / "sweep_size.json").write_text(f'{{"hours": {size}}}')
        for system, hours in (("mono", mono_hours), ("tri1", size * 1.003)):
            results.append({"system": system, "set": "test", "hours": hours, "wer": 10.0 / size,
                            "words": 100, "path": str(tmp_path / f"train_{size}h" / "exp"
                                                      / system / "decode_test" / "result.json")})
    table = build_sweep(results, "test")
    assert table.hours == [1.0, 3.0, 10.0]
    assert table.wer["mono"] == {1.0: 10.0, 3.0: 10.0 / 3, 10.0: 1.0}
    assert table.trained_hours == {"mono": {3.0: 2.001, 10.0: 1.998}}
    text = format_markdown(table)
    assert "mono at 3 h trained on 2.001 h of it." in text
    assert to_json(table)["rows"][1]["trained_hours"] == {"mono": 2.001}
    (tmp_path / "train_3h" / "sweep_size.json").write_text('{"hours": "three"}')
    with pytest.raises(ValueError, match="positive number"):
        build_sweep(results, "test")


def test_a_dev_choice_on_its_grids_edge_is_listed_under_the_table(tmp_path):
    results = []
    for size in (1, 3):
        for system in ("mono", "tri1"):
            decode = tmp_path / f"{size}h" / system / "decode_test"
            results.append({"system": system, "set": "test", "hours": size, "wer": 10.0 / size,
                            "words": 100, "path": str(decode / "result.json")})
    edge_dir = tmp_path / "1h" / "tri1" / "decode_dev"
    edge_dir.mkdir(parents=True)
    (edge_dir / "best_setting.json").write_text('{"grid_edges": ["lm_weight=max"]}')
    inside_dir = tmp_path / "3h" / "tri1" / "decode_dev"
    inside_dir.mkdir(parents=True)
    (inside_dir / "best_setting.json").write_text('{"grid_edges": []}')
    older = tmp_path / "1h" / "mono" / "decode_dev"  # written before grid_edges existed
    older.mkdir(parents=True)
    (older / "best_setting.json").write_text(json.dumps(
        {"lm_weight": 10.0, "word_insertion_penalty": 1.0,
         "sweep": {f"lmwt{w}_wip{p}": 0.1 for w in (9, 10, 11) for p in (0, 0.5, 1)}}))
    table = build_sweep(results, "test")
    assert table.grid_edges == {"mono": {1.0: ["word_insertion_penalty=max"]},
                                "tri1": {1.0: ["lm_weight=max"]}}
    assert ("tri1 at 1 h: the dev-chosen setting is on the edge of its grid (lm_weight=max)"
            in format_markdown(table))
    assert [row["grid_edges"] for row in to_json(table)["rows"]] == [
        {"mono": ["word_insertion_penalty=max"], "tri1": ["lm_weight=max"]}, {}]


def test_crossover_interpolated_in_log_hours():
    table = build_sweep(_results({"mono": {1.0: 20.0, 10.0: 16.0, 100.0: 14.0},
                                  "e2e": {1.0: 50.0, 10.0: 20.0, 100.0: 8.0}}))
    [c] = find_crossovers(table)
    # mono - e2e: -4 at 10 h, +6 at 100 h -> 40% of the way in log(hours).
    assert c.hours == pytest.approx(10 ** 1.4, rel=1e-4)
    assert c.wer == pytest.approx(15.2)
    assert (c.better_below, c.better_above) == ("mono", "e2e")
    assert c.between == (10.0, 100.0)
    assert "mono is better below, e2e above ~25.12 h" in format_markdown(table)
    assert to_json(table)["crossovers"][0]["hours"] == pytest.approx(25.1189, abs=1e-4)


def test_tie_at_a_size_is_a_crossing_touching_is_not():
    crossing = build_sweep(_results({"mono": {1.0: 10.0, 10.0: 10.0, 100.0: 10.0},
                                     "tri1": {1.0: 12.0, 10.0: 10.0, 100.0: 8.0}}))
    [c] = find_crossovers(crossing)
    assert (c.hours, c.wer, c.better_below, c.better_above) == (10.0, 10.0, "mono", "tri1")
    touching = build_sweep(_results({"mono": {1.0: 10.0, 10.0: 10.0, 100.0: 10.0},
                                     "tri1": {1.0: 12.0, 10.0: 10.0, 100.0: 12.0}}))
    assert find_crossovers(touching) == []
    assert "No crossover" in format_markdown(touching)


def test_only_shared_sizes_count_and_several_crossings_are_found():
    table = build_sweep(_results({"mono": {1.0: 10.0, 3.0: 10.0, 10.0: 10.0, 30.0: 10.0},
                                  "e2e": {1.0: 20.0, 3.0: 5.0, 10.0: 20.0, 30.0: 5.0},
                                  "hybrid": {2.0: 1.0}}))
    crossings = find_crossovers(table)
    assert [(c.system_a, c.system_b) for c in crossings] == [("mono", "e2e")] * 3
    assert [c.between for c in crossings] == [(1.0, 3.0), (3.0, 10.0), (10.0, 30.0)]
    assert all(a.hours < b.hours for a, b in pairwise(crossings))
    assert crossings[0].hours == pytest.approx(math.exp(math.log(3.0) * 2 / 3), abs=1e-4)


def test_the_plot_marks_the_end_to_end_crossovers_by_default():
    table = build_sweep(_results({"mono": {1.0: 10.0, 3.0: 8.0}, "tri1": {1.0: 12.0, 3.0: 6.0},
                                  "e2e": {1.0: 30.0, 3.0: 7.0}, "e2e_lm": {1.0: 25.0, 3.0: 5.0}}))
    crossings = find_crossovers(table)
    pairs = {(c.system_a, c.system_b) for c in crossings}
    assert pairs == {("mono", "tri1"), ("mono", "e2e"), ("mono", "e2e_lm"), ("tri1", "e2e_lm")}
    # e2e against e2e_lm and mono against tri1 are not the pipeline/end-to-end question
    assert {(c.system_a, c.system_b) for c in end_to_end_crossovers(crossings)} == \
        {("mono", "e2e"), ("mono", "e2e_lm"), ("tri1", "e2e_lm")}


def test_duplicate_cell_and_no_hours_are_errors():
    twice = _results({"mono": {1.0: 10.0}}) + _results({"mono": {1.0: 12.0}})
    twice[1]["path"] = "other/mono/decode_test/result.json"
    with pytest.raises(ValueError, match="two results for mono at 1 h.*other/mono"):
        build_sweep(twice)
    with pytest.raises(ValueError, match="no result for set 'test' records its training hours"):
        build_sweep([{"system": "mono", "set": "test", "hours": None, "wer": 1.0, "words": 1}])


def test_plot_is_written(tmp_path):
    table = build_sweep(_results({"mono": {0.25: 20.0, 1.0: 16.0}, "e2e": {0.25: 40.0, 1.0: 10.0}}))
    path = plot_sweep(table, tmp_path / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def _write(path, texts):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u} {t}\n" for u, t in texts.items()))


def test_cli_from_scored_decode_dirs(tmp_path, an4_ref, capsys):
    """`asr score --hours` for two systems at two sizes, then `asr sweep-report`."""
    ref_path = tmp_path / "data" / "test" / "text"
    _write(ref_path, an4_ref)
    expected = {}
    for hours, keep in ((0.2, {"mono": 4, "e2e": 2}), (0.8, {"mono": 5, "e2e": 9})):
        for system, k in keep.items():
            # drop every k-th word: more dropped = higher WER
            hyp = {u: " ".join(w for j, w in enumerate(t.split()) if (j + 1) % k)
                   for u, t in an4_ref.items()}
            hyp_path = tmp_path / f"size_{hours}" / "exp" / system / "decode_test" / "text"
            _write(hyp_path, hyp)
            assert main(["score", "--ref", str(ref_path), "--hyp", str(hyp_path),
                         "--hours", str(hours), "--bootstrap", "0"]) == 0
            expected[(system, hours)] = json.loads(
                (hyp_path.parent / "result.json").read_text())["wer"]
    capsys.readouterr()
    out = tmp_path / "sweep"
    assert main(["sweep-report", str(tmp_path), "--output", str(out / "sweep.md"),
                 "--json", str(out / "sweep.json"), "--plot", str(out / "sweep.png")]) == 0
    table = json.loads((out / "sweep.json").read_text())
    assert table["systems"] == ["mono", "e2e"] and table["hours"] == [0.2, 0.8]
    for row in table["rows"]:
        for system in ("mono", "e2e"):
            assert row["wer"][system] == expected[(system, row["hours"])]
    # e2e (drops every 2nd word) is worse at 0.2 h, better (every 9th) at 0.8 h.
    [cross] = table["crossovers"]
    assert (cross["better_below"], cross["better_above"]) == ("mono", "e2e")
    assert 0.2 < cross["hours"] < 0.8
    assert "Crossover: mono is better below, e2e above" in (out / "sweep.md").read_text()
    assert (out / "sweep.png").stat().st_size > 0


def test_exported_results_rebuild_the_same_table(tmp_path, an4_ref, capsys):
    """--export keeps result.json, best_setting.json and sweep_size.json under the
    root's name; `asr sweep-report` on the copy alone gives the same table."""
    runs = tmp_path / "exp_sweep"
    ref_path = runs / "data" / "test" / "text"
    _write(ref_path, an4_ref)
    for hours in (1, 3):
        (runs / f"train_{hours}h").mkdir(parents=True)
        (runs / f"train_{hours}h" / "sweep_size.json").write_text(json.dumps({"hours": hours}))
        for system, k in (("tri1", 3 + hours), ("e2e", 1 + hours)):
            hyp = {u: " ".join(w for j, w in enumerate(t.split()) if (j + 1) % k)
                   for u, t in an4_ref.items()}
            hyp_path = runs / f"train_{hours}h" / "exp" / system / "decode_test" / "text"
            _write(hyp_path, hyp)
            # tri1 trained on 80% of its size, as mono on its subset
            assert main(["score", "--ref", str(ref_path), "--hyp", str(hyp_path),
                         "--hours", str(hours * 0.8), "--bootstrap", "0"]) == 0
    choice = {"lm_weight": 7.0, "word_insertion_penalty": 0.0, "grid_edges": ["lm_weight min"]}
    (runs / "train_3h" / "exp" / "tri1" / "decode_test" / "best_setting.json").write_text(
        json.dumps(choice))
    kept = tmp_path / "kept"
    assert main(["sweep-report", str(runs), "--json", str(tmp_path / "from_runs.json"),
                 "--export", str(kept)]) == 0
    copied = sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file())
    assert copied == sorted(
        [f"exp_sweep/train_{h}h/sweep_size.json" for h in (1, 3)]
        + [f"exp_sweep/train_{h}h/exp/{s}/decode_test/result.json" for h in (1, 3)
           for s in ("tri1", "e2e")]
        + ["exp_sweep/train_3h/exp/tri1/decode_test/best_setting.json"])
    assert main(["sweep-report", str(kept), "--json", str(tmp_path / "from_kept.json")]) == 0
    capsys.readouterr()
    from_runs, from_kept = (json.loads((tmp_path / f).read_text())
                            for f in ("from_runs.json", "from_kept.json"))
    for table in (from_runs, from_kept):
        for row in table["rows"]:
            del row["paths"]
    assert from_kept == from_runs
    assert from_kept["rows"][1]["trained_hours"] == {"tri1": 2.4, "e2e": 2.4}
    assert from_kept["rows"][1]["grid_edges"] == {"tri1": ["lm_weight min"]}


def test_cli_without_results_is_one_line_error(tmp_path, capsys):
    assert main(["sweep-report", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("asr sweep-report: error: no result.json found under") and "\n" not in err
