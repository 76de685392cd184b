"""Prepare Kaldi-style data dirs for a corpus.

AN4 (default corpus of the toolkit): reads the FLAC copy shipped in the repository
(``corpora/an4``) or CMU's raw tree, and writes ``OUT/train`` (848 utterances),
``OUT/dev`` (100: the first of the sorted train list) and ``OUT/test`` (130). When the
corpus folder is missing, ``--download-dir`` fetches CMU's archive (checksum
verified) and uses it.

Examples:
  asr prepare an4 --out-dir recipes/an4/data
  asr prepare an4 --corpus-dir /data/an4 --out-dir data
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
    parser.add_argument("corpus", choices=["an4"], help="corpus name")
    parser.add_argument("--out-dir", required=True, help="where the data dirs go")
    parser.add_argument("--corpus-dir", default=None,
                        help="corpus tree (default: the repository's corpora/an4)")
    parser.add_argument("--download-dir", default=None,
                        help="if the corpus tree is missing, download CMU's archive here")
    parser.add_argument("--archive", default=None,
                        help="a local copy of CMU's an4_raw.bigendian.tar.gz to use "
                             "instead of downloading")


def run(args: argparse.Namespace) -> int:
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
