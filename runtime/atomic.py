"""Crash-safe writing: temp file in the target folder, then rename into place.

An interrupted command never leaves a file that looks finished, and no writer here
ever replaces one of the command's inputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.errors import UsageError


def _umask() -> int:
    """The process umask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the final path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; a file copied to a device must stay readable
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], replace: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder that is renamed to ``path`` on success.

    On any exception the temporary folder is removed, so ``path`` either does not exist
    or is complete.  With ``replace`` an existing folder is swapped out at the end.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700
        if target.exists():
            if not replace:
                raise UsageError(f"{target} already exists; remove it or pass --force")
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def refuse_overwrite(output: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> None:
    """Raise a usage error if ``output`` is the same file as one of the inputs."""
    out = Path(output).resolve()
    for item in inputs:
        if Path(item).resolve() == out:
            raise UsageError(
                f"output {output} is the input file; the toolkit never overwrites its inputs: choose another -o/--out"
            )


def atomic_write_figure(path: str | os.PathLike[str], fig: Any, dpi: int = 100) -> Path:
    """A matplotlib figure as a PNG at ``path``, written atomically; the figure is closed."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
