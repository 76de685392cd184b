"""Features for a whole data dir, in parallel jobs: what ``asr compute-feats`` runs.

``compute_datadir_features(src, dst, config, ...)`` writes ``dst`` as a complete data
dir (a copy of ``src``'s files) plus:

- ``dst/feats/raw_<type>.<run>.<job>.bin``: one feature shard per job (older runs'
  shards, and temporary shards a killed run left, are removed once the new index is
  in place);
- ``dst/feats.scp``: the index (absolute shard paths);
- ``dst/cmvn.npz``: CMVN statistics (per speaker, per utterance, or one ``global`` row);
- ``dst/conf/feats.yaml``: the resolved feature config.

Each job (``asr compute-feats-job``) reads one part of ``src`` (``dst/split<N>/<job>``),
writes its shard and a partial index, a ``failed`` list of utterances whose audio
could not be read (each logged with the reason), and a ``progress`` count that the
parent turns into one progress bar. More than ``max_failed_fraction`` failures fail
the stage; fewer are dropped from ``dst`` with a warning naming them.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from pathlib import Path

from asr.audio import AudioError, load_audio
from asr.config import save_config
from asr.data import DataDir, DataDirError
from asr.features.modules import FeatureConfig, load_feature_config
from asr.features.storage import (FeatureReader, accumulate_cmvn, read_index, save_cmvn,
                                  write_index)
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

CMVN_MODES = ("speaker", "utterance", "global", "none")


def run_feature_job(part_dir: str | Path, config_path: str | Path, shard_path: str | Path,
                    dtype: str = "float32") -> None:
    """One job: features of the utterances in ``part_dir`` into ``shard_path``.

    Writes ``part_dir/feats.scp`` (partial index), ``part_dir/failed`` and updates
    ``part_dir/progress`` (utterances done) as it goes.
    """
    from asr.features.extract import extract_shard

    part_dir = Path(part_dir)
    part = DataDir.load(part_dir)
    config = load_feature_config(config_path)
    failed: list[str] = []
    progress = part_dir / "progress"

    def items():
        for done, utt in enumerate(part.utterances, 1):
            entry, start, end = part.wav_entry(utt)
            try:
                wave = load_audio(entry, config.sample_rate, start=start, end=end)
            except (AudioError, FileNotFoundError) as err:
                log.warning("utterance %s skipped: %s", utt, err)
                failed.append(utt)
                continue
            finally:
                if done % 20 == 0 or done == len(part):
                    progress.write_text(str(done))
            yield utt, wave, config.sample_rate

    entries = extract_shard(items(), config, shard_path, dtype=dtype)
    stored = {e.utt for e in entries}
    failed.extend(u for u in part.utterances if u not in stored and u not in failed)
    write_index(part_dir / "feats.scp", entries)
    atomic_write_text(part_dir / "failed", "".join(f"{u}\n" for u in failed))
    log.info("%d utterances -> %s (%d failed)", len(entries), shard_path, len(failed))


def _run_logged(log_path: Path, function, *args) -> None:
    """Call ``function(*args)`` with this package's log records copied to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger = logging.getLogger("asr")
    previous_level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    try:
        function(*args)
    except Exception as err:
        # The traceback goes to the job log only (through the handler, so that a write
        # error there, e.g. on a full disk, cannot hide this one); the caller reports.
        handler.handle(log.makeRecord(log.name, logging.ERROR, __file__, 0, "job failed",
                                      (), sys.exc_info()))
        log.error("job failed (%s); traceback in %s", err, log_path)
        raise
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)
        handler.close()


def _show_progress(parts: list[Path], total: int, stop: threading.Event) -> None:
    from tqdm import tqdm

    with tqdm(total=total, desc="features", unit="utt", file=sys.stderr,
              disable=None) as bar:
        while True:
            done = 0
            for part in parts:
                try:
                    done += int((part / "progress").read_text() or 0)
                except (FileNotFoundError, ValueError):
                    pass
            bar.update(done - bar.n)
            if stop.wait(0.5):
                break


