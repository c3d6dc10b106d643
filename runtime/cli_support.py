"""One error path for every console command.

``ToolkitGroup`` is a click group that turns ``ToolkitError`` into one line on stderr
with the error's exit code, and any unexpected exception into a short message that
points at ``--debug`` (or ``ECG_SHRINK_DEBUG=1``), which shows the full traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from runtime.errors import ToolkitError
from runtime.progress import end_line

DEBUG_ENV = "ECG_SHRINK_DEBUG"


def debug_enabled() -> bool:
    """True when tracebacks were asked for (``--debug`` flag or environment variable)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def echo_progress(message: str) -> None:
    """Progress and warnings go to stderr so stdout stays machine-readable."""
    click.echo(message, err=True)


class ToolkitGroup(click.Group):
    """A click group with the toolkit's error handling and a global ``--debug`` flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                help="Show full tracebacks (same as ECG_SHRINK_DEBUG=1).",
                callback=_enable_debug,
            )
        )

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except ToolkitError as exc:
            end_line()
            if debug_enabled():
                raise
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            end_line()
            if debug_enabled():
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                f"(rerun with --debug for the traceback and report it)",
                err=True,
            )
            sys.exit(1)


def _enable_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"


def _one_line(text: str) -> str:
    return " ".join(text.split())
