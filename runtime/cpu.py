"""CPU facts from /proc/cpuinfo: model name and feature flags (int8 paths depend on them)."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo() -> str:
    path = Path("/proc/cpuinfo")
    try:
        return path.read_text(errors="replace") if path.exists() else ""
    except OSError:
        return ""


def cpu_flags() -> set[str]:
    """Feature flags ('flags' on x86, 'Features' on ARM); empty where unknown."""
    for line in _cpuinfo().splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_model() -> str:
    """The CPU's name (x86 'model name'; on ARM the part number when nothing else)."""
    info = _cpuinfo()
    for key in ("model name", "Model", "Hardware"):
        for line in info.splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    part = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("CPU part")]
    return f"ARM CPU part {part[0]}" if part else platform.processor() or platform.machine()


def has_vnni() -> bool:
    """x86 int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI)."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni"})
