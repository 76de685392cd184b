from asr.bin.main import main
from asr.data import DataDir


def test_prepare_validate_split_subset(tmp_path, an4_dir, capsys):
    out = tmp_path / "data"
    assert main(["prepare", "an4", "--corpus-dir", str(an4_dir), "--out-dir", str(out)]) == 0
    assert main(["data", "validate", str(out / "test")]) == 0
    assert "130 utterances, 10 speakers" in capsys.readouterr().out
    assert main(["data", "split", str(out / "test"), "4"]) == 0
    parts = [DataDir.load(out / "test" / "split4" / str(i)) for i in range(1, 5)]
    assert sum(len(p) for p in parts) == 130
    assert main(["data", "subset", str(out / "train"), str(tmp_path / "sub"), "--hours", "0.1"]) == 0
    assert 0.1 <= DataDir.load(tmp_path / "sub").num_hours < 0.11


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["data", "validate", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith("asr data: error: data dir not found") and len(err.splitlines()) == 1
    assert main(["prepare", "an4", "--corpus-dir", str(tmp_path), "--out-dir", str(tmp_path / "o")]) == 1
    assert "pass --download-dir" in capsys.readouterr().err


def test_download_path_uses_checksummed_archive(tmp_path, an4_archive):
    # The archive in shared/ stands in for CMU's server: same bytes, same checksum check.
    bad = tmp_path / "dl" / "an4_raw.bigendian.tar.gz"
    bad.parent.mkdir()
    bad.write_bytes(b"truncated download")
    assert main(["prepare", "an4", "--corpus-dir", str(tmp_path / "none"), "--download-dir",
                 str(tmp_path / "dl"), "--archive", str(an4_archive),
                 "--out-dir", str(tmp_path / "data")]) == 0
    assert len(DataDir.load(tmp_path / "data" / "test")) == 130
