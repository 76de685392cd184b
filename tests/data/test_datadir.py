from pathlib import Path

import pytest

from asr.data import DataDir, DataDirError, Segment, combine


def make(tmp_path: Path, n_spk=3, n_utt=4) -> DataDir:
    data = DataDir()
    for s in range(n_spk):
        for u in range(n_utt):
            utt = f"spk{s}-utt{u}"
            audio = tmp_path / f"{utt}.wav"
            audio.write_bytes(b"x")
            data.wav_scp[utt] = str(audio)
            data.text[utt] = f"WORD{u} WORD{s}"
            data.utt2spk[utt] = f"spk{s}"
            data.utt2dur[utt] = 1.0 + u
    return data


def test_round_trip(tmp_path):
    data = make(tmp_path)
    data.save(tmp_path / "d")
    back = DataDir.load(tmp_path / "d")
    assert back == data
    assert (tmp_path / "d" / "spk2utt").read_text().splitlines()[0] == \
        "spk0 spk0-utt0 spk0-utt1 spk0-utt2 spk0-utt3"
    back.validate(check_audio=True)


def test_round_trip_kaldi_dir_with_segments(tmp_path):
    # A data dir as Kaldi writes it: segments, pipe wav entries, empty transcript.
    d = tmp_path / "kaldi"
    d.mkdir()
    (d / "wav.scp").write_text("rec1 flac -c -d -s /x/rec1.flac |\nrec2 /x/rec 2.wav\n")
    (d / "segments").write_text("a-1 rec1 0.00 1.50\na-2 rec1 1.50 3.00\nb-1 rec2 0.00 2.00\n")
    (d / "text").write_text("a-1 HELLO WORLD\na-2\nb-1 BYE\n")
    (d / "utt2spk").write_text("a-1 a\na-2 a\nb-1 b\n")
    (d / "spk2utt").write_text("a a-1 a-2\nb b-1\n")
    data = DataDir.load(d)
    assert data.segments["a-2"] == Segment("rec1", 1.5, 3.0)
    assert data.wav_scp["rec2"] == "/x/rec 2.wav"  # paths with spaces survive
    assert data.text["a-2"] == ""
    assert data.wav_entry("b-1") == ("/x/rec 2.wav", 0.0, 2.0)
    data.validate()
    data.save(tmp_path / "out")
    for name in ("wav.scp", "segments", "text", "utt2spk", "spk2utt"):
        assert (tmp_path / "out" / name).read_text() == (d / name).read_text(), name


@pytest.mark.parametrize("content,message", [
    ("b x\na y\n", "not sorted"),
    ("a x\na y\n", "duplicate id"),
])
def test_read_rejects_unsorted_and_duplicates(tmp_path, content, message):
    (tmp_path / "utt2spk").write_text(content)
    with pytest.raises(DataDirError, match=message):
        DataDir.load(tmp_path)


def test_read_rejects_non_utf8(tmp_path):
    (tmp_path / "utt2spk").write_text("a s\n")
    (tmp_path / "text").write_bytes(b"a caf\xe9\n")
    with pytest.raises(DataDirError, match="not valid UTF-8"):
        DataDir.load(tmp_path)


def test_validate_missing_text_and_audio(tmp_path):
    data = make(tmp_path)
    del data.text["spk1-utt2"]
    Path(data.wav_scp["spk2-utt0"]).unlink()
    with pytest.raises(DataDirError) as err:
        data.validate(check_audio=True)
    assert "1 utterance(s) missing from text: spk1-utt2" in str(err.value)
    assert "audio file(s) not found" in str(err.value) and "spk2-utt0.wav" in str(err.value)


def test_validate_extra_ids_and_speaker_order(tmp_path):
    data = make(tmp_path)
    data.wav_scp["zzz"] = "/nowhere.wav"
    with pytest.raises(DataDirError, match="in wav.scp not in utt2spk: zzz"):
        data.validate()
    data = make(tmp_path)
    data.utt2spk["spk0-utt3"] = "spk1"  # speaker spk1 now interleaved with spk0
    data.utt2spk["spk1-utt0"] = "spk0"
    with pytest.raises(DataDirError, match="not contiguous"):
        data.validate()


def test_spk2utt_mismatch_is_an_error(tmp_path):
    make(tmp_path).save(tmp_path / "d")
    (tmp_path / "d" / "spk2utt").write_text("spk0 spk0-utt0\n")
    with pytest.raises(DataDirError, match="spk2utt does not match"):
        DataDir.load(tmp_path / "d")


def test_subsets(tmp_path):
    data = make(tmp_path, n_spk=4, n_utt=5)
    assert data.first(3).utterances == data.utterances[:3]
    assert data.last(2).utterances == data.utterances[-2:]
    assert data.random(5, seed=1).utterances == data.random(5, seed=1).utterances
    assert data.by_speakers(["spk2"]).speakers == ["spk2"]
    sub = data.by_hours(10 / 3600, seed=0)  # 10 s: one utterance per speaker, 1..5 s each
    assert sum(sub.utt2dur.values()) >= 10
    assert len(sub.speakers) == min(4, len(sub))
    with pytest.raises(DataDirError, match="unknown utterance"):
        data.subset(["nope"])


def test_split_by_speaker_and_utt(tmp_path):
    data = make(tmp_path, n_spk=5, n_utt=3)
    parts = data.split(3)
    assert [u for p in parts for u in p.utterances] == data.utterances
    for p in parts:
        assert len(p) > 0
        for other in parts:
            if other is not p:
                assert not set(p.speakers) & set(other.speakers)
    parts = data.split(15, per_utt=True)
    assert all(len(p) == 1 for p in parts)
    with pytest.raises(DataDirError, match="cannot make 6 jobs from 5 speakers"):
        data.split(6)


def test_combine(tmp_path):
    data = make(tmp_path, n_spk=4)
    a, b = data.by_speakers(["spk0", "spk2"]), data.by_speakers(["spk1", "spk3"])
    assert combine([b, a]) == data
    with pytest.raises(DataDirError, match="duplicate"):
        combine([a, a])
