"""Kaldi-style data dirs: typed read/write, validation, subsets, splits."""

from asr.data.datadir import DataDir, DataDirError, Segment, combine, compute_durations

__all__ = ["DataDir", "DataDirError", "Segment", "combine", "compute_durations"]
