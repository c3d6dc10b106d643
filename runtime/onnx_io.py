"""Loading ONNX files safely and writing them atomically.

``load_model`` refuses, before reading any tensor data or allocating: files that are not
ONNX, truncated files, external-data references that are absolute or leave the model's
folder, tensors whose declared size disagrees with their data, and absurd sizes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
from onnx import TensorProto

from runtime.atomic import atomic_write_bytes
from runtime.errors import ModelError

DEFAULT_MAX_MODEL_BYTES = 1 << 30  # 1 GiB: far above any ECG model
MAX_BYTES_ENV = "ECG_SHRINK_MAX_MODEL_BYTES"


def max_model_bytes() -> int:
    """Largest model (file plus external data) that is loaded (override: ECG_SHRINK_MAX_MODEL_BYTES)."""
    value = os.environ.get(MAX_BYTES_ENV)
    return int(value) if value else DEFAULT_MAX_MODEL_BYTES


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (a model's identity in lineage records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tensor_bytes(tensor: TensorProto, source: Path) -> int:
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelError(f"{source}: tensor {tensor.name!r} declares negative dimensions {dims}")
    count = int(np.prod(dims, dtype=np.float64)) if dims else 1
    try:
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except Exception:
        raise ModelError(f"{source}: tensor {tensor.name!r} has unknown data type {tensor.data_type}") from None
    size = count * itemsize
    if size > max_model_bytes():
        raise ModelError(f"{source}: tensor {tensor.name!r} declares {size} bytes, above the {max_model_bytes()} limit")
    return size


def _check_tensors(model: onnx.ModelProto, source: Path) -> list[TensorProto]:
    external: list[TensorProto] = []
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                tensors.append(attribute.t)
    for tensor in tensors:
        size = _tensor_bytes(tensor, source)
        if tensor.data_location == TensorProto.EXTERNAL:
            external.append(tensor)
        elif tensor.HasField("raw_data") and len(tensor.raw_data) != size:
            raise ModelError(
                f"{source}: tensor {tensor.name!r} holds {len(tensor.raw_data)} bytes but its shape "
                f"{list(tensor.dims)} needs {size}; the file is corrupt"
            )
    return external


def _check_external(tensors: list[TensorProto], source: Path) -> None:
    folder = source.parent.resolve()
    for tensor in tensors:
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        if not location or os.path.isabs(location) or location.startswith(("/", "\\")) or ":" in location:
            raise ModelError(
                f"{source}: tensor {tensor.name!r} refers to external data at {location!r}; only relative paths beside the model are allowed"
            )
        target = (folder / location).resolve()
        if folder not in target.parents:
            raise ModelError(f"{source}: tensor {tensor.name!r} refers to {location!r}, outside the model's folder")
        if not target.is_file():
            raise ModelError(f"{source}: external data file {location!r} for tensor {tensor.name!r} not found")
        offset = int(info.get("offset", 0) or 0)
        length = int(info.get("length", 0) or 0) or _tensor_bytes(tensor, source)
        if offset < 0 or offset + length > target.stat().st_size:
            raise ModelError(f"{source}: external data {location!r} is shorter than tensor {tensor.name!r} needs")


def load_model(path: str | Path) -> onnx.ModelProto:
    """Load an ONNX file after the safety checks above; raise ``ModelError`` with the fix."""
    source = Path(path)
    if not source.is_file():
        raise ModelError(f"{source}: model file not found")
    size = source.stat().st_size
    if size == 0:
        raise ModelError(f"{source}: empty file, not an ONNX model")
    if size > max_model_bytes():
        raise ModelError(f"{source}: {size} bytes, above the {max_model_bytes()} byte limit (raise {MAX_BYTES_ENV})")
    try:
        model = onnx.load_model_from_string(source.read_bytes())
    except Exception:
        raise ModelError(f"{source}: not an ONNX model (protobuf parse failed); is the file truncated?") from None
    if not model.graph.node or not model.graph.input or not model.graph.output:
        raise ModelError(f"{source}: not an ONNX model (no graph nodes, inputs or outputs)")
    external = _check_tensors(model, source)
    if external:
        _check_external(external, source)
        onnx.load_external_data_for_model(model, str(source.parent))
    return model


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Real inputs (not initializers listed as inputs, as old exporters do)."""
    initializers = {t.name for t in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def tensor_dims(value: onnx.ValueInfoProto) -> list[int | None]:
    """Declared dimensions; ``None`` for symbolic or unknown ones."""
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in value.type.tensor_type.shape.dim]  # fmt: skip


def tensor_producers(nodes: list[onnx.NodeProto]) -> dict[str, onnx.NodeProto]:
    """Which node writes each tensor (graph inputs and initializers have none)."""
    return {output: node for node in nodes for output in node.output}


def tensor_consumers(nodes: list[onnx.NodeProto]) -> dict[str, list[onnx.NodeProto]]:
    """Which nodes read each tensor, in graph order."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def clean_for_runtimes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop intermediate ``value_info`` (symbolic shapes there break tract and others) and unused opsets."""
    del model.graph.value_info[:]
    used = {node.domain or "" for node in model.graph.node}
    kept = [o for o in model.opset_import if (o.domain or "") in used or (o.domain or "") == ""]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return model


def default_opset(model: onnx.ModelProto) -> int | None:
    """The version of the standard ONNX domain the model imports."""
    return next((o.version for o in model.opset_import if (o.domain or "") in ("", "ai.onnx")), None)


def upgrade_opset(model: onnx.ModelProto, minimum: int) -> onnx.ModelProto:
    """The model at opset ``minimum`` or above (onnx's version converter); older files from other
    exporters (opset 11, 12) need it for int8 QDQ with per-channel axes and Clip with tensor bounds."""
    version = default_opset(model)
    if version is None or version >= minimum:
        return model
    try:
        return onnx.version_converter.convert_version(model, minimum)
    except Exception as exc:
        raise ModelError(
            f"opset {version} could not be upgraded to {minimum} ({' '.join(str(exc).split())[:120]}); "
            f"re-export the model at opset {minimum} or later"
        ) from None


def model_bytes(model: onnx.ModelProto) -> bytes:
    """Serialize a model (single file, no external data)."""
    return model.SerializeToString()


def save_model(model: onnx.ModelProto, path: str | Path) -> Path:
    """Write a model as one file, atomically."""
    return atomic_write_bytes(path, model_bytes(model))