def compute_datadir_features(src: str | Path, dst: str | Path, config: FeatureConfig, *,
                             num_jobs: int = 1, cmd: str = "local", log_dir: str | Path | None = None,
                             cmvn: str = "speaker", dtype: str = "float32",
                             max_failed_fraction: float = 0.01) -> DataDir:
    """Compute features for data dir ``src`` into data dir ``dst`` (see module doc)."""
    from asr.parallel import parse_cmd

    if cmvn not in CMVN_MODES:
        raise ValueError(f"cmvn must be one of {CMVN_MODES}, got {cmvn!r}")
    src, dst = Path(src), Path(dst).resolve()
    data = DataDir.load(src)
    data.validate(name=str(src), require_text=False)
    num_jobs = max(1, min(num_jobs, len(data)))
    log_dir = Path(log_dir) if log_dir else dst / "log"
    feat_type = config.type
    config_path = dst / "conf" / "feats.yaml"
    save_config(config, config_path)

    split_root = dst / f"split{num_jobs}utt"
    if split_root.exists():
        shutil.rmtree(split_root)
    parts = []
    for job, part in enumerate(data.split(num_jobs, per_utt=True), 1):
        part.feats_scp = None
        part.save(split_root / str(job))
        parts.append(split_root / str(job))
    # New shard names per run: an index written by an earlier run keeps pointing at
    # intact shards until this run's index replaces it.
    run_tag = time.strftime("%Y%m%d-%H%M%S")
    shard_pattern = dst / "feats" / f"raw_{feat_type}.{run_tag}.JOB.bin"
    command = [sys.executable, "-m", "asr.bin.main", "compute-feats-job",
               str(split_root / "JOB"), str(config_path), str(shard_pattern), "--dtype", dtype]
    stop = threading.Event()
    watcher = threading.Thread(target=_show_progress, args=(parts, len(data), stop), daemon=True)
    watcher.start()
    try:
        if num_jobs == 1 and cmd.strip() == "local":
            # One local job runs in this process (no interpreter start-up), logging
            # to the same per-job log file as a subprocess would.
            _run_logged(log_dir / "feats.1.log", run_feature_job, parts[0], config_path,
                        str(shard_pattern).replace("JOB", "1"), dtype)
        else:
            parse_cmd(cmd).run(command, num_jobs, str(log_dir / "feats.JOB.log"))
    finally:
        stop.set()
        watcher.join()

    entries, failed = [], []
    for part in parts:
        entries.extend(read_index(part / "feats.scp"))
        failed.extend((part / "failed").read_text().split())
    if failed:
        fraction = len(failed) / len(data)
        shown = ", ".join(failed[:5]) + (" ..." if len(failed) > 5 else "")
        message = (f"{len(failed)} of {len(data)} utterances have no features ({shown}); "
                   f"reasons in {log_dir}/feats.*.log")
        if fraction > max_failed_fraction:
            raise DataDirError(message + f"; more than {max_failed_fraction:.1%}: stopping")
        log.warning("%s; dropped from %s", message, dst)
        data = data.exclude(failed)
    entries.sort(key=lambda e: e.utt)
    write_index(dst / "feats.scp", entries)
    data.feats_scp = {e.utt: e.value for e in entries}
    data.save(dst)

    in_use = {Path(e.path).name for e in entries}
    for old in (dst / "feats").glob("raw_*.bin"):
        if old.name not in in_use:
            old.unlink()
    # Temporary shards of a killed earlier run (this run's jobs are over: any left is stale).
    for stale in (dst / "feats").glob(".raw_*.tmp"):
        stale.unlink(missing_ok=True)

    if cmvn != "none":
        reader = FeatureReader(dst / "feats.scp")
        groups = {"speaker": data.utt2spk, "utterance": {u: u for u in data.utterances},
                  "global": None}[cmvn]
        stats = accumulate_cmvn(reader, groups)
        save_cmvn(dst / "cmvn.npz", stats)
    elif (dst / "cmvn.npz").exists():
        (dst / "cmvn.npz").unlink()
    shutil.rmtree(split_root)
    log.info("%s: %d utterances of %s features (dim %d), cmvn %s", dst, len(entries), feat_type,
             entries[0].dim if entries else 0, cmvn)
    return data


def load_config_for(feature: str, config_path: str | None, overrides: list[str] | None):
    """The feature config: ``conf`` YAML (its ``type`` must agree) or defaults."""
    config = load_feature_config(config_path, kind=feature, overrides=overrides)
    if config.type != feature:
        raise ValueError(f"{config_path}: type {config.type!r} but --feature {feature!r}")
    return config


def open_features(data_dir: str | Path, apply_cmvn: bool = True,
                  norm_vars: bool = False) -> FeatureReader:
    """A reader of a data dir's features, CMVN applied from its ``cmvn.npz``.

    The stats' keys say how they apply: one ``global`` row, per speaker (through
    ``utt2spk``) or per utterance.
    """
    from asr.features.storage import load_cmvn

    data_dir = Path(data_dir)
    index = data_dir / "feats.scp"
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: run `asr compute-feats` for {data_dir}")
    stats_path = data_dir / "cmvn.npz"
    if not apply_cmvn or not stats_path.exists():
        return FeatureReader(index)
    stats = load_cmvn(stats_path)
    if stats.is_global:
        return FeatureReader(index, cmvn=stats, norm_vars=norm_vars)
    data = DataDir.load(data_dir)
    keys = set(stats.keys)
    if keys >= set(data.speakers):
        mapping = data.utt2spk
    elif keys >= set(data.utterances):
        mapping = {u: u for u in data.utterances}
    else:
        raise ValueError(f"{stats_path}: statistics cover neither every speaker nor every "
                         f"utterance of {data_dir}; rerun `asr compute-feats`")
    return FeatureReader(index, cmvn=stats, utt2spk=mapping, norm_vars=norm_vars)
