"""train(): a tiny end-to-end run from AN4 data dirs (real audio) and its resume."""

from __future__ import annotations

import pytest
import yaml

from asr.config import ConfigError
from asr.data.datadir import DataDir
from asr.training.checkpoint import CheckpointManager
from asr.training.experiment import ExperimentConfig, load_experiment_config, train
from asr.training.logging import read_log


def data_dir(an4_subset, path, utts):
    d = DataDir(wav_scp={u: str(an4_subset.paths[u]) for u in utts},
                text={u: an4_subset.texts[u] for u in utts},
                utt2spk={u: u.split("-")[1] for u in utts},
                utt2dur={u: an4_subset.durations[u] for u in utts})
    d.save(path)
    return path


CONFIG = {
    "model": {"name": "tiny_ctc", "hidden": 16},
    "trainer": {"epochs": 1, "lr": 0.003, "warmup_steps": 2, "log_every_steps": 1,
                "checkpoint_every_steps": 3, "progress_bar": False, "tensorboard": False,
                "device": "cpu"},
    "data": {"num_mel_bins": 40, "max_duration": 15.0, "num_buckets": 2,
             "speed_perturb": [0.9, 1.0, 1.1], "cmvn": "global"},
    "specaugment": {"freq_mask_width": 5, "time_mask_width": 10},
    "tokenizer": {"kind": "char"},
}


def test_train_from_data_dirs_then_resume(an4_subset, tmp_path):
    utts = an4_subset.utt_ids
    train_dir = data_dir(an4_subset, tmp_path / "train", utts[:12])
    valid_dir = data_dir(an4_subset, tmp_path / "dev", utts[12:])
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(CONFIG))
    exp = tmp_path / "exp"
    first = train(tmp_path / "conf.yaml", train_dir, valid_dir, exp)
    assert first["epoch"] == 1 and first["step"] > 0
    resolved = yaml.safe_load((exp / "config.yaml").read_text())
    assert resolved["model"]["input_dim"] == 40
    assert resolved["model"]["vocab_size"] > 20  # filled from the char tokenizer
    assert (exp / "tokenizer" / "tokenizer.yaml").is_file() and (exp / "cmvn.npz").is_file()
    assert CheckpointManager(exp / "checkpoints").best() is not None
    # one more epoch continues from the checkpoint rather than starting over
    second = train(tmp_path / "conf.yaml", train_dir, valid_dir, exp,
                   overrides=["trainer.epochs=2"])
    assert second["epoch"] == 2 and second["step"] > first["step"]
    steps = [r["step"] for r in read_log(exp / "log" / "train_log.jsonl", "train")]
    assert steps == list(range(1, second["step"] + 1))
    # a different model is refused, naming the key
    with pytest.raises(ValueError, match="hidden"):
        train(tmp_path / "conf.yaml", train_dir, valid_dir, exp,
              overrides=["trainer.epochs=3", "model.hidden=8"])


def test_config_errors_name_the_key(tmp_path):
    cfg = load_experiment_config(ExperimentConfig(), ["trainer.lr=0.5", "data.max_duration=30"])
    assert cfg.trainer.lr == 0.5 and cfg.data.max_duration == 30.0
    with pytest.raises(ConfigError, match="trainer"):
        load_experiment_config(ExperimentConfig(), ["trainer.nope=1"])
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_experiment_config(tmp_path / "missing.yaml")
