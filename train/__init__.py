"""Datasets, training loop and ONNX export (needs torch, except the synthetic generator)."""
