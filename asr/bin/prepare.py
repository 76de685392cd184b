"""Prepare Kaldi-style data dirs for a corpus.

AN4 (default corpus of the toolkit): reads the FLAC copy shipped in the repository
(``corpora/an4``) or CMU's raw tree, and writes ``OUT/train`` (848 utterances),
``OUT/dev`` (100: the first of the sorted train list) and ``OUT/test`` (130). When the
corpus folder is missing, ``--download-dir`` fetches CMU's archive (checksum
verified) and uses it.

LibriSpeech: fetches the named parts from openslr (or ``--base-url``, a mirror),
verifies their md5, extracts them under ``--download-dir`` and writes one data dir
per part (``OUT/dev-clean``, ...). Combined sets (``train-460``, ``train-960``) are
written as unions of their parts; ``--subset-hours`` adds speaker-balanced subsets
(``OUT/train-10h`` from ``--subset-from``). ``--corpus-dir`` uses an extracted tree
without downloading.

Synthetic: speaks real LibriSpeech sentences with espeak-ng into LibriSpeech's exact
layout (``--corpus-dir``, default ``OUT/corpus``), then prepares it as LibriSpeech.

Examples:
  asr prepare an4 --out-dir recipes/an4/data
  asr prepare an4 --corpus-dir /data/an4 --out-dir data
  asr prepare librispeech --parts dev-clean,test-clean,train-960 --download-dir /data/libri \
      --out-dir data --subset-hours 10,100 --subset-from train-960
  asr prepare librispeech --parts dev-clean --download-dir dl --out-dir data \
      --base-url http://127.0.0.1:8000
  asr prepare synthetic --hours 0.05 --out-dir data --seed 0
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

COMMAND = "prepare"
HELP = "prepare data dirs (train/dev/test) for a corpus"

log = logging.getLogger("asr.prepare")


def default_an4_dir() -> Path:
    """The FLAC AN4 tree shipped in the repository (``<repo>/corpora/an4``)."""
    return Path(__file__).resolve().parents[2] / "corpora" / "an4"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpus", choices=["an4", "librispeech", "synthetic"], help="corpus name")
    parser.add_argument("--out-dir", required=True, help="where the data dirs go")
    parser.add_argument("--corpus-dir", default=None,
                        help="corpus tree (an4 default: the repository's corpora/an4; "
                             "librispeech: an extracted tree holding LibriSpeech/ or the parts; "
                             "synthetic: where it is generated, default OUT/corpus)")
    parser.add_argument("--download-dir", default=None,
                        help="if the corpus tree is missing, download CMU's archive here")
    parser.add_argument("--archive", default=None,
                        help="a local copy of CMU's an4_raw.bigendian.tar.gz to use "
                             "instead of downloading")
    libri = parser.add_argument_group("librispeech and synthetic")
    libri.add_argument("--parts", default=None,
                       help="comma-separated parts or combined sets (librispeech default: "
                            "dev-clean,dev-other,test-clean,test-other,train-clean-100; "
                            "synthetic default: train-clean-100,dev-clean,test-clean)")
    libri.add_argument("--base-url", default=None,
                       help="where <part>.tar.gz are served (default: openslr resource 12); "
                            "a mirror may serve md5sum.txt or sha256sum.txt beside them")
    libri.add_argument("--lm", action="store_true",
                       help="also fetch the LM resources (lexicon, vocabulary, 3/4-gram ARPA) "
                            "into DOWNLOAD_DIR/lm")
    libri.add_argument("--lm-base-url", default=None,
                       help="where the LM resources are served (default: openslr resource 11)")
    libri.add_argument("--subset-hours", default=None,
                       help="comma-separated hours: write OUT/train-<H>h subsets")
    libri.add_argument("--subset-from", default=None,
                       help="the prepared set the subsets come from (default: the largest "
                            "train set asked for)")
    libri.add_argument("--seed", type=int, default=0, help="seed for subsets and synthesis")
    synth = parser.add_argument_group("synthetic")
    synth.add_argument("--hours", type=float, default=0.05, help="hours of each train part")
    synth.add_argument("--eval-hours", type=float, default=None,
                       help="hours of each dev/test part (default: hours/10, at least 1 min)")
    synth.add_argument("--num-speakers", type=int, default=None,
                       help="speakers per part (default: about one per 25 minutes, at least 2)")
    synth.add_argument("--snr-db", type=float, default=None,
                       help="white noise at this SNR in clean parts (*-other: 10 dB)")
    synth.add_argument("--text-dir", default=None,
                       help="folder of LibriSpeech *.trans.txt files whose sentences are spoken "
                            "(default: the repository's corpora/librispeech-text)")
    synth.add_argument("--nj", type=int, default=1, help="parallel espeak-ng processes")
    synth.add_argument("--archives", default=None,
                       help="also pack <part>.tar.gz + md5sum.txt/sha256sum.txt (and lm/) here, "
                            "for serving as a LibriSpeech mirror")


def run(args: argparse.Namespace) -> int:
    if args.corpus == "librispeech":
        return run_librispeech(args)
    if args.corpus == "synthetic":
        return run_synthetic(args)
    return run_an4(args)


def run_an4(args: argparse.Namespace) -> int:
    from asr.corpora import an4

    corpus_dir = Path(args.corpus_dir) if args.corpus_dir else default_an4_dir()
    if not (corpus_dir / "etc").is_dir():
        if args.download_dir is None and args.archive is None:
            raise FileNotFoundError(
                f"AN4 not found at {corpus_dir}; pass --download-dir DIR to fetch it "
                f"from {an4.AN4_URL} or --archive to use a local copy")
        corpus_dir = an4.download_an4(args.download_dir or Path(args.out_dir) / "downloads",
                                      local_archive=args.archive)
    an4.prepare_an4(corpus_dir, args.out_dir)
    return 0


LIBRISPEECH_DEFAULT_PARTS = "dev-clean,dev-other,test-clean,test-other,train-clean-100"


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def prepare_sets(corpus_root: Path, names: list[str], out_dir: Path,
                 args: argparse.Namespace) -> None:
    """Data dirs for parts and combined sets ``names``, then the hour subsets."""
    from asr.corpora import librispeech as ls

    for part in ls.expand_parts(names):
        ls.prepare_librispeech(corpus_root, part, out_dir)
    for name in names:
        if name in ls.COMBINED:
            ls.combine_parts(out_dir, name)
    if args.subset_hours:
        source = args.subset_from or _largest_train(names)
        if source is None:
            raise ValueError("--subset-hours needs a train set: add one to --parts "
                             "or name it with --subset-from")
        for hours_text in _split(args.subset_hours):
            hours = float(hours_text)
            ls.subset_hours(out_dir / source, out_dir / f"train-{hours_text}h", hours,
                            seed=args.seed)


def _largest_train(names: list[str]) -> str | None:
    order = ["train-960", "train-460", "train-other-500", "train-clean-360", "train-clean-100"]
    return next((n for n in order if n in names), None)


def run_librispeech(args: argparse.Namespace) -> int:
    from asr.corpora import librispeech as ls

    names = _split(args.parts or LIBRISPEECH_DEFAULT_PARTS)
    parts = ls.expand_parts(names)  # validates the names before any download
    out_dir = Path(args.out_dir)
    if args.corpus_dir:
        root = Path(args.corpus_dir)
    elif args.download_dir:
        root = ls.download_librispeech(args.download_dir, parts,
                                       base_url=args.base_url or ls.BASE_URL)
    else:
        raise FileNotFoundError("librispeech: pass --download-dir DIR to fetch the parts "
                                f"from {args.base_url or ls.BASE_URL}, or --corpus-dir with an "
                                "extracted tree")
    if args.lm:
        if not args.download_dir:
            raise ValueError("--lm needs --download-dir (the LM files go to DOWNLOAD_DIR/lm)")
        ls.download_lm(Path(args.download_dir) / "lm", base_url=args.lm_base_url or ls.LM_BASE_URL)
    prepare_sets(root, names, out_dir, args)
    return 0


def run_synthetic(args: argparse.Namespace) -> int:
    from asr.corpora import librispeech as ls
    from asr.corpora import synthetic

    names = _split(args.parts or "train-clean-100,dev-clean,test-clean")
    out_dir = Path(args.out_dir)
    corpus_dir = Path(args.corpus_dir) if args.corpus_dir else out_dir / "corpus"
    hours = synthetic.part_hours(ls.expand_parts(names), args.hours, args.eval_hours)
    root = corpus_dir / "LibriSpeech"
    if all((root / part).is_dir() for part in hours):
        log.info("synthetic corpus already at %s; not generating it again", root)
    else:
        clash = [part for part in hours if (root / part).is_dir()]
        if clash:
            raise ValueError(f"{root} holds some parts ({', '.join(clash)}) but not all; "
                             "remove it or use another --corpus-dir")
        synthetic.generate_corpus(corpus_dir, hours, seed=args.seed, snr_db=args.snr_db,
                                  num_speakers=args.num_speakers, num_jobs=args.nj,
                                  text_root=args.text_dir or synthetic.TEXT_ROOT)
    if args.archives:
        synthetic.pack_parts(corpus_dir, args.archives, list(hours))
        synthetic.write_lm_resources(corpus_dir, Path(args.archives) / "lm")
    prepare_sets(corpus_dir, names, out_dir, args)
    return 0
