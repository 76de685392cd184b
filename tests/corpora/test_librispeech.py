"""LibriSpeech data prep: the real metadata/transcript fixture, and small trees in the
corpus's layout built from real speech (AN4 FLAC files under LibriSpeech names)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import pytest
import soundfile as sf

from asr.bin.main import main
from asr.corpora import librispeech as ls
from asr.data import DataDir


# ---------------------------------------------------------------- the real fixture
def test_dev_clean_transcripts(librispeech_text):
    texts = ls.read_transcripts(librispeech_text / "dev-clean")
    assert len(texts) == 2703
    assert list(texts) == sorted(texts)
    assert len({utt.split("-")[0] for utt in texts}) == 40
    assert sum(len(t.split()) for t in texts.values()) + len(texts) == 57105  # README's wc -w
    assert all(t and t == t.upper() for t in texts.values())
    assert texts["1272-128104-0000"].startswith("MISTER QUILTER IS THE APOSTLE")


def test_dev_clean_as_data_dir(librispeech_text):
    data = ls.read_part(librispeech_text / "dev-clean", check_audio=False)
    data.validate(name="dev-clean")  # speakers sort with their utterances
    assert len(data) == 2703 and len(data.speakers) == 40
    utt = "1272-128104-0000"
    assert data.utt2spk[utt] == "1272"
    assert data.wav_scp[utt].endswith("dev-clean/1272/128104/1272-128104-0000.flac")
    with pytest.raises(FileNotFoundError, match="2703 transcribed utterance.*no audio"):
        ls.read_part(librispeech_text / "dev-clean")


def test_speakers_txt(librispeech_text):
    speakers = ls.read_speakers(librispeech_text / "SPEAKERS.TXT")
    assert len(speakers) == 2484
    assert speakers["1272"] == ls.Speaker("1272", "m", "dev-clean", 8.02, "John Rose")
    dev = {s for s, info in speakers.items() if info.subset == "dev-clean"}
    assert dev == {u.split("-")[0] for u in ls.read_transcripts(librispeech_text / "dev-clean")}
    assert {info.gender for info in speakers.values()} == {"m", "f"}


def test_bad_transcript_names_file_and_line(tmp_path):
    chapter = tmp_path / "dev-clean" / "12" / "34"
    chapter.mkdir(parents=True)
    (chapter / "12-34.trans.txt").write_text("12-34-0000 HELLO\n12-35-0001 WRONG CHAPTER\n")
    with pytest.raises(ValueError, match=r"12-34.trans.txt:2: utterance id '12-35-0001'"):
        ls.read_transcripts(tmp_path / "dev-clean")
    with pytest.raises(FileNotFoundError, match="LibriSpeech test-clean not found"):
        ls.find_part_dir(tmp_path, "test-clean")


def test_parts_and_urls():
    assert ls.expand_parts(["train-960", "dev-clean"]) == [
        "dev-clean", "train-clean-100", "train-clean-360", "train-other-500"]
    assert ls.part_url("dev-clean") == "https://www.openslr.org/resources/12/dev-clean.tar.gz"
    assert ls.part_url("test-other", "http://h:1/x/") == "http://h:1/x/test-other.tar.gz"
    with pytest.raises(ValueError, match="unknown LibriSpeech part 'train-100'"):
        ls.expand_parts(["train-100"])
    assert set(ls.PART_MD5) == set(ls.PARTS) and set(ls.LM_MD5) == set(ls.LM_FILES)


# ------------------------------------------------- small trees from real speech
def make_tree(root: Path, part: str, an4_flacs: list[Path], librispeech_text: Path,
              speakers: tuple[str, ...]) -> dict[str, str]:
    """``root/LibriSpeech/<part>`` with 3 utterances per dev-clean speaker in
    ``speakers`` (their real transcripts), audio borrowed from AN4. Returns the texts."""
    texts = ls.read_transcripts(librispeech_text / "dev-clean")
    base = root / "LibriSpeech"
    base.mkdir(parents=True, exist_ok=True)
    shutil.copy(librispeech_text / "SPEAKERS.TXT", base / "SPEAKERS.TXT")
    chosen: dict[str, str] = {}
    flacs = iter(an4_flacs * 4)
    for spk in speakers:
        utts = [u for u in texts if u.startswith(f"{spk}-")][:3]
        chapter = utts[0].split("-")[1]
        folder = base / part / spk / chapter
        folder.mkdir(parents=True)
        lines = []
        for utt in utts:
            if utt.split("-")[1] != chapter:
                continue
            shutil.copy(next(flacs), folder / f"{utt}.flac")
            lines.append(f"{utt} {texts[utt]}\n")
            chosen[utt] = texts[utt]
        (folder / f"{spk}-{chapter}.trans.txt").write_text("".join(lines))
    return chosen


def test_prepare_part(tmp_path, an4_flacs, librispeech_text):
    texts = make_tree(tmp_path / "corpus", "dev-clean", an4_flacs, librispeech_text,
                      ("1272", "1462", "2035"))
    data = ls.prepare_librispeech(tmp_path / "corpus", "dev-clean", tmp_path / "data")
    loaded = DataDir.load(tmp_path / "data" / "dev-clean")
    assert loaded.text == texts
    assert list(loaded.utt2spk.values()) == ["1272"] * 3 + ["1462"] * 3 + ["2035"] * 3
    for utt, entry in loaded.wav_scp.items():
        assert Path(entry).is_absolute() and Path(entry).name == f"{utt}.flac"
        assert loaded.utt2dur[utt] == pytest.approx(sf.info(entry).duration, abs=1e-3)
    assert data.num_hours > 0
    genders = (tmp_path / "data" / "dev-clean" / "spk2gender").read_text()
    assert genders == "1272 m\n1462 f\n2035 f\n"


def test_combined_sets_and_hour_subsets(tmp_path, an4_flacs, librispeech_text):
    corpus, out = tmp_path / "corpus", tmp_path / "data"
    make_tree(corpus, "train-clean-100", an4_flacs, librispeech_text, ("1272", "1462"))
    make_tree(corpus, "train-clean-360", an4_flacs, librispeech_text, ("2035", "2078"))
    for part in ("train-clean-100", "train-clean-360"):
        ls.prepare_librispeech(corpus, part, out)
    merged = ls.combine_parts(out, "train-460")
    assert len(merged) == 12 and merged.speakers == ["1272", "1462", "2035", "2078"]
    assert DataDir.load(out / "train-460").text == merged.text
    assert len((out / "train-460" / "spk2gender").read_text().splitlines()) == 4
    with pytest.raises(FileNotFoundError, match="train-other-500"):
        ls.combine_parts(out, "train-960")
    hours = merged.num_hours / 2
    sub = ls.subset_hours(out / "train-460", out / "train-half", hours, seed=3)
    assert hours <= sub.num_hours < hours + max(merged.utt2dur.values()) / 3600
    assert sub.speakers == merged.speakers  # speaker-balanced: everyone contributes
    again = ls.subset_hours(out / "train-460", tmp_path / "again", hours, seed=3)
    assert again.utterances == sub.utterances


def pack(corpus: Path, part: str, www: Path, checksum_file: bool = True) -> None:
    with tarfile.open(www / f"{part}.tar.gz", "w:gz") as tar:
        tar.add(corpus / "LibriSpeech" / "SPEAKERS.TXT", "LibriSpeech/SPEAKERS.TXT")
        tar.add(corpus / "LibriSpeech" / part, f"LibriSpeech/{part}")
    if checksum_file:
        digest = hashlib.md5((www / f"{part}.tar.gz").read_bytes()).hexdigest()
        with open(www / "md5sum.txt", "a") as handle:
            handle.write(f"{digest}  {part}.tar.gz\n")


def test_cli_downloads_from_mirror_and_prepares(tmp_path, mirror, an4_flacs, librispeech_text):
    corpus = tmp_path / "corpus"
    dev = make_tree(corpus, "dev-clean", an4_flacs, librispeech_text, ("1272", "1462"))
    test = make_tree(corpus, "test-clean", an4_flacs, librispeech_text, ("2035",))
    for part in ("dev-clean", "test-clean"):
        pack(corpus, part, mirror.root)
    dl_dir, out = tmp_path / "dl", tmp_path / "data"
    args = ["prepare", "librispeech", "--parts", "dev-clean,test-clean", "--download-dir",
            str(dl_dir), "--out-dir", str(out), "--base-url", mirror.url]
    assert main(args) == 0
    assert DataDir.load(out / "dev-clean").text == dev
    assert DataDir.load(out / "test-clean").text == test
    assert (dl_dir / "LibriSpeech" / "SPEAKERS.TXT").is_file()
    fetched = [name for name, _ in mirror.requests]
    assert fetched == ["sha256sum.txt", "md5sum.txt", "dev-clean.tar.gz", "test-clean.tar.gz"]
    mirror.requests.clear()
    assert main(args) == 0  # parts already extracted: nothing fetched
    assert mirror.requests == []


def test_cli_missing_part_names_part_and_url(tmp_path, mirror, capsys):
    (mirror.root / "md5sum.txt").write_text(f"{'0' * 32}  dev-clean.tar.gz\n")
    assert main(["prepare", "librispeech", "--parts", "dev-other", "--download-dir",
                 str(tmp_path / "dl"), "--out-dir", str(tmp_path / "d"),
                 "--base-url", mirror.url]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"asr prepare: error: LibriSpeech dev-other: not found at "
                   f"{mirror.url}/dev-other.tar.gz (HTTP 404)")


def test_mirror_without_checksums_uses_openslr_md5(tmp_path, mirror, an4_flacs, librispeech_text):
    corpus = tmp_path / "corpus"
    make_tree(corpus, "dev-clean", an4_flacs, librispeech_text, ("1272",))
    pack(corpus, "dev-clean", mirror.root, checksum_file=False)
    with pytest.raises(ValueError, match="dev-clean: checksum mismatch .*expected "
                                         "42e2234ba48799c1f50f24a7926300a1"):
        ls.download_librispeech(tmp_path / "dl", ["dev-clean"], base_url=mirror.url)
    assert not (tmp_path / "dl" / "LibriSpeech").exists()


def test_lm_resources_from_mirror(tmp_path, mirror):
    lexicon = "HELLO\tHH AH0 L OW1\n"
    (mirror.root / "librispeech-lexicon.txt").write_text(lexicon)
    digest = hashlib.sha256(lexicon.encode()).hexdigest()
    (mirror.root / "sha256sum.txt").write_text(f"{digest}  librispeech-lexicon.txt\n")
    ls.download_lm(tmp_path / "lm", ["librispeech-lexicon.txt"], base_url=mirror.url)
    assert (tmp_path / "lm" / "librispeech-lexicon.txt").read_text() == lexicon
    with pytest.raises(ValueError, match="unknown LibriSpeech LM file"):
        ls.download_lm(tmp_path / "lm", ["5-gram.arpa.gz"], base_url=mirror.url)


# ---------------------------------------------------------------- recipe lang step
def test_optional_lm_files_may_be_missing_on_the_mirror(tmp_path, mirror):
    lexicon = "HELLO\tHH AH0 L OW1\n"
    (mirror.root / "librispeech-lexicon.txt").write_text(lexicon)
    digest = hashlib.sha256(lexicon.encode()).hexdigest()
    (mirror.root / "sha256sum.txt").write_text(f"{digest}  librispeech-lexicon.txt\n")
    ls.download_lm(tmp_path / "lm", ["librispeech-lexicon.txt"], base_url=mirror.url,
                   optional=["3-gram.pruned.3e-7.arpa.gz"])
    assert sorted(p.name for p in (tmp_path / "lm").iterdir()) == ["librispeech-lexicon.txt"]
    assert ("3-gram.pruned.3e-7.arpa.gz", None) in mirror.requests  # it was asked for
    with pytest.raises(FileNotFoundError, match=f"3-gram.pruned.3e-7.arpa.gz: not found at "
                                                f"{mirror.url}/3-gram.pruned.3e-7.arpa.gz"):
        ls.download_lm(tmp_path / "lm", ["3-gram.pruned.3e-7.arpa.gz"], base_url=mirror.url)


def _arpa_bigram() -> str:
    return ("\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-0.6\t</s>\n-99\t<s>\t-0.3\n"
            "-0.6\tHELLO\t-0.2\n-0.6\tWORLD\t-0.2\n\n\\2-grams:\n-0.1\t<s> HELLO\n"
            "-0.1\tHELLO WORLD\n\n\\end\\\n")


def test_prepare_lang_uses_the_downloaded_arpa(tmp_path):
    import gzip

    from asr.lexicon.lexicon import read_lexicon
    from asr.lm.arpa import read_arpa

    res = tmp_path / "lm"
    res.mkdir()
    # LibriSpeech's form (tab after the word); an exact repeat is kept once
    (res / "librispeech-lexicon.txt").write_text(
        "HELLO\tHH AH0 L OW1\nHELLO\tHH AH0 L OW1\nHELLO\tHH EH0 L OW1\nWORLD\tW ER1 L D\n")
    with gzip.open(res / "3-gram.pruned.3e-7.arpa.gz", "wt") as handle:
        handle.write(_arpa_bigram())
    info = ls.prepare_lang(res, tmp_path / "no-text", tmp_path / "lang")
    assert (tmp_path / "lang" / "lm.arpa").read_text() == _arpa_bigram()
    assert info["lm"] == str(res / "3-gram.pruned.3e-7.arpa.gz") and info["words"] == 2
    lexicon = read_lexicon(tmp_path / "lang" / "lexicon.txt")
    assert lexicon.prons("HELLO") == [("HH", "AH0", "L", "OW1"), ("HH", "EH0", "L", "OW1")]
    assert read_arpa(tmp_path / "lang" / "lm.arpa").order == 2


def test_prepare_lang_estimates_an_lm_without_arpa(tmp_path, librispeech_text):
    from asr.lm.arpa import read_arpa

    res = tmp_path / "lm"
    res.mkdir()
    (res / "librispeech-lexicon.txt").write_text("HELLO\tHH AH0 L OW1\n")
    texts = ls.read_transcripts(librispeech_text / "dev-clean")
    (tmp_path / "text").write_text("".join(f"{u} {t}\n" for u, t in list(texts.items())[:50]))
    info = ls.prepare_lang(res, tmp_path / "text", tmp_path / "lang", order=2)
    assert info["lm"].startswith("Kneser-Ney 2-gram of")
    model = read_arpa(tmp_path / "lang" / "lm.arpa")
    assert model.order == 2 and ("HELLO",) not in model.ngrams[0]  # words of the text only
    with pytest.raises(FileNotFoundError, match="LibriSpeech lexicon not found"):
        ls.prepare_lang(tmp_path / "empty", tmp_path / "text", tmp_path / "lang2")
