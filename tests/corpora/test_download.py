"""Resumable, checksummed downloads against a local HTTP server; atomic extraction."""

from __future__ import annotations

import hashlib
import io
import random
import socket
import tarfile

import pytest

from asr.corpora import download as dl

PAYLOAD = bytes(range(256)) * 4000  # 1 MB, not one CHUNK's multiple


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def serve(mirror, name: str = "part.tar.gz", data: bytes = PAYLOAD) -> str:
    (mirror.root / name).write_bytes(data)
    return f"{mirror.url}/{name}"


def test_full_download_then_cached(mirror, tmp_path):
    url = serve(mirror)
    dest = tmp_path / "dl" / "part.tar.gz"
    assert dl.download(url, dest, md5(PAYLOAD)) == dest
    assert dest.read_bytes() == PAYLOAD and not dest.with_name("part.tar.gz.part").exists()
    assert mirror.requests == [("part.tar.gz", None)]
    dl.download(url, dest, md5(PAYLOAD))  # verified copy on disk: no request
    assert len(mirror.requests) == 1


def test_interrupted_transfer_resumes_with_range(mirror, tmp_path):
    url = serve(mirror)
    mirror.cut["part.tar.gz"] = 300_000  # the first response breaks off here
    dest = tmp_path / "part.tar.gz"
    dl.download(url, dest, "sha256:" + hashlib.sha256(PAYLOAD).hexdigest(), backoff=0)
    assert dest.read_bytes() == PAYLOAD
    assert mirror.requests == [("part.tar.gz", None), ("part.tar.gz", "bytes=300000-")]


def test_leftover_part_file_is_continued(mirror, tmp_path):
    url = serve(mirror)
    dest = tmp_path / "part.tar.gz"
    dest.with_name("part.tar.gz.part").write_bytes(PAYLOAD[:123_456])
    dl.download(url, dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert mirror.requests == [("part.tar.gz", "bytes=123456-")]


def test_complete_part_file_gets_416_and_is_kept(mirror, tmp_path):
    url = serve(mirror)
    dest = tmp_path / "part.tar.gz"
    dest.with_name("part.tar.gz.part").write_bytes(PAYLOAD)
    dl.download(url, dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and len(mirror.requests) == 1


def test_corrupt_file_on_disk_is_fetched_again(mirror, tmp_path):
    url = serve(mirror)
    dest = tmp_path / "part.tar.gz"
    dest.write_bytes(PAYLOAD[:-1] + b"\0")
    dl.download(url, dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and mirror.requests == [("part.tar.gz", None)]


def test_corrupt_transfer_is_fetched_again_then_fails(mirror, tmp_path):
    url = serve(mirror)
    mirror.corrupt["part.tar.gz"] = 1
    dest = tmp_path / "part.tar.gz"
    dl.download(url, dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and len(mirror.requests) == 2
    dest.unlink()
    mirror.corrupt["part.tar.gz"] = 2
    with pytest.raises(dl.DownloadError, match="checksum mismatch.*part.tar.gz"):
        dl.download(url, dest, md5(PAYLOAD))
    assert not dest.exists() and not dest.with_name("part.tar.gz.part").exists()


def test_missing_file_names_part_and_url(mirror, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"LibriSpeech dev-other: not found at "
                                                f"{mirror.url}/dev-other.tar.gz"):
        dl.download(f"{mirror.url}/dev-other.tar.gz", tmp_path / "x", None,
                    name="LibriSpeech dev-other")


def test_unreachable_server_names_url(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/test-clean.tar.gz"
    with pytest.raises(dl.DownloadError, match=f"test-clean: cannot download {url}"):
        dl.download(url, tmp_path / "t.tar.gz", None, name="test-clean", retries=1, backoff=0)


def test_checksum_parsing():
    assert dl.parse_checksum("42E2234BA48799C1F50F24A7926300A1") == (
        "md5", "42e2234ba48799c1f50f24a7926300a1")
    assert dl.parse_checksum("sha256:" + "ab" * 32)[0] == "sha256"
    for bad in ("md5:1234", "crc:00", "zz" * 16):
        with pytest.raises(ValueError, match="not a checksum"):
            dl.parse_checksum(bad)
    table = dl.read_checksum_file(f"{'a' * 32}  dev-clean.tar.gz\n\n{'b' * 64} *x/lm.gz\n")
    assert table == {"dev-clean.tar.gz": "md5:" + "a" * 32, "lm.gz": "sha256:" + "b" * 64}


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_extract_merges_parts_into_one_tree(tmp_path):
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    first.write_bytes(_tar({"LibriSpeech/SPEAKERS.TXT": b"s", "LibriSpeech/dev-clean/1/2/x": b"1"}))
    second.write_bytes(_tar({"LibriSpeech/SPEAKERS.TXT": b"s",
                             "LibriSpeech/test-clean/3/4/y": b"2"}))
    out = tmp_path / "out"
    assert dl.extract_tar(first, out) == [out / "LibriSpeech"]
    dl.extract_tar(second, out)
    assert (out / "LibriSpeech/dev-clean/1/2/x").read_bytes() == b"1"
    assert (out / "LibriSpeech/test-clean/3/4/y").read_bytes() == b"2"
    assert sorted(p.name for p in out.iterdir()) == ["LibriSpeech"]  # no temp folder left


def test_extract_refuses_unsafe_and_broken_archives(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(_tar({"../outside": b"x"}))
    out = tmp_path / "out"
    with pytest.raises(dl.DownloadError, match="evil.tar.gz: cannot extract"):
        dl.extract_tar(evil, out)
    broken = tmp_path / "broken.tar.gz"
    noise = random.Random(0).randbytes(20_000)  # incompressible: the cut lands mid-file
    broken.write_bytes(_tar({"LibriSpeech/dev-clean/a": noise})[:5_000])
    with pytest.raises(dl.DownloadError, match="broken.tar.gz: cannot extract"):
        dl.extract_tar(broken, out)
    assert not (tmp_path / "outside").exists() and list(out.iterdir()) == []


def test_server_errors_are_retried_then_reported(mirror, tmp_path, monkeypatch):
    url = serve(mirror)
    calls = []
    real_urlopen = dl.urllib.request.urlopen

    def flaky(request, timeout):
        calls.append(request.full_url)
        if len(calls) == 1:
            raise dl.urllib.error.HTTPError(request.full_url, 503, "Busy", {}, None)
        return real_urlopen(request, timeout=timeout)

    monkeypatch.setattr(dl.urllib.request, "urlopen", flaky)
    dl.download(url, tmp_path / "a", md5(PAYLOAD), backoff=0)
    assert (tmp_path / "a").read_bytes() == PAYLOAD and len(calls) == 2
    def always_busy(request, timeout):
        raise dl.urllib.error.HTTPError(request.full_url, 503, "Busy", {}, None)

    monkeypatch.setattr(dl.urllib.request, "urlopen", always_busy)
    with pytest.raises(dl.DownloadError, match=f"x: cannot download {url}: HTTP 503 Busy"):
        dl.download(url, tmp_path / "b", None, name="x", retries=2, backoff=0)
