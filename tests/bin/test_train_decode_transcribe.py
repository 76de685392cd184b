"""The end-to-end chain through the CLI on real AN4 audio: train a tiny model until it
memorises four utterances, average, decode, score, transcribe."""

import json

import pytest

from asr.bin.main import main
from asr.bin.tune import candidate_edges
from asr.data import DataDir

TINY = [
    "model.d_model=48", "model.n_heads=2", "model.ff_dim=96", "model.num_blocks=2",
    "model.subsampling_channels=16", "model.decoder_layers=1", "model.decoder_ff_dim=96",
    "model.dropout=0.0", "tokenizer.kind=char",
    "specaugment.num_freq_masks=0", "specaugment.num_time_masks=0",
    "trainer.lr=0.003", "trainer.warmup_steps=10", "trainer.epochs=70",
    "trainer.log_every_steps=1000", "trainer.keep_last=2", "data.max_duration=1000",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, an4_data):
    root = tmp_path_factory.mktemp("e2e")
    train = DataDir.load(an4_data["train"])
    short = sorted(train.utterances, key=lambda u: train.utt2dur[u])[:4]
    train.subset(short).save(root / "train")
    args = ["train", "--config", "conf/e2e/an4.yaml", "--train", str(root / "train"),
            "--valid", str(root / "train"), "--exp-dir", str(root / "exp")]
    for item in TINY:
        args += ["-o", item]
    assert main(args) == 0
    return root


def test_resume_refuses_a_different_model(trained, capsys):
    args = ["train", "--config", "conf/e2e/an4.yaml", "--train", str(trained / "train"),
            "--exp-dir", str(trained / "exp")]
    for item in TINY + ["model.num_blocks=3"]:
        args += ["-o", item]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "config.yaml: model config differs" in err and "num_blocks (checkpoint: 2, current: 3)" in err


def test_average_decode_score(trained, capsys):
    exp = trained / "exp"
    assert main(["average", "--exp-dir", str(exp), "--num", "2", "--by", "last"]) == 0
    assert (exp / "final.pt").is_file()
    out = exp / "decode_train"
    assert main(["decode", "--model", str(exp), "--data", str(trained / "train"),
                 "--out", str(out), "-o", "method=attention_rescoring", "-o", "beam_size=4"]) == 0
    assert main(["score", "--ref", str(trained / "train" / "text"), "--hyp", str(out / "text")]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["system"] == "exp" and result["set"] == "train"
    assert result["wer"] <= 25.0, capsys.readouterr().out
    # two forked one-thread decoding processes: the same hypotheses
    assert main(["decode", "--model", str(exp), "--data", str(trained / "train"),
                 "--out", str(exp / "decode_nj2"), "-o", "method=attention_rescoring",
                 "-o", "beam_size=4", "--nj", "2"]) == 0
    assert (exp / "decode_nj2" / "text").read_text() == (out / "text").read_text()


def test_tune_picks_on_dev_and_writes_the_winner_as_decode_would(trained, capsys):
    # tune decodes with --nj 2, decode with one process: the same text
    exp, data = trained / "exp", str(trained / "train")
    assert main(["average", "--exp-dir", str(exp), "--num", "2", "--by", "last"]) == 0
    assert main(["tune", "--model", str(exp), "--data", data, "--out", str(exp / "tune"),
                 "--best-out", str(exp / "tuned_decode"), "-c", "method=ctc_greedy",
                 "-c", "method=attention,beam_size=3", "--nj", "2"]) == 0
    summary = json.loads((exp / "tune" / "summary.json").read_text())
    wers = {c["candidate"]: c["wer"] for c in summary["candidates"]}
    assert summary["best"] == min(wers, key=wers.get)
    assert summary["edges"] == []  # no numeric key is set in both candidates
    assert main(["decode", "--model", str(exp), "--data", data, "--out", str(exp / "again"),
                 "--decode-config", str(exp / "tune" / "best.yaml")]) == 0
    for name in ("text", "decode.yaml"):
        assert (exp / "tuned_decode" / name).read_text() == (exp / "again" / name).read_text()


def test_transcribe_returns_the_transcript(trained, capsys):
    data = DataDir.load(trained / "train")
    files = [data.wav_scp[u] for u in data.utterances]
    capsys.readouterr()
    assert main(["transcribe", "--model", str(trained / "exp"), "--format", "json",
                 "-o", "method=attention_rescoring", "-o", "beam_size=4", *files]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in results] == files
    correct = sum(r["text"] == data.text[u] for r, u in zip(results, data.utterances))
    assert correct >= 3, [(r["text"], data.text[u]) for r, u in zip(results, data.utterances)]
    words = results[0]["words"]
    assert [w["word"] for w in words] == results[0]["text"].split()
    assert all(0 <= w["start"] < w["end"] <= results[0]["duration"] + 0.05 for w in words)


def test_transcribe_srt_and_bad_input(trained, tmp_path, capsys):
    data = DataDir.load(trained / "train")
    assert main(["transcribe", "--model", str(trained / "exp"), "--format", "srt",
                 "-o", "method=ctc_greedy", data.wav_scp[data.utterances[0]]]) == 0
    srt = capsys.readouterr().out
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert main(["transcribe", "--model", str(trained / "exp"), str(empty)]) == 1
    assert "empty.wav: empty file" in capsys.readouterr().err
    assert main(["transcribe", "--model", str(tmp_path), str(empty)]) == 1
    assert "not an end-to-end experiment dir" in capsys.readouterr().err


def test_tune_names_a_winner_at_the_end_of_a_numeric_range():
    weights = ["method=ctc_prefix_beam,lm_weight=0.3", "method=ctc_prefix_beam,lm_weight=0.5",
               "method=ctc_prefix_beam,lm_weight=0.8"]
    assert candidate_edges(weights, 0) == ["lm_weight=min"]
    assert candidate_edges(weights, 1) == []
    assert candidate_edges(weights, 2) == ["lm_weight=max"]
    # keys missing from a candidate, text values and a single value tried have no edge
    assert candidate_edges(["method=attention,beam_size=4", "method=ctc_greedy"], 0) == []
    assert candidate_edges(["beam_size=4,ctc_weight=0.3", "beam_size=4,ctc_weight=0.5"], 1) == \
        ["ctc_weight=max"]
