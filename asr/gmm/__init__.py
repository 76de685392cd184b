"""Diagonal-covariance GMM-HMM acoustic models, in batched torch (CPU or CUDA).

- :mod:`asr.gmm.diag_gmm`: stacked per-pdf GMMs, log-likelihoods, EM, mixture splitting.
- :mod:`asr.gmm.am`: ``AcousticModel`` (transition model + GMMs), file format, save/load.
- :mod:`asr.gmm.align`: per-utterance linear HMMs with optional silence, batched Viterbi
  forced alignment, equal (flat-start) alignment.
- :mod:`asr.gmm.feats`: MFCC + CMVN + deltas front end.
- :mod:`asr.gmm.train_mono`: flat-start monophone training
  (``python -m asr.gmm.train_mono --data D --lexicon L --out EXP``).
- :mod:`asr.gmm.tree`: phonetic decision tree (tree statistics, phone-set questions by
  clustering, greedy growing + merging; ``ContextDependency``).
- :mod:`asr.gmm.align_cd`: context-dependent (triphone) alignment graphs.
- :mod:`asr.gmm.train_tri`: tree-tied triphone training from a previous model's
  alignments (``python -m asr.gmm.train_tri --data D --lexicon L --ali-dir exp/mono --out EXP``).
"""
