"""The toolkit's error types.

Every expected failure (bad file, wrong flag, mismatched data) raises a subclass of
``ToolkitError`` whose message is one line naming the problem and the fix.  The CLI
layer turns it into that line on stderr and the exit code below, never a traceback.
"""

from __future__ import annotations


class ToolkitError(Exception):
    """An expected failure: one-line message, exit code 1."""

    exit_code = 1


class UsageError(ToolkitError):
    """Wrong command-line arguments or combination of options: exit code 2."""

    exit_code = 2


class DataError(ToolkitError):
    """A dataset, record or signal that cannot be used as it is."""


class ModelError(ToolkitError):
    """An ONNX file or model card that cannot be used as it is."""


class GateFailed(ToolkitError):
    """A regression gate was exceeded (benchmark compare): exit code 3."""

    exit_code = 3
