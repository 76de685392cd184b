"""Collate dataset items into a padded batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from asr.training.dataset import Item, Skipped

TARGET_PAD = -1


@dataclass
class Batch:
    """A padded batch.

    feats: (B, T, F) float32, zero-padded past ``feat_lens``.
    feat_lens: (B,) long, frames.
    targets: (B, U) long, padded with -1 past ``target_lens``.
    target_lens: (B,) long, tokens.
    utt_ids: B utterance ids; durations: B durations in seconds (of the audio used).
    skipped: ids of the batch's utterances left out as unreadable.
    """

    feats: torch.Tensor
    feat_lens: torch.Tensor
    targets: torch.Tensor
    target_lens: torch.Tensor
    utt_ids: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.utt_ids)

    @property
    def total_duration(self) -> float:
        """Seconds of audio in the batch (unpadded)."""
        return float(sum(self.durations))

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Batch":
        return Batch(
            self.feats.to(device, non_blocking=non_blocking),
            self.feat_lens.to(device, non_blocking=non_blocking),
            self.targets.to(device, non_blocking=non_blocking),
            self.target_lens.to(device, non_blocking=non_blocking),
            self.utt_ids, self.durations, self.skipped,
        )

    def pin_memory(self) -> "Batch":
        """Called by ``DataLoader(pin_memory=True)``."""
        return Batch(self.feats.pin_memory(), self.feat_lens.pin_memory(),
                     self.targets.pin_memory(), self.target_lens.pin_memory(),
                     self.utt_ids, self.durations, self.skipped)


def collate(items: Sequence[Item | Skipped], pad_to_multiple: int = 1) -> Batch:
    """Pad features with zeros and targets with -1; keep the item order.

    :class:`~asr.training.dataset.Skipped` items are left out and listed in
    ``Batch.skipped``; a batch with nothing else is an error naming them.

    ``pad_to_multiple``: round the padded frame count T up to a multiple of this, so
    that fewer distinct shapes occur (each new shape can cost a cuDNN plan search on a
    GPU, a oneDNN primitive creation for bf16 matmuls on a CPU).
    """
    if not items:
        raise ValueError("cannot collate an empty batch")
    skipped = [it for it in items if isinstance(it, Skipped)]
    items = [it for it in items if not isinstance(it, Skipped)]
    if not items:
        raise ValueError("every utterance of a batch has unusable audio: "
                         + "; ".join(f"{s.utt_id}: {s.reason}" for s in skipped))
    num_bins = items[0].feats.shape[1]
    for item in items:
        if item.feats.ndim != 2 or item.feats.shape[1] != num_bins:
            raise ValueError(
                f"utterance {item.utt_id}: features of shape {tuple(item.feats.shape)}, "
                f"expected (T, {num_bins})"
            )
    feat_lens = torch.tensor([it.feats.shape[0] for it in items], dtype=torch.long)
    target_lens = torch.tensor([len(it.targets) for it in items], dtype=torch.long)
    frames = int(feat_lens.max())
    if pad_to_multiple > 1:
        frames = -(-frames // pad_to_multiple) * pad_to_multiple
    feats = torch.zeros(len(items), frames, num_bins, dtype=torch.float32)
    targets = torch.full((len(items), max(int(target_lens.max()), 1)), TARGET_PAD,
                         dtype=torch.long)
    for i, item in enumerate(items):
        feats[i, : item.feats.shape[0]] = item.feats
        targets[i, : len(item.targets)] = item.targets
    return Batch(feats, feat_lens, targets, target_lens,
                 [it.utt_id for it in items], [it.duration for it in items],
                 [s.utt_id for s in skipped])
