"""Training data in memory: int16 signals of the needed splits, converted to mV per batch.

Keeping int16 halves memory (PTB-XL's training split is ~400 MB this way); per-lead
normalization statistics come from the training split only and end up inside the
exported graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from runtime.dataset.cache import PreparedDataset
from runtime.leads import STANDARD_LEADS


@dataclass
class SplitArrays:
    """One split's records as stored, plus labels."""

    signals: np.ndarray  # int16 [n, leads, samples]
    gain: np.ndarray  # float32 [n, leads]
    baseline: np.ndarray  # float32 [n, leads]
    labels: np.ndarray  # float32 [n, classes]
    indices: np.ndarray  # positions in the prepared dataset

    def __len__(self) -> int:
        return len(self.labels)

    def millivolts(self, rows: np.ndarray | slice) -> torch.Tensor:
        """Rows as float32 mV tensors ``[n, leads, samples]``."""
        digital = torch.from_numpy(np.asarray(self.signals[rows], dtype=np.float32))
        baseline = torch.from_numpy(np.asarray(self.baseline[rows]))[..., None]
        gain = torch.from_numpy(np.asarray(self.gain[rows]))[..., None]
        return (digital - baseline) / gain


def load_split(
    dataset: PreparedDataset,
    split: str,
    leads: tuple[str, ...] = STANDARD_LEADS,
    limit: int | None = None,
    seed: int = 0,
) -> SplitArrays:
    """Read a split into memory, keeping only ``leads`` (in that order); ``limit`` subsamples (seeded)."""
    indices = dataset.sample(split, limit, seed, salt=11)
    lead_index = [dataset.leads.index(lead) for lead in leads]
    return SplitArrays(
        signals=np.ascontiguousarray(np.asarray(dataset.signals[indices])[:, lead_index]),
        gain=np.asarray(dataset.gain[indices])[:, lead_index],
        baseline=np.asarray(dataset.baseline[indices])[:, lead_index],
        labels=np.asarray(dataset.labels[indices], dtype=np.float32),
        indices=indices,
    )


def lead_statistics(split: SplitArrays, max_records: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead mean and standard deviation (mV) over (a sample of) the training split."""
    rows = np.arange(min(len(split), max_records))
    x = split.millivolts(rows).double()
    mean = x.mean(dim=(0, 2))
    std = x.std(dim=(0, 2)).clamp_min(1e-3)
    return mean.float().numpy(), std.float().numpy()


def augment(
    x: torch.Tensor, generator: torch.Generator, max_shift: int = 50, scale: float = 0.15, noise_mv: float = 0.02
) -> torch.Tensor:
    """Random circular time shift, per-record amplitude scaling and Gaussian noise (seeded)."""
    n = x.shape[0]
    shifts = torch.randint(-max_shift, max_shift + 1, (n,), generator=generator)
    shifted = torch.stack([torch.roll(x[i], int(shifts[i]), dims=-1) for i in range(n)])
    gains = 1.0 + (torch.rand((n, 1, 1), generator=generator) * 2 - 1) * scale
    return shifted * gains + torch.randn(shifted.shape, generator=generator) * noise_mv


def random_crop(x: torch.Tensor, samples: int, generator: torch.Generator) -> torch.Tensor:
    """A random window of ``samples`` from each record (seeded): the PTB-XL benchmark's training crops.

    Networks that pool globally then see many shifted views of every record, which regularizes a
    large model on 17K records far better than epochs over the same whole records; they are
    validated and exported on whole records.
    """
    length = x.shape[-1]
    if samples >= length:
        return x
    starts = torch.randint(0, length - samples + 1, (x.shape[0],), generator=generator)
    index = (starts[:, None] + torch.arange(samples)[None, :])[:, None, :].expand(-1, x.shape[1], -1)
    return torch.gather(x, 2, index)
