"""The PTB-XL benchmark's reference designs, re-implemented from their published descriptions.

* ``fcn-wang``: Wang et al.'s fully convolutional network (conv 128/k8, 256/k5, 128/k3,
  each BN + ReLU), concat pooling head.
* ``resnet1d-wang``: Wang et al.'s 1-D ResNet (three residual blocks of three convs with
  kernels 8/5/3; 64, 128, 128 channels), concat pooling head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.layers import ConcatPool, ConvBlock, scaled


class FCN(nn.Module):
    counts_bn_statistics = False

    def __init__(
        self, channels: Sequence[int], in_channels: int = 12, num_classes: int = 5, dropout: float = 0.25
    ) -> None:
        super().__init__()
        kernels = (8, 5, 3)
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out, kernel in zip(channels, kernels, strict=True):
            layers.append(ConvBlock(c_in, c_out, kernel, padding="same"))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = ConcatPool()
        self.head = nn.Sequential(nn.BatchNorm1d(2 * c_in), nn.Dropout(dropout))
        self.classifier = nn.Linear(2 * c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.pool(self.features(x))))


class ResidualBlock(nn.Module):
    """Three convs (k8, k5, k3) with a 1x1-conv shortcut when the width changes."""

    def __init__(self, c_in: int, mid1: int, mid2: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBlock(c_in, mid1, 8, padding="same"),
            ConvBlock(mid1, mid2, 5, padding="same"),
            ConvBlock(mid2, c_out, 3, padding="same", relu=False),
        )
        self.shortcut: nn.Module = (
            nn.Sequential(nn.Conv1d(c_in, c_out, 1), nn.BatchNorm1d(c_out)) if c_in != c_out else nn.Identity()
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet1d(nn.Module):
    counts_bn_statistics = False

    def __init__(
        self, channels: Sequence[int], in_channels: int = 12, num_classes: int = 5, dropout: float = 0.25
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = in_channels
        for start in range(0, len(channels), 3):
            mid1, mid2, c_out = channels[start : start + 3]
            blocks.append(ResidualBlock(c_in, mid1, mid2, c_out))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.pool = ConcatPool()
        self.head = nn.Sequential(nn.BatchNorm1d(2 * c_in), nn.Dropout(dropout))
        self.classifier = nn.Linear(2 * c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.pool(self.features(x))))


def fcn_channels(width: float) -> list[int]:
    return [scaled(width, c) for c in (128, 256, 128)]


def resnet_channels(width: float) -> list[int]:
    return [scaled(width, c) for c in (64, 64, 64, 128, 128, 128, 128, 128, 128)]
