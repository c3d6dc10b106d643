"""Compression steps: quantize (torch-free), prune and distill (torch), inspect, recipes."""
