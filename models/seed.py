"""The seed study's four networks, rebuilt from its layer tables with the same parameter counts.

Keras counts BatchNorm's moving mean and variance as (non-trainable) parameters; the two
Keras-origin models set ``counts_bn_statistics`` so ``count_parameters`` reports the same
figure the study did (429,505 and 4,266,277).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.layers import ConvBlock, GlobalAveragePool, scaled


class PlainCNN(nn.Module):
    """Conv -> BN -> ReLU -> MaxPool -> Dropout blocks, global average pooling, linear head.

    With widths 100/250/500/1000 it is the seed teacher (6.52M), with 50/150/300 the seed
    student (534K).  Kernel 10, valid padding, as in the study.
    """

    counts_bn_statistics = False

    def __init__(
        self,
        channels: Sequence[int],
        in_channels: int = 12,
        num_classes: int = 5,
        kernel: int = 10,
        dropout: float = 0.2,
        padding: int = 0,
        stem_stride: int = 1,
        block_dropout: bool = True,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = in_channels
        for index, c_out in enumerate(channels):
            inner = block_dropout and index < len(channels) - 1
            blocks.append(ConvBlock(c_in, c_out, kernel, padding=padding, stride=stem_stride if index == 0 else 1,
                                    pool=2, dropout=dropout if inner else 0.0))  # fmt: skip
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.pool = GlobalAveragePool()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(x))))


class KerasPlainCNN(nn.Module):
    """The study's Keras plain CNN: four convs without BatchNorm (k5, k10, k5, k10), GAP, dense."""

    counts_bn_statistics = True

    def __init__(
        self, channels: Sequence[int], in_channels: int = 12, num_classes: int = 5, dropout: float = 0.2
    ) -> None:
        super().__init__()
        kernels = (5, 10, 5, 10)
        layers: list[nn.Module] = []
        c_in = in_channels
        for index, (c_out, kernel) in enumerate(zip(channels, kernels, strict=True)):
            layers += [nn.Conv1d(c_in, c_out, kernel), nn.ReLU(), nn.MaxPool1d(2)]
            if index == 1:
                layers.append(nn.Dropout(dropout))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = GlobalAveragePool()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(x))))


class InceptionCNN(nn.Module):
    """The study's Inception CNN: four conv stages, one four-branch Inception block, flatten, dense.

    The flatten makes it fixed-length (1,000 samples at 100 Hz -> 125 steps).
    """

    counts_bn_statistics = True

    def __init__(
        self,
        channels: Sequence[int],
        in_channels: int = 12,
        num_classes: int = 5,
        samples: int = 1000,
    ) -> None:
        super().__init__()
        c1, c2, c3, c4, b1, b2a, b2b, b3a, b3b, b4, hidden1, hidden2 = channels
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, c1, 7, padding="same"), nn.ReLU(), nn.BatchNorm1d(c1),
            nn.Conv1d(c1, c2, 5, padding="same"), nn.ReLU(), nn.MaxPool1d(2), nn.BatchNorm1d(c2),
            nn.Conv1d(c2, c3, 7, padding="same"), nn.ReLU(), nn.MaxPool1d(2), nn.BatchNorm1d(c3),
            nn.Conv1d(c3, c4, 5, padding="same"), nn.ReLU(), nn.MaxPool1d(2), nn.BatchNorm1d(c4),
        )  # fmt: skip
        self.branch1 = nn.Sequential(nn.Conv1d(c4, b1, 1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv1d(c4, b2a, 1), nn.ReLU(), nn.Conv1d(b2a, b2b, 3, padding=1), nn.ReLU())
        self.branch5 = nn.Sequential(nn.Conv1d(c4, b3a, 1), nn.ReLU(), nn.Conv1d(b3a, b3b, 5, padding=2), nn.ReLU())
        self.branch_pool = nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(c4, b4, 1), nn.ReLU())
        steps = samples // 8
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear((b1 + b2b + b3b + b4) * steps, hidden1), nn.ReLU(), nn.BatchNorm1d(hidden1),
            nn.Linear(hidden1, hidden2), nn.ReLU(), nn.BatchNorm1d(hidden2),
        )  # fmt: skip
        self.classifier = nn.Linear(hidden2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)
        return self.classifier(self.head(x))


def teacher_channels(width: float) -> list[int]:
    return [scaled(width, c) for c in (100, 250, 500, 1000)]


def student_channels(width: float) -> list[int]:
    return [scaled(width, c) for c in (50, 150, 300)]


def keras_cnn_channels(width: float) -> list[int]:
    return [scaled(width, c, multiple=2) for c in (50, 100, 150, 200)]


def inception_channels(width: float) -> list[int]:
    return [scaled(width, c) for c in (32, 128, 64, 64, 64, 64, 64, 64, 64, 64, 128, 128)]
