"""Torch-free ECG datasets: the PTB-XL reader, its label protocol and the prepared cache.

They live in ``runtime`` because the benchmark and quantization calibration (both
torch-free, both run on devices) read the same prepared test and training splits.
"""
