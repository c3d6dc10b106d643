"""Torch-free benchmark harness: latency, size and MACs of ONNX models on this machine."""
