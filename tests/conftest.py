"""Shared fixtures: the AN4 corpus shipped in the repository (real speech)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
AN4_DIR = REPO / "corpora" / "an4"
AN4_ARCHIVE = REPO.parent / "shared" / "corpora" / "an4_raw.bigendian.tar.gz"

# Tests run on 2 cores beside other work; keep torch from oversubscribing.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def an4_dir() -> Path:
    """The FLAC AN4 tree (``corpora/an4``)."""
    assert (AN4_DIR / "etc" / "an4_train.fileids").exists(), f"missing {AN4_DIR}"
    return AN4_DIR


@pytest.fixture(scope="session")
def an4_flacs(an4_dir) -> list[Path]:
    """A few real AN4 train utterances (FLAC), sorted."""
    return sorted((an4_dir / "wav" / "an4_clstk").rglob("*.flac"))[:6]


@pytest.fixture(scope="session")
def an4_archive() -> Path:
    """CMU's AN4 archive as distributed (``shared/corpora``), when it is beside the repo."""
    if not AN4_ARCHIVE.exists():
        pytest.skip(f"CMU's AN4 archive not found at {AN4_ARCHIVE} (shared/corpora is not beside the repo)")
    return AN4_ARCHIVE


@pytest.fixture(scope="session")
def an4_raw_tree(tmp_path_factory) -> Path:
    """CMU's original raw big-endian tree, extracted from the archive in shared/."""
    if not AN4_ARCHIVE.exists():
        pytest.skip(f"CMU's AN4 archive not found at {AN4_ARCHIVE} (shared/corpora is not beside the repo)")
    out = tmp_path_factory.mktemp("an4raw")
    with tarfile.open(AN4_ARCHIVE) as tar:
        tar.extractall(out, filter="data")
    return out / "an4"


@pytest.fixture(scope="session")
def an4_data(tmp_path_factory, an4_dir):
    """Prepared AN4 data dirs ``{train, dev, test}`` (paths)."""
    from asr.corpora.an4 import prepare_an4

    out = tmp_path_factory.mktemp("an4data")
    prepare_an4(an4_dir, out)
    return {name: out / name for name in ("train", "dev", "test")}
