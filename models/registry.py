"""Architectures by name: ``build_model(arch, width=..., channels=...)``.

Every model maps ``[batch, leads, samples]`` (normalized) to logits ``[batch, classes]``.
``channels`` overrides the width-derived channel list; pruned models are rebuilt that
way, from the channel counts recorded in their model card (``current_channels``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from models.efficient import SeparableResNet, StridedCNN, separable_channels, strided_channels
from models.reference import FCN, ResNet1d, fcn_channels, resnet_channels
from models.seed import (
    InceptionCNN,
    KerasPlainCNN,
    PlainCNN,
    inception_channels,
    keras_cnn_channels,
    student_channels,
    teacher_channels,
)


@dataclass(frozen=True)
class Architecture:
    """A registered family: its module class, default channels per width, and a description."""

    cls: Callable[..., nn.Module]
    channels: Callable[[float], list[int]]
    description: str
    fixed_length: bool = False


ARCHITECTURES: dict[str, Architecture] = {
    "seed-teacher": Architecture(PlainCNN, teacher_channels, "seed study teacher: 4 conv blocks k10, 6.52M params"),
    "seed-student": Architecture(PlainCNN, student_channels, "seed study student: 3 conv blocks k10, 534K params"),
    "plain-cnn": Architecture(PlainCNN, student_channels, "plain CNN family (seed student shape) for width sweeps"),
    "seed-cnn": Architecture(KerasPlainCNN, keras_cnn_channels, "seed study Keras plain CNN, 429,505 params"),
    "seed-inception": Architecture(
        InceptionCNN, inception_channels, "seed study Keras Inception CNN, 4,266,277 params", fixed_length=True
    ),
    "fcn-wang": Architecture(FCN, fcn_channels, "PTB-XL benchmark FCN (Wang et al.), ~0.3M params"),
    "resnet1d-wang": Architecture(ResNet1d, resnet_channels, "PTB-XL benchmark 1-D ResNet (Wang et al.), ~0.5M"),
    "strided-cnn": Architecture(
        StridedCNN, strided_channels, "plain k7 convs, stride-2 stem, pooled blocks: for batch-1 latency, 148K at w1"
    ),
    "sepresnet": Architecture(
        SeparableResNet, separable_channels, "efficient residual depthwise-separable CNN, width 0.25-2.5"
    ),
}


def available() -> list[str]:
    """Registered architecture names."""
    return sorted(ARCHITECTURES)


def architecture(name: str) -> Architecture:
    """Look up an architecture; the error lists the available names."""
    from runtime.errors import UsageError

    if name not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {name!r}; available: {', '.join(available())}")
    return ARCHITECTURES[name]


def build_model(
    arch: str,
    width: float = 1.0,
    in_channels: int = 12,
    num_classes: int = 5,
    channels: Sequence[int] | None = None,
    samples: int = 1000,
) -> nn.Module:
    """Instantiate an architecture with default (width-scaled) or explicit channel counts."""
    entry = architecture(arch)
    chosen = list(channels) if channels is not None else entry.channels(width)
    kwargs: dict[str, Any] = {"in_channels": in_channels, "num_classes": num_classes}
    if entry.fixed_length:
        kwargs["samples"] = samples
    model = entry.cls(chosen, **kwargs)
    model.arch_name = arch  # type: ignore[assignment]
    return model


def current_channels(model: nn.Module) -> list[int]:
    """The channel list that rebuilds ``model`` (read from its layers, so it reflects pruning)."""
    if isinstance(model, InceptionCNN):
        convs = [m for m in model.stem if isinstance(m, nn.Conv1d)]
        branch = [model.branch1[0], model.branch3[0], model.branch3[2], model.branch5[0], model.branch5[2],
                  model.branch_pool[1]]  # fmt: skip
        hidden = [int(m.out_features) for m in model.head if isinstance(m, nn.Linear)]
        return [int(m.out_channels) for m in convs + branch] + hidden
    if isinstance(model, SeparableResNet):
        stem = int(model.stem[0].out_channels)
        stages = [int(block.pointwise[0].out_channels) for block in model.features[::2]]
        return [stem, *stages]
    if isinstance(model, ResNet1d):
        return [int(block.body[i][0].out_channels) for block in model.features for i in range(3)]
    if isinstance(model, FCN | PlainCNN):  # StridedCNN is a PlainCNN
        return [int(block[0].out_channels) for block in model.features]
    if isinstance(model, KerasPlainCNN):
        return [int(m.out_channels) for m in model.features if isinstance(m, nn.Conv1d)]
    raise TypeError(f"no channel reader for {type(model).__name__}")


def count_parameters(model: nn.Module) -> int:
    """Parameters as the seed study counted them (Keras models include BN moving statistics)."""
    total = sum(p.numel() for p in model.parameters())
    if getattr(model, "counts_bn_statistics", False):
        total += sum(2 * m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    return total
