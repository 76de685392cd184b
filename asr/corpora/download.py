"""Resumable downloads with checksums, and atomic archive extraction.

- :func:`download` fetches a URL into a file over HTTP(S) with ``urllib``. Bytes go
  to ``<file>.part``; a later call (or a retry after a dropped connection) continues
  that file with an HTTP ``Range`` request. The finished file is checked against a
  checksum (``md5:<hex>``, ``sha256:<hex>`` or a bare hex digest: 32 digits = md5,
  64 = sha256); a mismatch removes it and fetches it again once, then fails.
- :func:`read_checksum_file` parses ``md5sum``/``sha256sum`` output (``<hex>  <name>``),
  the form corpus mirrors serve beside their archives.
- :func:`extract_tar` unpacks a tarball (``filter="data"``: no absolute paths, links
  out of the tree or device files) into a temporary folder beside the destination and
  moves each new top-level entry into place with one rename, so an interrupted
  extraction never leaves a half-written corpus part behind.

Errors are one-line messages naming what was fetched (``name``) and the URL:
FileNotFoundError for HTTP 404, :class:`DownloadError` (a ValueError) for a server
that cannot be reached or a file whose checksum never matches.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # bytes per read
_ALGORITHMS = {32: "md5", 64: "sha256"}


class DownloadError(ValueError):
    """A download that failed for good: unreachable server, bad checksum, bad reply."""


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``"md5:<hex>"``, ``"sha256:<hex>"`` or a bare hex digest -> ``(algorithm, hex)``."""
    text = checksum.strip().lower()
    if ":" in text:
        algorithm, digest = text.split(":", 1)
    else:
        algorithm, digest = _ALGORITHMS.get(len(text), ""), text
    if algorithm not in ("md5", "sha256") or len(digest) != {"md5": 32, "sha256": 64}[algorithm] \
            or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a checksum: {checksum!r} (want md5:<32 hex> or sha256:<64 hex>)")
    return algorithm, digest


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | Path, checksum: str) -> bool:
    algorithm, expected = parse_checksum(checksum)
    return file_digest(path, algorithm) == expected


def read_checksum_file(text: str, algorithm: str | None = None) -> dict[str, str]:
    """``<hex>  <file name>`` lines (md5sum/sha256sum output) -> ``{name: "algo:hex"}``.

    The algorithm is taken from the digest length unless given. A ``*`` before the
    name (binary mode) and blank or ``#`` lines are ignored.
    """
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"checksum file: expected '<hex>  <name>', got {line!r}")
        digest, name = parts[0].lower(), parts[1].strip().lstrip("*")
        algo = algorithm or _ALGORITHMS.get(len(digest), "")
        result[Path(name).name] = f"{algo}:{digest}"
        parse_checksum(result[Path(name).name])  # validates
    return result


def fetch_text(url: str, timeout: float = 30.0) -> str | None:
    """A small text file (e.g. a checksum list); None when the server says 404."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise DownloadError(f"cannot fetch {url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"cannot reach {url}: {reason}") from None


def _fetch_to_part(url: str, part: Path, name: str, timeout: float) -> bool:
    """Append the rest of ``url`` to ``part`` (Range from its size). True when complete.

    False means the connection ended early (the caller resumes).
    """
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "asr-toolkit"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise FileNotFoundError(f"{name}: not found at {url} (HTTP 404)") from None
        if err.code >= 500:  # server trouble: worth a retry
            raise OSError(f"HTTP {err.code} {err.reason}") from None
        if err.code == 416 and offset:
            # The .part already holds everything (or more): let the checksum decide.
            return True
        raise DownloadError(f"{name}: HTTP {err.code} {err.reason} from {url}") from None
    with resp:
        if offset and resp.status != 206:
            log.info("%s: server ignored the Range request; starting over", name)
            offset = 0
        length = resp.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else None
        received = offset
        with open(part, "ab" if offset else "wb") as out:
            try:
                while block := resp.read(CHUNK):
                    out.write(block)
                    received += len(block)
            except (OSError, http.client.HTTPException) as err:  # IncompleteRead, reset, timeout
                log.warning("%s: transfer interrupted at %d bytes (%s); resuming", name,
                            received, err)
                return False
    return expected is None or received >= expected


def download(url: str, dest: str | Path, checksum: str | None = None, name: str | None = None,
             retries: int = 5, timeout: float = 60.0, backoff: float = 1.0) -> Path:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``) and verify ``checksum``.

    An existing ``dest`` whose checksum matches is kept (no network). A dropped
    connection resumes with a Range request, up to ``retries`` times. A finished file
    with the wrong checksum is deleted and fetched once more from scratch. Returns
    ``dest``.
    """
    dest = Path(dest)
    name = name or dest.name
    if dest.exists():
        if checksum is None or verify_checksum(dest, checksum):
            return dest
        log.warning("%s: %s fails its checksum; fetching it again", name, dest)
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(2):
        failures = 0
        while True:
            try:
                done = _fetch_to_part(url, part, name, timeout)
            except FileNotFoundError:
                raise
            except (OSError, http.client.HTTPException) as err:  # URLError is an OSError
                reason = getattr(err, "reason", err)
                done = False
                if failures >= retries:
                    raise DownloadError(f"{name}: cannot download {url}: {reason}") from None
            if done:
                break
            failures += 1
            if failures > retries:
                raise DownloadError(f"{name}: download of {url} kept breaking off "
                                    f"({retries} retries)")
            time.sleep(backoff * failures)
        if checksum is None or verify_checksum(part, checksum):
            os.replace(part, dest)
            return dest
        algorithm, expected = parse_checksum(checksum)
        got = file_digest(part, algorithm)
        part.unlink()
        if attempt == 0:
            log.warning("%s: %s %s != expected %s; fetching again", name, algorithm, got, expected)
    raise DownloadError(f"{name}: checksum mismatch for {url} after a fresh download "
                        f"({algorithm} {got}, expected {expected})")


def _move_merge(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``: one rename when ``dst`` is new, else merge folders."""
    if not dst.exists():
        os.replace(src, dst)
    elif src.is_dir() and dst.is_dir():
        for child in sorted(src.iterdir()):
            _move_merge(child, dst / child.name)
    else:
        os.replace(src, dst)


def extract_tar(archive: str | Path, dest_dir: str | Path) -> list[Path]:
    """Unpack ``archive`` into ``dest_dir``; returns the top-level entries it holds.

    Extraction happens in a temporary folder inside ``dest_dir`` (same file system);
    each entry is then renamed into place. A folder that already exists is merged
    entry by entry, so e.g. ``LibriSpeech/dev-clean`` from a second archive lands in
    an existing ``LibriSpeech/`` with one rename of the new ``dev-clean`` folder.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=dest_dir) as tmp:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DownloadError(f"{archive}: cannot extract: {err}") from None
        tops = sorted(Path(tmp).iterdir())
        for entry in tops:
            _move_merge(entry, dest_dir / entry.name)
    return [dest_dir / entry.name for entry in tops]


def copy_file(src: str | Path, dest: str | Path) -> Path:
    """Copy a local file (a pre-downloaded archive) atomically to ``dest``."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest
