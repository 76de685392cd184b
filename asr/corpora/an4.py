"""AN4 ("census"): CMU's small read-speech corpus of spelled words and numbers.

Layout as CMU distributes it (``an4_raw.bigendian.tar.gz``)::

    an4/wav/an4_clstk/<spk>/<utt>.raw        train: 948 utterances, 74 speakers
    an4/wav/an4test_clstk/<spk>/<utt>.raw    test: 130 utterances, 10 speakers
    an4/etc/an4_{train,test}.{fileids,transcription}, an4.dic, an4.phone, ...

The audio is headerless 16 kHz 16-bit signed PCM, **big-endian** (CMU's README says
little-endian; it is wrong). The repository ships the same corpus converted to FLAC
by :func:`pack_flac` (``corpora/an4``), so that the default recipe needs no network.

Data dirs follow the field's convention: ``dev`` = the first 100 utterances of the
sorted train list, ``train`` = the other 848, ``test`` = the 130 test utterances.
Transcripts drop ``<s>``/``</s>`` and stay uppercase.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from asr.data.datadir import DataDir

log = logging.getLogger(__name__)

AN4_URL = "http://www.speech.cs.cmu.edu/databases/an4/an4_raw.bigendian.tar.gz"
AN4_SHA256 = "592c3b450357f4292a8e61cb416399edf0f48293904553564a21f7c6441df397"
SAMPLE_RATE = 16000
NUM_DEV = 100
SUBSETS = {"train": "an4_clstk", "test": "an4test_clstk"}
_TRANSCRIPT_LINE = re.compile(r"^(?P<text>.*)\((?P<utt>[^()]+)\)\s*$")


def sha256sum(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_raw_pcm_be16(path: str | Path) -> np.ndarray:
    """Headerless big-endian 16-bit PCM -> int16 samples ``(T,)``."""
    return np.fromfile(path, dtype=">i2").astype(np.int16)


def parse_transcriptions(path: str | Path) -> dict[str, str]:
    """``<s> WORDS </s> (utt-id)`` lines -> ``{utt-id: "WORDS"}``."""
    texts: dict[str, str] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _TRANSCRIPT_LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{lineno}: expected 'WORDS (utt-id)', got {line!r}")
        words = [w for w in match["text"].split() if w not in ("<s>", "</s>")]
        texts[match["utt"].strip()] = " ".join(words)
    return texts


def pack_flac(an4_root: str | Path, out_dir: str | Path) -> int:
    """Convert CMU's raw AN4 tree (``an4_root`` = the ``an4`` folder) to FLAC.

    Writes ``out_dir/wav/<subset dir>/<spk>/<utt>.flac`` for every ``.raw`` file and
    copies ``etc/``, ``LICENSE`` and ``README`` unchanged. Returns the file count.
    """
    import soundfile as sf

    an4_root, out_dir = Path(an4_root), Path(out_dir)
    count = 0
    for raw in sorted((an4_root / "wav").rglob("*.raw")):
        rel = raw.relative_to(an4_root).with_suffix(".flac")
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        samples = read_raw_pcm_be16(raw)
        if samples.size == 0:
            raise ValueError(f"{raw}: empty audio file")
        tmp = target.with_name(target.name + ".tmp.flac")
        sf.write(tmp, samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        tmp.replace(target)
        count += 1
    shutil.copytree(an4_root / "etc", out_dir / "etc", dirs_exist_ok=True)
    for name in ("LICENSE", "README"):
        shutil.copy2(an4_root / name, out_dir / name)
    return count


def download_an4(dest_dir: str | Path, url: str = AN4_URL,
                 local_archive: str | Path | None = None) -> Path:
    """Fetch (or copy) CMU's archive into ``dest_dir``, verify sha256, extract.

    Returns the extracted ``an4`` folder. A partial or corrupt archive fails the
    checksum, is removed and fetched again once.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    archive = dest_dir / "an4_raw.bigendian.tar.gz"
    for attempt in range(2):
        if not archive.exists():
            tmp = archive.with_suffix(".part")
            if local_archive is not None and Path(local_archive).exists():
                shutil.copyfile(local_archive, tmp)
            else:
                log.info("downloading %s", url)
                with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
                    shutil.copyfileobj(resp, out)
            tmp.replace(archive)
        digest = sha256sum(archive)
        if digest == AN4_SHA256:
            break
        log.warning("%s: sha256 %s != expected %s; removing", archive, digest, AN4_SHA256)
        archive.unlink()
    else:
        raise ValueError(f"{archive}: checksum mismatch after a fresh download from {url}")
    root = dest_dir / "an4"
    if not (root / "etc").is_dir():
        with tempfile.TemporaryDirectory(dir=dest_dir) as tmp_dir:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp_dir, filter="data")
            shutil.move(str(Path(tmp_dir) / "an4"), root)
    return root


