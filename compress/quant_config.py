"""What to quantize, as a typed config that checks itself, with presets for common targets.

Presets (the reason for each); ``auto`` (the default) picks one for the machine it runs on:

* ``x86-vnni``: int8 activations and weights, symmetric, per-channel weights.
  VNNI/AMX multiply s8 x s8 at full range, so no ``reduce_range`` is needed.
* ``avx2``: x86 without VNNI: ``u8`` activations and ``reduce_range`` (7-bit weights), because
  AVX2's ``vpmaddubsw`` saturates its 16-bit intermediate sums with full 8-bit ranges.
* ``arm64``: Raspberry Pi 4/5 and other ARMv8: s8/s8 per-channel; the dot-product
  instructions (Pi 5) take s8, and without them (Pi 4) onnxruntime widens to 16 bits
  anyway, so full range is safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from runtime.errors import UsageError

CALIBRATE_METHODS = ("minmax", "entropy", "percentile")
ACTIVATION_TYPES = ("int8", "uint8")


@dataclass(frozen=True)
class QuantizationConfig:
    """Static int8 quantization in QDQ format."""

    preset: str = "x86-vnni"
    activations: str = "int8"
    weights: str = "int8"
    per_channel: bool = True
    reduce_range: bool = False
    # percentile: a smaller validation-AUC drop than minmax for 5 of 6 models measured on real
    # PTB-XL and the synthetic default (a tie on the sixth); docs/real-ptbxl.md
    calibrate_method: str = "percentile"
    calib_samples: int = 512
    nodes_to_exclude: tuple[str, ...] = field(default_factory=tuple)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.calibrate_method not in CALIBRATE_METHODS:
            raise UsageError(
                f"--calibrate-method must be one of {', '.join(CALIBRATE_METHODS)}, got {self.calibrate_method!r}"
            )
        if self.activations not in ACTIVATION_TYPES or self.weights not in ACTIVATION_TYPES:
            raise UsageError(f"--activations must be one of {', '.join(ACTIVATION_TYPES)}")
        if self.calib_samples < 1:
            raise UsageError(f"--calib-samples must be at least 1, got {self.calib_samples}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes_to_exclude"] = list(self.nodes_to_exclude)
        return data

    def with_changes(self, **changes: Any) -> QuantizationConfig:
        return replace(self, **changes)


def auto_preset() -> str:
    """The preset for this machine: x86 with VNNI -> x86-vnni, other x86 -> avx2, ARM -> arm64.

    Measured here (x86 AVX2 without VNNI): s8/s8 files lose accuracy to saturation on this CPU
    and differ from ARM results, while avx2-preset files are bit-identical on x86 and on
    Cortex-A72/A76 (tools/arm64_check.sh).
    """
    import platform

    from runtime.cpu import has_vnni

    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return "x86-vnni" if has_vnni() else "avx2"


PRESETS: dict[str, QuantizationConfig] = {
    "x86-vnni": QuantizationConfig(),
    "avx2": QuantizationConfig(preset="avx2", activations="uint8", reduce_range=True),
    "arm64": QuantizationConfig(preset="arm64"),
}


def preset(name: str) -> QuantizationConfig:
    """A named preset (or ``auto``); the error lists the names."""
    if name == "auto":
        name = auto_preset()
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
