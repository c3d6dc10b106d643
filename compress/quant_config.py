"""What to quantize, as a typed config that checks itself, with presets for common targets.

Presets (the reason for each); ``auto`` (the default) picks one for the machine it runs on:

* ``x86-vnni``: int8 activations (asymmetric) and weights (symmetric), per-channel weights.
  VNNI/AMX multiply s8 x s8 at full range, so no ``reduce_range`` is needed.
* ``avx2``: x86 without VNNI: ``u8`` activations and ``reduce_range`` (7-bit weights), because
  AVX2's ``vpmaddubsw`` saturates its 16-bit intermediate sums with full 8-bit ranges.
* ``arm64``: Raspberry Pi 4/5 and other ARMv8: s8/s8 per-channel; the dot-product
  instructions (Pi 5) take s8, and without them (Pi 4) onnxruntime widens to 16 bits
  anyway, so full range is safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from runtime.errors import UsageError
from runtime.settings import check_settings, setting

CALIBRATE_METHODS = ("minmax", "entropy", "percentile")
ACTIVATION_TYPES = ("int8", "uint8")
PRESET_NAMES = ("auto", "x86-vnni", "avx2", "arm64")


@dataclass(frozen=True)
class QuantizationConfig:
    """Static int8 quantization in QDQ format (a preset fills the CPU-specific fields)."""

    preset: str = setting("auto", "Target CPU; auto = this machine's (x86 VNNI, x86 AVX2 or ARM64).",
                          choices=PRESET_NAMES)  # fmt: skip
    activations: str = setting("int8", "Activation type (preset default).", choices=ACTIVATION_TYPES)
    weights: str = setting("int8", "Weight type (preset default).", choices=ACTIVATION_TYPES)
    # asymmetric: ReLU outputs use the whole int8 range and onnxruntime drops the ReLU into the
    # quantization (strided-cnn int8 38 -> 29-32 us per call, same test AUC; docs/latency.md)
    symmetric_activations: bool = setting(False, "Activation zero point fixed at 0 (asymmetric ranges let onnxruntime fold ReLUs).",
                                          off="--asymmetric-activations")  # fmt: skip
    per_channel: bool = setting(True, "Weight scales per output channel (preset default).", off="--per-tensor")
    reduce_range: bool = setting(False, "7-bit weights for AVX2's saturating multiply (preset default).")
    # percentile: a smaller validation-AUC drop than minmax for 5 of 6 models measured on real
    # PTB-XL and the synthetic default (a tie on the sixth); docs/real-ptbxl.md
    calibrate_method: str = setting("percentile", "Activation ranges from calibration.", choices=CALIBRATE_METHODS)
    calib_samples: int = setting(512, "Training records for calibration.", minimum=1)
    nodes_to_exclude: tuple[str, ...] = setting((), "Node names to keep in float.")
    # x86-vnni: float depthwise convolutions are faster and at least as accurate (measured on the quick
    # study's and the shipped student: int8 0.189 vs 0.228 ms, 0.162 vs 0.201 ms; docs/latency.md); the
    # portable presets keep them int8, because float ones can break x86/ARM bit-identity of int8 outputs.
    depthwise: str = setting("int8", "Depthwise (grouped) convolutions in int8 or kept in float (preset default).",
                             choices=("int8", "float"))  # fmt: skip
    seed: int = setting(0, "Seed of the calibration sample.")

    def __post_init__(self) -> None:
        check_settings(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes_to_exclude"] = list(self.nodes_to_exclude)
        return data

    def with_changes(self, **changes: Any) -> QuantizationConfig:
        return replace(self, **changes)

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> QuantizationConfig:
        """The named preset (default ``auto``) with the given settings on top (CLI and recipes)."""
        return config_for(values)


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
    "x86-vnni": QuantizationConfig(preset="x86-vnni", depthwise="float"),
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


def config_for(values: dict[str, Any]) -> QuantizationConfig:
    """The named preset (default ``auto``) with the settings given on the command line or in a recipe."""
    chosen = {key: value for key, value in values.items() if key != "preset"}
    return preset(values.get("preset") or "auto").with_changes(**chosen)


@dataclass(frozen=True)
class AccuracyGate:
    """How much validation AUC quantization may cost before sensitive nodes go back to float."""

    max_auc_drop: float | None = setting(
        None, "Keep sensitive nodes in float until the validation AUC drop is at most this.", minimum=0
    )
