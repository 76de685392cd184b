"""Feature shards, the feats.scp index, and CMVN statistics files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asr.features import functional as F
from asr.features.storage import (FeatEntry, FeatureReader, ShardWriter, accumulate_cmvn,
                                  load_cmvn, read_index, save_cmvn, write_index)

torch.set_num_threads(1)


def _matrices(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"spk{i % 2}-utt{i}": rng.standard_normal((5 + 7 * i, 13)).astype(np.float32)
            for i in range(6)}


def _write(tmp_path, mats, dtype="float32", name="raw.1.bin"):
    with ShardWriter(tmp_path / "feats" / name, dtype=dtype) as writer:
        for utt, m in mats.items():
            writer.write(utt, m)
    write_index(tmp_path / "feats.scp", writer.entries)
    return writer.entries


def test_round_trip_is_exact_and_in_order(tmp_path):
    mats = _matrices()
    entries = _write(tmp_path, mats)
    assert entries[1].offset == entries[0].nbytes == 5 * 13 * 4
    reader = FeatureReader(tmp_path / "feats.scp")
    assert reader.utts == list(mats) and len(reader) == 6 and reader.dim == 13
    for utt in reversed(list(mats)):  # random access
        np.testing.assert_array_equal(reader[utt], mats[utt])
    for (utt, feats), expected in zip(reader, mats):
        assert utt == expected
        np.testing.assert_array_equal(feats, mats[utt])
    line = (tmp_path / "feats.scp").read_text().splitlines()[1]
    assert line == f"spk1-utt1 {tmp_path / 'feats' / 'raw.1.bin'}:260:12x13:float32"
    assert (tmp_path / "feats" / "raw.1.bin").stat().st_size == sum(e.nbytes for e in entries)


def test_float16_shards_and_relative_paths(tmp_path, monkeypatch):
    mats = _matrices(1)
    monkeypatch.chdir(tmp_path)
    with ShardWriter("feats/raw.1.bin", dtype="float16") as writer:
        for utt, m in mats.items():
            writer.write(utt, torch.from_numpy(m))
    write_index("data/feats.scp", writer.entries)
    reader = FeatureReader("data/feats.scp")
    for utt, m in mats.items():
        assert reader[utt].dtype == np.float32
        np.testing.assert_allclose(reader[utt], m, rtol=1e-3, atol=1e-3)
    monkeypatch.chdir("/")
    rooted = FeatureReader(tmp_path / "data" / "feats.scp", root=tmp_path)
    np.testing.assert_array_equal(rooted["spk0-utt0"], reader["spk0-utt0"])


def test_failed_write_leaves_no_shard(tmp_path):
    shard = tmp_path / "feats" / "raw.1.bin"
    with pytest.raises(RuntimeError, match="job died"):
        with ShardWriter(shard) as writer:
            writer.write("a", np.ones((3, 4), dtype=np.float32))
            raise RuntimeError("job died")
    assert not shard.exists()
    assert list(shard.parent.iterdir()) == []  # no temporary file left either
    with pytest.raises(ValueError, match="frames, dim"):
        with ShardWriter(shard) as writer:
            writer.write("a", np.ones(3, dtype=np.float32))
    assert not shard.exists()


def test_bad_index_and_truncated_shard_are_reported(tmp_path):
    mats = _matrices()
    _write(tmp_path, mats)
    index = tmp_path / "feats.scp"
    bad = tmp_path / "bad.scp"
    bad.write_text("u1 somewhere.bin:0:10:float32\n")
    with pytest.raises(ValueError, match=r"bad.scp:1: utterance u1"):
        read_index(bad)
    first = index.read_text().splitlines()[0]
    bad.write_text(f"{first}\n{first}\n")
    with pytest.raises(ValueError, match="appears twice"):
        read_index(bad)
    with pytest.raises(FileNotFoundError):
        read_index(tmp_path / "missing.scp")
    shard = tmp_path / "feats" / "raw.1.bin"
    shard.write_bytes(shard.read_bytes()[:-10])
    reader = FeatureReader(index)
    np.testing.assert_array_equal(reader["spk0-utt0"], mats["spk0-utt0"])
    with pytest.raises(ValueError, match="spk1-utt5.*past the end"):
        reader["spk1-utt5"]
    with pytest.raises(KeyError, match="nope"):
        reader["nope"]


def test_entries_parse_from_the_right():
    entry = FeatEntry.parse("u", "C:/feats/raw.1.bin:400:3x80:float16")
    assert entry == FeatEntry("u", "C:/feats/raw.1.bin", 400, 3, 80, "float16")
    assert FeatEntry.parse("u", entry.value) == entry


def test_cmvn_per_speaker_and_global(tmp_path):
    mats = _matrices()
    _write(tmp_path, mats)
    utt2spk = {utt: utt.split("-")[0] for utt in mats}
    reader = FeatureReader(tmp_path / "feats.scp")
    per_spk = accumulate_cmvn(reader, utt2spk)
    save_cmvn(tmp_path / "cmvn_spk.npz", per_spk)
    loaded = load_cmvn(tmp_path / "cmvn_spk.npz")
    assert loaded.keys == ["spk0", "spk1"]
    spk0 = np.concatenate([m for u, m in mats.items() if u.startswith("spk0")])
    assert loaded.count[0] == spk0.shape[0]
    np.testing.assert_allclose(loaded.sum[0], spk0.astype(np.float64).sum(0), rtol=1e-12)
    normed = FeatureReader(tmp_path / "feats.scp", cmvn=loaded, utt2spk=utt2spk, norm_vars=True)
    all_spk0 = np.concatenate([normed[u] for u in mats if u.startswith("spk0")])
    np.testing.assert_allclose(all_spk0.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(all_spk0.std(0), 1.0, atol=1e-4)
    expected = F.apply_cmvn(torch.from_numpy(mats["spk1-utt1"]), loaded.get("spk1"), True)
    np.testing.assert_array_equal(normed["spk1-utt1"], expected.numpy())

    glob = accumulate_cmvn(reader)
    save_cmvn(tmp_path / "cmvn.npz", glob)
    everything = np.concatenate(list(mats.values()))
    mean_only = FeatureReader(tmp_path / "feats.scp", cmvn=load_cmvn(tmp_path / "cmvn.npz"))
    np.testing.assert_allclose(np.concatenate([m for _, m in mean_only]).mean(0), 0.0, atol=1e-5)
    assert load_cmvn(tmp_path / "cmvn.npz").count[0] == everything.shape[0]
    with pytest.raises(ValueError, match="utt2spk"):
        FeatureReader(tmp_path / "feats.scp", cmvn=loaded)
    with pytest.raises(FileNotFoundError):
        load_cmvn(tmp_path / "missing.npz")
