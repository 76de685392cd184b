"""Kaldi-compatible acoustic features: fbank, MFCC, deltas, splicing, CMVN, storage.

- :mod:`asr.features.functional`: stateless torch functions (every option explicit).
- :mod:`asr.features.modules`: ``Fbank`` / ``Mfcc`` modules and their dataclass configs.
- :mod:`asr.features.storage`: feature shards + ``feats.scp`` index, CMVN stats files.
- :mod:`asr.features.extract`: ``extract_shard``, the per-job worker of ``asr compute-feats``.
"""

from asr.features.functional import (apply_cmvn, cmvn_stats, compute_deltas, fbank, mfcc,
                                     num_frames, splice)
from asr.features.modules import (Fbank, FbankConfig, Mfcc, MfccConfig, config_from_dict,
                                  load_feature_config, make_extractor)

__all__ = [
    "Fbank", "FbankConfig", "Mfcc", "MfccConfig", "apply_cmvn", "cmvn_stats",
    "compute_deltas", "config_from_dict", "fbank", "load_feature_config", "make_extractor",
    "mfcc", "num_frames", "splice",
]
