"""Hostile data dirs: each problem is reported with the file (and line) it is in."""

import pytest

from asr.data import DataDir, DataDirError


def write(d, **files):
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = d / name.replace("_scp", ".scp")
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return d


GOOD = dict(wav_scp="a-1 /x/a1.wav\na-2 /x/a2.wav\n", text="a-1 HI\na-2 HO\n",
            utt2spk="a-1 a\na-2 a\n")


@pytest.mark.parametrize("change,message", [
    ({"text": b"a-1 HI\na-2 H\xff\n"}, r"text: not valid UTF-8"),
    ({"text": "a-2 HO\na-1 HI\n"}, r"text:2: ids not sorted"),
    ({"utt2spk": "a-1 a\na-1 a\n"}, r"utt2spk:2: duplicate id 'a-1'"),
    ({"wav_scp": "a-1 /x/a1.wav\n"}, r"1 utterance\(s\) missing from wav.scp: a-2"),
    ({"text": "a-1 HI\n"}, r"1 utterance\(s\) missing from text: a-2"),
    ({"text": "a-1 HI\na-2 HO\na-3 HU\n"}, r"1 id\(s\) in text not in utt2spk: a-3"),
    ({"utt2dur": "a-1 1.0\na-2 long\n"}, r"utt2dur: value for a-2 is not a number"),
    ({"segments": "a-1 r 0.0\n"}, r"segments: line for a-1"),
])
def test_problems_are_named(tmp_path, change, message):
    d = write(tmp_path / "d", **{**GOOD, **change})
    with pytest.raises(DataDirError, match=message):
        DataDir.load(d).validate()


def test_paths_with_spaces_survive(tmp_path, an4_flacs):
    import shutil

    spaced = tmp_path / "my audio" / "utt one.flac"
    spaced.parent.mkdir()
    shutil.copy(an4_flacs[0], spaced)
    d = write(tmp_path / "d", wav_scp=f"a-1 {spaced}\n", text="a-1 YES\n", utt2spk="a-1 a\n")
    data = DataDir.load(d)
    data.validate(check_audio=True)
    from asr.audio import load_audio
    assert load_audio(data.wav_scp["a-1"]).numel() > 0