def find_audio(corpus_root: Path, subset_dir: str, speaker: str, utt: str) -> Path:
    """The audio file of ``utt`` in a CMU (raw) or packed (FLAC) AN4 tree."""
    base = corpus_root / "wav" / subset_dir / speaker / utt
    for suffix in (".flac", ".raw"):
        if base.with_suffix(suffix).exists():
            return base.with_suffix(suffix)
    raise FileNotFoundError(f"AN4 audio for {utt} not found under {base.parent} (.flac or .raw)")


def read_subset(corpus_root: str | Path, subset: str) -> "DataDir":
    """One CMU subset (``train`` or ``test``) of a raw or FLAC AN4 tree as a DataDir.

    Utterance ids are ``<speaker>-<CMU id>`` so that sorting groups speakers.
    """
    from asr.audio.io import RawFormat, raw_entry
    from asr.data import DataDir

    corpus_root = Path(corpus_root).resolve()
    etc = corpus_root / "etc"
    fileids = (etc / f"an4_{subset}.fileids").read_text(encoding="utf-8").split()
    texts = parse_transcriptions(etc / f"an4_{subset}.transcription")
    data = DataDir()
    for fileid in fileids:
        subset_dir, speaker, cmu_id = fileid.split("/")
        if cmu_id not in texts:
            raise ValueError(f"{etc}/an4_{subset}.transcription: no transcript for {cmu_id}")
        audio = find_audio(corpus_root, subset_dir, speaker, cmu_id)
        utt = f"{speaker}-{cmu_id}"
        if audio.suffix == ".raw":
            entry = raw_entry(audio, RawFormat("s16be", SAMPLE_RATE))
        else:
            entry = str(audio)
        data.wav_scp[utt] = entry
        data.text[utt] = texts[cmu_id]
        data.utt2spk[utt] = speaker
    for name in ("wav_scp", "text", "utt2spk"):
        setattr(data, name, dict(sorted(getattr(data, name).items())))
    return data


def prepare_an4(corpus_root: str | Path, out_dir: str | Path) -> dict[str, "DataDir"]:
    """Write ``out_dir/{train,dev,test}`` data dirs from an AN4 tree (raw or FLAC).

    dev = first 100 sorted train utterances, train = the other 848, test = 130.
    Each dir is validated (every audio file present) before anything is written.
    """
    from asr.data import compute_durations

    full_train = read_subset(corpus_root, "train")
    test = read_subset(corpus_root, "test")
    dev = full_train.first(NUM_DEV)
    train = full_train.exclude(dev.utterances)
    sets = {"train": train, "dev": dev, "test": test}
    for name, data in sets.items():
        data.utt2dur = compute_durations(data)
        data.validate(name=f"an4 {name}", check_audio=True)
    out_dir = Path(out_dir)
    for name, data in sets.items():
        data.save(out_dir / name)
        log.info("an4 %s: %d utterances, %d speakers, %.2f h -> %s", name, len(data),
                 len(data.speakers), data.num_hours, out_dir / name)
    return sets


def main(argv: list[str] | None = None) -> int:
    """``python -m asr.corpora.an4 pack --archive A --out corpora/an4``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asr.corpora.an4",
                                     description="Repack CMU's AN4 archive as FLAC.")
    sub = parser.add_subparsers(dest="action", required=True)
    pack = sub.add_parser("pack", help="convert an4_raw.bigendian.tar.gz to a FLAC tree")
    pack.add_argument("--archive", required=True, help="CMU's an4_raw.bigendian.tar.gz")
    pack.add_argument("--out", required=True, help="output folder (e.g. corpora/an4)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    with tempfile.TemporaryDirectory() as work:
        root = download_an4(work, local_archive=args.archive)
        count = pack_flac(root, args.out)
    log.info("wrote %d FLAC files under %s", count, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
