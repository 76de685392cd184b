"""LibriSpeech (openslr resource 12): 1000 h of read English audiobooks, 16 kHz FLAC.

Layout of every part after extraction (each ``<part>.tar.gz`` holds ``LibriSpeech/``)::

    LibriSpeech/SPEAKERS.TXT, CHAPTERS.TXT, BOOKS.TXT       pipe-separated metadata
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>.trans.txt   "<utt-id> WORDS ..."

Data dirs keep the corpus's utterance ids (``<spk>-<chapter>-<utt>``: sorting them
groups speakers), speaker id = ``<spk>`` (the reader), ``wav.scp`` = the FLAC path,
``text`` as given (uppercase), ``utt2dur`` from the FLAC headers and ``spk2gender``
(``m``/``f``) from SPEAKERS.TXT when it is there. Each part goes to
``<out_dir>/<part>``; the usual training sets are unions of parts
(:data:`COMBINED`), and smaller ones are speaker-balanced hour subsets
(:func:`subset_hours`).

The language-model resources (openslr resource 11: lexicon, vocabulary, ARPA n-gram
models) are fetched by :func:`download_lm`. Both base URLs are parameters, so a
local mirror (or the synthetic corpus of :mod:`asr.corpora.synthetic` served over
HTTP) can stand in for openslr.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asr.corpora import download as dl

if TYPE_CHECKING:
    from asr.data import DataDir

log = logging.getLogger(__name__)

BASE_URL = "https://www.openslr.org/resources/12"
LM_BASE_URL = "https://www.openslr.org/resources/11"
PARTS = ("dev-clean", "dev-other", "test-clean", "test-other",
         "train-clean-100", "train-clean-360", "train-other-500")
TRAIN_PARTS = ("train-clean-100", "train-clean-360", "train-other-500")
COMBINED = {
    "train-460": ("train-clean-100", "train-clean-360"),
    "train-960": ("train-clean-100", "train-clean-360", "train-other-500"),
}
# md5 of each file as openslr publishes them (resources/12 and resources/11).
PART_MD5 = {
    "dev-clean": "42e2234ba48799c1f50f24a7926300a1",
    "dev-other": "c8d0bcc9cca99d4f8b62fcc847357931",
    "test-clean": "32fa31d27d2e1cad72775fee3f4849a9",
    "test-other": "fb5a50374b501bb3bac4815ee91d3135",
    "train-clean-100": "2a93770f6d5c6c964bc36631d331a522",
    "train-clean-360": "c0e676e450a7ff2f54aeade5171606fa",
    "train-other-500": "d1a0fd59409feb2c614ce4d30c387708",
}
LM_FILES = ("librispeech-lexicon.txt", "librispeech-vocab.txt", "3-gram.arpa.gz",
            "4-gram.arpa.gz", "3-gram.pruned.1e-7.arpa.gz", "3-gram.pruned.3e-7.arpa.gz")
LM_MD5 = {
    "librispeech-lexicon.txt": "28f72663f6bfed7cd346283c064c315b",
    "librispeech-vocab.txt": "bf3cc7a50112831ed8b0afa40cae96a5",
    "3-gram.arpa.gz": "74cbb837e582378c26c602e1c8cbcb9c",
    "4-gram.arpa.gz": "6abdcd5b055bd482e4f9defe91d40408",
    "3-gram.pruned.1e-7.arpa.gz": "9a0f1325bcaf3a0f7b7be4be10823c2a",
    "3-gram.pruned.3e-7.arpa.gz": "8f67ec741827742eee05799ab7605b50",
}
CHECKSUM_FILES = ("sha256sum.txt", "md5sum.txt")  # looked for beside archives on a mirror
_UTT_ID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


@dataclass(frozen=True)
class Speaker:
    """One SPEAKERS.TXT row: reader id, gender ``m``/``f``, subset, minutes, name."""

    id: str
    gender: str
    subset: str
    minutes: float
    name: str


def expand_parts(names: list[str] | tuple[str, ...]) -> list[str]:
    """Part and combined-set names -> the corpus parts they need, in :data:`PARTS` order."""
    needed: set[str] = set()
    for name in names:
        if name in COMBINED:
            needed.update(COMBINED[name])
        elif name in PARTS:
            needed.add(name)
        else:
            raise ValueError(f"unknown LibriSpeech part {name!r}; choose from "
                             f"{', '.join(PARTS + tuple(COMBINED))}")
    return [p for p in PARTS if p in needed]


def part_url(part: str, base_url: str = BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/{part}.tar.gz"


def _mirror_checksums(base_url: str) -> dict[str, str]:
    """Checksums served beside the archives (``sha256sum.txt`` / ``md5sum.txt``), if any."""
    for filename in CHECKSUM_FILES:
        text = dl.fetch_text(f"{base_url.rstrip('/')}/{filename}")
        if text is not None:
            return dl.read_checksum_file(text)
    return {}


def resolve_checksums(files: list[str], base_url: str, default_base: str,
                      known: dict[str, str]) -> dict[str, str]:
    """``{file name: checksum}``: openslr's published md5 for openslr itself; for
    another base URL the checksum file served beside the files, else the published md5.
    """
    table = {f"{k}.tar.gz" if k in PARTS else k: f"md5:{v}" for k, v in known.items()}
    if base_url.rstrip("/") != default_base:
        served = _mirror_checksums(base_url)
        if served:
            table = {**table, **served}
        else:
            log.info("no %s at %s: verifying against openslr's md5 list",
                     " or ".join(CHECKSUM_FILES), base_url)
    missing = [f for f in files if f not in table]
    if missing:
        raise ValueError(f"no checksum known for {', '.join(missing)} (base URL {base_url})")
    return {f: table[f] for f in files}


def download_librispeech(download_dir: str | Path, parts: list[str],
                         base_url: str = BASE_URL, keep_archives: bool = True) -> Path:
    """Fetch, verify and extract ``parts`` into ``download_dir``; returns the corpus root.

    The root is ``download_dir/LibriSpeech`` (holding ``<part>/`` and the metadata).
    A part already extracted is skipped; archives resume after an interruption.
    """
    download_dir = Path(download_dir)
    root = download_dir / "LibriSpeech"
    parts = expand_parts(parts)
    todo = [p for p in parts if not (root / p).is_dir()]
    if not todo:
        return root
    sums = resolve_checksums([f"{p}.tar.gz" for p in todo], base_url, BASE_URL, PART_MD5)
    for part in todo:
        url = part_url(part, base_url)
        log.info("LibriSpeech %s: %s", part, url)
        archive = dl.download(url, download_dir / f"{part}.tar.gz", sums[f"{part}.tar.gz"],
                              name=f"LibriSpeech {part}")
        dl.extract_tar(archive, download_dir)
        if not (root / part).is_dir():
            raise ValueError(f"{archive}: has no LibriSpeech/{part}/ folder")
        if not keep_archives:
            archive.unlink()
    return root


def download_lm(download_dir: str | Path, files: list[str] | tuple[str, ...] = LM_FILES[:4],
                base_url: str = LM_BASE_URL, optional: list[str] | tuple[str, ...] = ()) -> Path:
    """Fetch the LM resources (lexicon, vocabulary, ARPA models) into ``download_dir``.

    A file named in ``optional`` that the server does not have (HTTP 404) is skipped
    with a log line instead of failing (a mirror may serve only the lexicon).
    """
    download_dir = Path(download_dir)
    files = list(files) + [f for f in optional if f not in files]
    unknown = [f for f in files if f not in LM_MD5]
    if unknown:
        raise ValueError(f"unknown LibriSpeech LM file(s) {unknown}; choose from {list(LM_FILES)}")
    sums = resolve_checksums(list(files), base_url, LM_BASE_URL, LM_MD5)
    for name in files:
        try:
            dl.download(f"{base_url.rstrip('/')}/{name}", download_dir / name, sums[name],
                        name=f"LibriSpeech LM {name}")
        except FileNotFoundError:
            if name not in optional:
                raise
            log.info("LibriSpeech LM %s: not served at %s; skipped (optional)", name, base_url)
    return download_dir


def prepare_lang(resources_dir: str | Path, train_text: str | Path, out_dir: str | Path,
                 arpa: str = "3-gram.pruned.3e-7.arpa.gz", order: int = 3) -> dict[str, str]:
    """The lexicon and word LM a LibriSpeech recipe decodes with, in ``out_dir``.

    - ``lexicon.txt``: ``resources_dir/librispeech-lexicon.txt`` (``WORD<TAB>PH ON ES``,
      stress digits kept) rewritten in Kaldi's ``WORD PH ...`` form.
    - ``lm.arpa``: the ARPA model ``resources_dir/<arpa>`` (openslr's 3-gram pruned
      at 3e-7 by default, Kaldi's "tgsmall"), uncompressed, when it was downloaded;
      otherwise a Kneser-Ney ``order``-gram estimated from ``train_text`` (a Kaldi
      ``text`` file).
    - ``info.json``: where both came from.

    Returns the ``info.json`` record. FileNotFoundError when the lexicon is missing.
    """
    import gzip
    import json
    import shutil

    from asr.graph.mkgraph import estimate_lm_from_text
    from asr.lexicon.lexicon import Lexicon, write_lexicon
    from asr.utils.io import atomic_open, atomic_write_text

    resources_dir, out_dir = Path(resources_dir), Path(out_dir)
    source = resources_dir / "librispeech-lexicon.txt"
    if not source.is_file():
        raise FileNotFoundError(f"LibriSpeech lexicon not found: {source} (fetch the LM "
                                "resources first: python -m asr.corpora.librispeech download-lm)")
    out_dir.mkdir(parents=True, exist_ok=True)
    lexicon = Lexicon()
    seen: set[tuple[str, ...]] = set()
    with open(source, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            fields = tuple(line.split())
            if not fields or fields in seen:  # exact repeats are harmless: keep one
                continue
            if len(fields) < 2:
                raise ValueError(f"{source}:{lineno}: word {fields[0]!r} has no phones")
            seen.add(fields)
            lexicon.add(fields[0], fields[1:])
    write_lexicon(lexicon, out_dir / "lexicon.txt")
    arpa_path = resources_dir / arpa
    if arpa_path.is_file():
        opener = gzip.open if arpa_path.suffix == ".gz" else open
        with opener(arpa_path, "rb") as src, atomic_open(out_dir / "lm.arpa", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        lm_source = str(arpa_path)
    else:
        estimate_lm_from_text(train_text, order, out_dir / "lm.arpa")
        lm_source = f"Kneser-Ney {order}-gram of {train_text} ({arpa_path} not downloaded)"
    info = {"lexicon": str(source), "words": len(lexicon.words()), "lm": lm_source}
    atomic_write_text(out_dir / "info.json", json.dumps(info, indent=2) + "\n")
    log.info("lang %s: %d words from %s; LM: %s", out_dir, info["words"], source, lm_source)
    return info


# ---------------------------------------------------------------------- metadata
def read_speakers(path: str | Path) -> dict[str, Speaker]:
    """SPEAKERS.TXT (``ID | SEX | SUBSET | MINUTES | NAME``, ``;`` comments)."""
    speakers: dict[str, Speaker] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|", 4)]
        if len(fields) != 5 or fields[1].upper() not in ("M", "F"):
            raise ValueError(f"{path}:{lineno}: expected 'ID | M/F | SUBSET | MINUTES | NAME', "
                             f"got {line!r}")
        spk, sex, subset, minutes, name = fields
        speakers[spk] = Speaker(spk, sex.lower(), subset, float(minutes), name)
    return speakers


def find_part_dir(root: str | Path, part: str) -> Path:
    """``root/<part>`` or ``root/LibriSpeech/<part>``; FileNotFoundError naming both."""
    root = Path(root)
    for candidate in (root / part, root / "LibriSpeech" / part):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"LibriSpeech {part} not found under {root} "
                            f"(looked for {root / part} and {root / 'LibriSpeech' / part})")


def read_transcripts(part_dir: str | Path) -> dict[str, str]:
    """Every ``<spk>/<chapter>/<spk>-<chapter>.trans.txt`` of a part -> ``{utt: text}``,
    sorted by id. Checks that ids are ``<spk>-<chapter>-<utt>`` of their own folder."""
    part_dir = Path(part_dir)
    texts: dict[str, str] = {}
    for trans in sorted(part_dir.glob("*/*/*.trans.txt")):
        spk, chapter = trans.parent.parent.name, trans.parent.name
        if trans.name != f"{spk}-{chapter}.trans.txt":
            raise ValueError(f"{trans}: expected the name {spk}-{chapter}.trans.txt")
        for lineno, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            utt, _, words = line.strip().partition(" ")
            match = _UTT_ID.match(utt)
            if match is None or match.group(1, 2) != (spk, chapter):
                raise ValueError(f"{trans}:{lineno}: utterance id {utt!r} is not "
                                 f"{spk}-{chapter}-<number>")
            if not words.strip():
                raise ValueError(f"{trans}:{lineno}: {utt} has no transcript")
            if utt in texts:
                raise ValueError(f"{trans}:{lineno}: duplicate utterance id {utt}")
            texts[utt] = " ".join(words.split())
    if not texts:
        raise FileNotFoundError(f"no <spk>/<chapter>/*.trans.txt under {part_dir}")
    return dict(sorted(texts.items()))


def read_part(part_dir: str | Path, check_audio: bool = True) -> "DataDir":
    """A part as a DataDir (wav.scp, text, utt2spk; no durations yet).

    With ``check_audio`` every transcribed utterance must have its FLAC file.
    """
    from asr.data import DataDir

    part_dir = Path(part_dir).resolve()
    texts = read_transcripts(part_dir)
    data = DataDir()
    missing = []
    for utt, words in texts.items():
        spk, chapter, _ = utt.split("-")
        flac = part_dir / spk / chapter / f"{utt}.flac"
        if check_audio and not flac.is_file():
            missing.append(str(flac))
        data.wav_scp[utt] = str(flac)
        data.text[utt] = words
        data.utt2spk[utt] = spk
    if missing:
        raise FileNotFoundError(f"{part_dir}: {len(missing)} transcribed utterance(s) have no "
                                f"audio, e.g. {missing[0]}")
    return data


def write_spk2gender(path: str | Path, speakers: list[str], info: dict[str, Speaker]) -> None:
    """``<spk> m|f`` for each speaker found in ``info`` (Kaldi's spk2gender)."""
    from asr.utils.io import atomic_write_text

    lines = [f"{spk} {info[spk].gender}\n" for spk in sorted(speakers) if spk in info]
    if lines:
        atomic_write_text(path, "".join(lines))


def _speakers_file(part_dir: Path) -> Path | None:
    for candidate in (part_dir.parent / "SPEAKERS.TXT", part_dir.parent.parent / "SPEAKERS.TXT"):
        if candidate.is_file():
            return candidate
    return None


def prepare_librispeech(root: str | Path, part: str, out_dir: str | Path) -> "DataDir":
    """Write the data dir ``out_dir/<part>`` from an extracted LibriSpeech tree.

    ``root`` holds ``<part>/`` or ``LibriSpeech/<part>/``. The dir is validated (every
    FLAC present, ids sorted with their speakers) before it is written; ``spk2gender``
    comes from SPEAKERS.TXT beside the part when there is one.
    """
    from asr.data import compute_durations

    if part not in PARTS:
        log.info("preparing %s, which is not one of LibriSpeech's part names", part)
    part_dir = find_part_dir(root, part)
    data = read_part(part_dir, check_audio=True)
    data.utt2dur = compute_durations(data)
    data.validate(name=f"librispeech {part}", check_audio=True)
    target = Path(out_dir) / part
    data.save(target)
    speakers_txt = _speakers_file(part_dir)
    if speakers_txt is not None:
        write_spk2gender(target / "spk2gender", data.speakers, read_speakers(speakers_txt))
    log.info("librispeech %s: %d utterances, %d speakers, %.2f h -> %s", part, len(data),
             len(data.speakers), data.num_hours, target)
    return data


def combine_parts(out_dir: str | Path, name: str, parts: list[str] | tuple[str, ...] | None = None
                  ) -> "DataDir":
    """``out_dir/<name>`` = the union of the prepared ``out_dir/<part>`` dirs.

    ``parts`` defaults to :data:`COMBINED` ``[name]`` (train-460, train-960).
    """
    from asr.data import DataDir, combine

    out_dir = Path(out_dir)
    if parts is None:
        if name not in COMBINED:
            raise ValueError(f"unknown combined set {name!r}; choose from {', '.join(COMBINED)}")
        parts = COMBINED[name]
    merged = combine(DataDir.load(out_dir / p) for p in parts)
    merged.validate(name=f"librispeech {name}")
    merged.save(out_dir / name)
    _merge_spk2gender([out_dir / p for p in parts], out_dir / name)
    log.info("librispeech %s = %s: %d utterances, %.2f h", name, " + ".join(parts), len(merged),
             merged.num_hours)
    return merged


def subset_hours(src_dir: str | Path, dst_dir: str | Path, hours: float, seed: int = 0
                 ) -> "DataDir":
    """A speaker-balanced, seeded subset of about ``hours`` (DataDir.by_hours) of a dir."""
    from asr.data import DataDir

    data = DataDir.load(src_dir).by_hours(hours, seed=seed)
    data.validate(name=f"{Path(dst_dir).name}")
    data.save(dst_dir)
    _merge_spk2gender([Path(src_dir)], Path(dst_dir), keep=set(data.speakers))
    log.info("%s: %d utterances, %d speakers, %.2f h from %s", dst_dir, len(data),
             len(data.speakers), data.num_hours, src_dir)
    return data


def _merge_spk2gender(sources: list[Path], target: Path, keep: set[str] | None = None) -> None:
    from asr.utils.io import atomic_write_text

    genders: dict[str, str] = {}
    for src in sources:
        path = src / "spk2gender"
        if not path.is_file():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            spk, gender = line.split()
            genders[spk] = gender
    if keep is not None:
        genders = {k: v for k, v in genders.items() if k in keep}
    lines = "".join(f"{k} {v}\n" for k, v in sorted(genders.items()))
    atomic_write_text(target / "spk2gender", lines)


# ---------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    """The recipe's download and lang steps (``recipes/librispeech/run.sh``)::

        python -m asr.corpora.librispeech download --dir D --parts dev-clean,train-960
        python -m asr.corpora.librispeech download-lm --dir D/lm [--files F,...] [--optional F,...]
        python -m asr.corpora.librispeech lang --resources D/lm --train-text T --out data/lang
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m asr.corpora.librispeech",
                                     description="Fetch LibriSpeech parts and LM resources; "
                                                 "make the lexicon + LM dir of a recipe.")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("download", help="fetch, verify and extract parts into DIR/LibriSpeech")
    p.add_argument("--dir", required=True)
    p.add_argument("--parts", required=True, help="comma-separated parts or combined sets")
    p.add_argument("--base-url", default=BASE_URL)
    p = sub.add_parser("download-lm", help="fetch LM resources (openslr resource 11) into DIR")
    p.add_argument("--dir", required=True)
    p.add_argument("--files", default="librispeech-lexicon.txt,librispeech-vocab.txt")
    p.add_argument("--optional", default="3-gram.pruned.3e-7.arpa.gz",
                   help="files skipped (not an error) when the server lacks them")
    p.add_argument("--base-url", default=LM_BASE_URL)
    p = sub.add_parser("lang", help="DIR/lexicon.txt + DIR/lm.arpa (see prepare_lang)")
    p.add_argument("--resources", required=True, help="where download-lm put the files")
    p.add_argument("--train-text", required=True, help="text to estimate an LM from when no ARPA")
    p.add_argument("--out", required=True)
    p.add_argument("--arpa", default="3-gram.pruned.3e-7.arpa.gz")
    p.add_argument("--order", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")

    def split(text: str) -> list[str]:
        return [x for x in text.split(",") if x]

    try:
        if args.action == "download":
            download_librispeech(args.dir, split(args.parts), base_url=args.base_url)
        elif args.action == "download-lm":
            download_lm(args.dir, split(args.files), base_url=args.base_url,
                        optional=split(args.optional))
        else:
            prepare_lang(args.resources, args.train_text, args.out, arpa=args.arpa,
                         order=args.order)
    except (FileNotFoundError, ValueError) as err:  # user errors: one line
        print(f"{parser.prog} {args.action}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
