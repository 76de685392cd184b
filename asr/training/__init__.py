"""Training for the end-to-end models.

- :mod:`~asr.training.dataset`: utterances -> features ``(T, F)`` + token ids (precomputed
  or on the fly from audio with speed perturbation), global CMVN;
- :mod:`~asr.training.sampler`: duration-bucketing batch sampler (DDP-aware, resumable);
- :mod:`~asr.training.collate`: padding into a :class:`~asr.training.collate.Batch`;
- :mod:`~asr.training.trainer`: :class:`Trainer` / :class:`TrainerConfig`;
- :mod:`~asr.training.checkpoint`, :mod:`~asr.training.averaging`: checkpoint files,
  retention, exact resume, model averaging;
- :mod:`~asr.training.schedulers`, :mod:`~asr.training.logging`,
  :mod:`~asr.training.distributed` (torchrun);
- :mod:`~asr.training.experiment`: ``train(config, train_dir, valid_dir, exp_dir)``, the
  function behind ``asr train``.
"""
