from __future__ import annotations

import json

import jiwer
import pytest

from asr.scoring.results import (
    load_result,
    names_from_decode_dir,
    score_files,
    score_texts,
    summary_line,
    write_report,
)


def _write_text(path, texts):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u} {t}\n" for u, t in texts.items()))


@pytest.fixture()
def decode_setup(tmp_path, an4_ref, an4_hyp, an4_utt2spk):
    data = tmp_path / "data" / "test"
    _write_text(data / "text", an4_ref)
    (data / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in an4_utt2spk.items()))
    decode = tmp_path / "exp" / "tri3" / "decode_test"
    hyp = dict(list(an4_hyp.items())[:-2])  # two utterances without output
    _write_text(decode / "text", hyp)
    return data, decode, hyp


def test_names_from_decode_dir(tmp_path):
    assert names_from_decode_dir(tmp_path / "exp" / "e2e_lm" / "decode_dev-clean") == (
        "e2e_lm",
        "dev-clean",
    )
    assert names_from_decode_dir(tmp_path / "somewhere") == (None, None)


def test_score_files_result_record(decode_setup, an4_ref):
    data, decode, hyp = decode_setup
    report = score_files(data / "text", decode / "text", hours=0.7)
    r = report.result
    assert (r["system"], r["set"], r["hours"]) == ("tri3", "test", 0.7)
    refs = list(an4_ref.values())
    hyps = [hyp.get(u, "") for u in an4_ref]
    assert r["wer"] == pytest.approx(100 * jiwer.wer(refs, hyps), abs=1e-4)
    assert r["cer"] == pytest.approx(100 * jiwer.cer(refs, hyps), abs=1e-4)
    assert r["words"] == sum(len(t.split()) for t in refs)
    assert r["sentences"] == len(an4_ref)
    assert r["wer_ci95"][0] < r["wer"] < r["wer_ci95"][1]
    assert r["extra"]["missing_hyps"] == 2
    assert r["extra"]["missing_ids"] == list(an4_ref)[-2:]
    assert report.per_spk is not None  # utt2spk found beside the reference


def test_write_report_files(decode_setup):
    data, decode, _ = decode_setup
    report = score_files(data / "text", decode / "text")
    paths = write_report(decode, report)
    assert sorted(p.name for p in paths) == [
        "confusions.txt",
        "per_spk.txt",
        "per_utt.txt",
        "result.json",
    ]
    on_disk = load_result(decode / "result.json")
    assert on_disk == json.loads(json.dumps(report.result))
    assert on_disk["hours"] is None
    expected_keys = {
        "system",
        "set",
        "wer",
        "cer",
        "words",
        "sub",
        "del",
        "ins",
        "sentences",
        "sentence_errors",
        "wer_ci95",
        "hours",
        "extra",
    }
    assert set(on_disk) == expected_keys
    assert not [p for p in decode.iterdir() if p.name.endswith(".tmp")]


def test_no_utt2spk_means_no_per_speaker(tmp_path):
    _write_text(tmp_path / "ref" / "text", {"u1": "a b"})
    _write_text(tmp_path / "exp" / "mono" / "decode_dev" / "text", {"u1": "a"})
    report = score_files(
        tmp_path / "ref" / "text", tmp_path / "exp" / "mono" / "decode_dev" / "text"
    )
    assert report.per_spk is None
    assert (report.result["system"], report.result["set"]) == ("mono", "dev")
    assert "per_spk.txt" not in [p.name for p in write_report(tmp_path / "out", report)]


def test_without_bootstrap():
    report = score_texts({"u": "a b"}, {"u": "a"}, system="s", set_name="t", num_resamples=0)
    assert report.result["wer_ci95"] is None and report.result["wer"] == 50.0


def test_empty_reference_is_an_error():
    with pytest.raises(ValueError, match="no words"):
        score_texts({"u": ""}, {"u": "a"}, system="s", set_name="t")


def test_summary_line():
    result = {"wer": 10.6080, "words": 773, "sub": 52, "del": 20, "ins": 10}
    assert summary_line(result, "exp/x/decode_test") == (
        "%WER 10.61 [ 82 / 773, 10 ins, 20 del, 52 sub ] exp/x/decode_test"
    )


def test_load_result_checks_keys(tmp_path):
    (tmp_path / "result.json").write_text('{"system": "a"}')
    with pytest.raises(ValueError, match="missing key"):
        load_result(tmp_path / "result.json")
    (tmp_path / "result.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_result(tmp_path / "result.json")
