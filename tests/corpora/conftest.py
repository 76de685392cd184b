"""A local HTTP server (127.0.0.1, a thread) standing in for a corpus mirror.

It serves a temporary folder with HTTP Range support, records every request's path
and Range header, and can misbehave on purpose: ``server.cut[name] = n`` sends only
the first ``n`` bytes of the next response for ``name`` and drops the connection;
``server.corrupt[name] = k`` serves flipped bytes for the next ``k`` responses.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

LIBRISPEECH_TEXT = Path(__file__).resolve().parents[2] / "corpora" / "librispeech-text"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server = self.server
        name = self.path.lstrip("/")
        server.requests.append((name, self.headers.get("Range")))
        path = server.root / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if server.corrupt.get(name, 0) > 0:
            server.corrupt[name] -= 1
            data = bytes(b ^ 0xFF for b in data)
        start = 0
        byte_range = self.headers.get("Range")
        if byte_range:
            start = int(byte_range.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        cut = server.cut.pop(name, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class MirrorServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.cut: dict[str, int] = {}
        self.corrupt: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def mirror(tmp_path):
    """A started :class:`MirrorServer` over ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    server = MirrorServer(root)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def librispeech_text() -> Path:
    """Real LibriSpeech metadata and dev-clean transcripts (no audio), in the repository."""
    if not (LIBRISPEECH_TEXT / "SPEAKERS.TXT").is_file():
        pytest.skip(f"LibriSpeech text fixture not found at {LIBRISPEECH_TEXT}")
    return LIBRISPEECH_TEXT
