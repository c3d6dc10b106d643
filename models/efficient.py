"""Efficient families for small devices.

``SeparableResNet``: strided stem + residual depthwise-separable blocks.  Depthwise (k7) +
pointwise (1x1) convolutions cost roughly ``1/k`` of a full convolution's MACs; a stride-2
stem and a stride-2 first block per stage shrink the time axis early.  The width multiplier
spans roughly 10K (w=0.25) to 1M (w=2.5) parameters.  Few MACs, but many small nodes, and
depthwise kernels run far below the CPU's peak: at batch 1 it is 6-20x its compute floor.

``StridedCNN``: for batch-1 latency.  Plain convolutions only (onnxruntime fuses each
Conv+BN+ReLU into one kernel that runs near the floor), a stride-2 stem and max-pooling
after every block, so the time axis is 1/32 of the input before global pooling: 4 blocks,
14 nodes as onnxruntime runs them, 148K parameters and 16M MACs at w1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.layers import ConvBlock, GlobalAveragePool, scaled
from models.seed import PlainCNN

BASE_CHANNELS = (32, 48, 96, 160, 256)


class SeparableResidual(nn.Module):
    """Depthwise k7 (stride s) -> pointwise 1x1, with a pooled 1x1 shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.depthwise = ConvBlock(c_in, c_in, 7, padding=3, stride=stride, groups=c_in)
        self.pointwise = ConvBlock(c_in, c_out, 1, relu=False)
        self.shortcut: nn.Module
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.AvgPool1d(stride, ceil_mode=True) if stride > 1 else nn.Identity(),
                nn.Conv1d(c_in, c_out, 1),
                nn.BatchNorm1d(c_out),
            )
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.pointwise(self.depthwise(x)) + self.shortcut(x))


class SeparableResNet(nn.Module):
    counts_bn_statistics = False

    def __init__(
        self, channels: Sequence[int], in_channels: int = 12, num_classes: int = 5, dropout: float = 0.2
    ) -> None:
        super().__init__()
        stem, *stages = channels
        self.stem = ConvBlock(in_channels, stem, 7, padding=3, stride=2)
        blocks: list[nn.Module] = []
        c_in = stem
        for c_out in stages:
            blocks += [SeparableResidual(c_in, c_out, stride=2), SeparableResidual(c_out, c_out, stride=1)]
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.pool = GlobalAveragePool()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(self.stem(x)))))


class StridedCNN(PlainCNN):
    """The plain CNN with k7 'same' convolutions, a stride-2 stem and no dropout inside the blocks."""

    def __init__(
        self, channels: Sequence[int], in_channels: int = 12, num_classes: int = 5, dropout: float = 0.2
    ) -> None:
        super().__init__(channels, in_channels, num_classes, kernel=STRIDED_KERNEL, dropout=dropout,
                         padding=STRIDED_KERNEL // 2, stem_stride=2, block_dropout=False)  # fmt: skip


STRIDED_KERNEL = 7
STRIDED_CHANNELS = (32, 64, 96, 128)


def strided_channels(width: float) -> list[int]:
    return [scaled(width, c, minimum=8) for c in STRIDED_CHANNELS]


def separable_channels(width: float) -> list[int]:
    return [scaled(width, c, minimum=8) for c in BASE_CHANNELS]
