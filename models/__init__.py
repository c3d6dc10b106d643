"""Torch ``nn.Module`` ECG architectures and their registry (``build_model``, ``available``)."""

from models.registry import ARCHITECTURES, available, build_model, count_parameters, current_channels

__all__ = ["ARCHITECTURES", "available", "build_model", "count_parameters", "current_channels"]
