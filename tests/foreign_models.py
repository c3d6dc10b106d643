"""A corpus of "foreign" ECG models: tiny torch networks exported the way other people export them.

Each entry differs from our files in one way users meet in practice: channels-last Keras layout
with a Sigmoid, single-lead beats at 360 Hz with logits and opset 11, a softmax head, external
weights, Conv1D lowered to Conv2D over height 1, a fixed batch of 1, an LSTM.  The weights are
random but seeded: the tests check plumbing and numerics, not diagnosis.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


class _Backbone(nn.Module):
    """Conv1d -> ReLU -> mean over time -> Linear: enough structure for quantization to matter."""

    def __init__(self, leads: int, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(leads, 16, 7, padding=3, stride=2)
        self.conv2 = nn.Conv1d(16, 24, 5, padding=2, stride=2)
        self.head = nn.Linear(24, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [N, leads, T]
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(x.mean(-1))


class ChannelsLastSigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = _Backbone(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, T, 12] like Keras
        return torch.sigmoid(self.body(x.transpose(1, 2)))


class Logits(nn.Module):
    def __init__(self, leads: int, classes: int) -> None:
        super().__init__()
        self.body = _Backbone(leads, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Softmax(Logits):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(x), dim=-1)


class Conv2dHeight1(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 16, (1, 7), padding=(0, 3), stride=(1, 2))
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 12, 1, T]
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(12, 8, 5, stride=5)
        self.lstm = nn.LSTM(8, 8, batch_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 12, T]
        features = torch.relu(self.conv(x)).transpose(1, 2)
        _, (hidden, _) = self.lstm(features)
        return torch.sigmoid(self.head(hidden[-1]))


@dataclass(frozen=True)
class Foreign:
    """One corpus file: how it was exported and the ``compress describe`` options it needs."""

    name: str
    build: Callable[[], nn.Module]
    example: tuple[int, ...]
    input_name: str
    output_name: str
    describe: tuple[str, ...]
    opset: int = 17
    dynamic_batch: bool = True
    external_data: bool = False
    ptbxl_like: bool = True  # 12 leads, 100 Hz, 1000 samples, the 5 superclasses


SUPERCLASSES = "NORM,MI,STTC,CD,HYP"
CORPUS = (
    Foreign("keras-channels-last", ChannelsLastSigmoid, (1, 1000, 12), "input_1", "dense_1",
            ("--fs", "100", "--classes", SUPERCLASSES)),
    Foreign("beats-360hz-opset11", lambda: Logits(1, 5), (1, 1, 187), "x", "y",
            ("--fs", "360", "--leads", "II", "--classes", "N,S,V,F,Q"), opset=11, ptbxl_like=False),
    Foreign("softmax", lambda: Softmax(12, 5), (1, 12, 1000), "signal", "scores",
            ("--fs", "100", "--classes", SUPERCLASSES)),
    Foreign("external-data", lambda: Logits(12, 5), (1, 12, 1000), "input", "output",
            ("--fs", "100", "--classes", SUPERCLASSES), external_data=True),
    Foreign("conv2d-height1", Conv2dHeight1, (1, 12, 1, 1000), "x", "logits_out",
            ("--fs", "100", "--classes", SUPERCLASSES)),
    Foreign("fixed-batch-1", lambda: Logits(12, 5), (1, 12, 1000), "ecg_in", "out",
            ("--fs", "100", "--classes", SUPERCLASSES), dynamic_batch=False),
    Foreign("lstm", Recurrent, (1, 12, 1000), "x", "prob", ("--fs", "100", "--classes", SUPERCLASSES)),
)  # fmt: skip


def export_foreign(entry: Foreign, folder: Path, seed: int = 0) -> Path:
    """Export ``entry`` into ``folder`` the way its origin would; return the .onnx path."""
    torch.manual_seed(seed)
    module = entry.build().eval()
    path = folder / f"{entry.name}.onnx"
    axes = {entry.input_name: {0: "n"}, entry.output_name: {0: "n"}} if entry.dynamic_batch else None
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(*entry.example),), str(path), input_names=[entry.input_name],
                          output_names=[entry.output_name], dynamic_axes=axes, opset_version=entry.opset,
                          dynamo=False)  # fmt: skip
    if entry.external_data:
        import onnx

        model = onnx.load(str(path))
        path.unlink()
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{entry.name}.onnx.data", size_threshold=0)  # fmt: skip
    return path


def to_native(entry: Foreign, ecg_mv: np.ndarray) -> np.ndarray:
    """Our ``[N, leads, T]`` mV batch in the layout the foreign file takes (for reference loops)."""
    if entry.name == "keras-channels-last":
        return np.ascontiguousarray(ecg_mv.transpose(0, 2, 1))
    if entry.name == "conv2d-height1":
        return np.ascontiguousarray(ecg_mv[:, :, None, :])
    return ecg_mv


def graph_with_op_the_converter_lacks(path: Path) -> Path:
    """Conv -> Shrink -> mean -> Gemm, built with onnx.helper: onnx2torch has no Shrink converter."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(0, 0.1, shape).astype(np.float32), name)
               for name, shape in (("w", (8, 12, 5)), ("b", (8,)), ("fc_w", (5, 8)), ("fc_b", (5,)))]  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[2, 2]),
        helper.make_node("Shrink", ["c"], ["s"], lambd=0.1),
        helper.make_node("ReduceMean", ["s"], ["m"], axes=[2], keepdims=0),
        helper.make_node("Gemm", ["m", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    graph = helper.make_graph(nodes, "shrink", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 12, 1000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])], weights)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
