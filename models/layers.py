"""Building blocks shared by the architectures."""

from __future__ import annotations

import torch
from torch import nn


class ConvBlock(nn.Sequential):
    """Conv1d -> BatchNorm1d -> ReLU (optionally followed by max-pooling and dropout)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        padding: int | str = 0,
        stride: int = 1,
        pool: int = 0,
        dropout: float = 0.0,
        groups: int = 1,
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups),
            nn.BatchNorm1d(c_out),
        ]
        if relu:
            layers.append(nn.ReLU())
        if pool:
            layers.append(nn.MaxPool1d(pool))
        if dropout:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class ConcatPool(nn.Module):
    """Global average and max pooling concatenated (the PTB-XL benchmark's head input).

    Exported as ONNX GlobalAveragePool / GlobalMaxPool, which every runtime supports.
    """

    def __init__(self) -> None:
        super().__init__()
        self.avg = nn.AdaptiveAvgPool1d(1)
        self.max = nn.AdaptiveMaxPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.flatten(self.avg(x), 1), torch.flatten(self.max(x), 1)], dim=1)


class GlobalAveragePool(nn.Module):
    """Mean over time (ONNX GlobalAveragePool): makes a network independent of the input length."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(x), 1)


def scaled(width: float, base: int, minimum: int = 4, multiple: int = 4) -> int:
    """A channel count scaled by a width multiplier, rounded to a SIMD-friendly multiple.

    Width 1.0 keeps the published count exactly (the seed networks' parameter counts).
    """
    if width == 1.0:
        return base
    return max(minimum, round(base * width / multiple) * multiple)
