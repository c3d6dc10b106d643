"""One error path for every console command.

``ToolkitGroup`` is a click group that turns ``ToolkitError`` into one line on stderr
with the error's exit code, and any unexpected exception into a short message that
points at ``--debug`` (or ``ECG_SHRINK_DEBUG=1``), which shows the full traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
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


# ---------------------------------------------------------------- the shared vocabulary
# Every console command spells these options the same way (README: "Options shared by every command").


def model_argument(name: str = "model", many: bool = False) -> Any:
    """The ONNX file(s) a command reads, always a positional argument."""
    return click.argument(name, nargs=-1 if many else 1, required=True, type=click.Path(path_type=Path))


def data_option(help: str = "PTB-XL folder (real or synthetic) or its prepared cache (default: the model card's).",
                required: bool = False) -> Any:  # fmt: skip
    """``--data``: where records and labels come from."""
    return click.option("--data", default=None, required=required, type=click.Path(path_type=Path), help=help)


def out_option(help: str, required: bool = False, default: Path | None = None) -> Any:
    """``-o/--out``: what a command writes (``--output`` is accepted as the old spelling)."""
    return click.option("-o", "--out", "--output", "out", default=default, required=required,
                        type=click.Path(path_type=Path), help=help, show_default=default is not None)  # fmt: skip


def force_option(help: str = "Replace an existing output.") -> Any:
    """``--force``: without it, no command replaces a file or folder that exists."""
    return click.option("--force", is_flag=True, help=help)


def json_option(help: str = "Print the result as JSON.") -> Any:
    """``--json``: machine-readable stdout."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def threads_option(default: int | None = 1) -> Any:
    """``--threads``: CPU threads of the inference session."""
    return click.option("--threads", default=default, show_default=default is not None,
                        type=click.IntRange(min=1), help="CPU threads.")  # fmt: skip


def time_s_option(default: float, allow_zero: bool = False) -> Any:
    """``--time-s``: seconds of timed runs (``allow_zero``: 0 skips timing)."""
    return click.option("--time-s", default=default, show_default=True,
                        type=click.FloatRange(min=0, min_open=not allow_zero),
                        help="Timed seconds per measurement" + (" (0: no timing)." if allow_zero else "."))  # fmt: skip


def refuse_existing(output: Path, force: bool, *inputs: Path) -> None:
    """Refuse to write over an input, or over an existing output without ``--force``."""
    from runtime.atomic import refuse_overwrite
    from runtime.errors import UsageError

    refuse_overwrite(output, *inputs)
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; pass --force to replace it or choose another -o/--out")


def print_run_summary(summary: dict[str, Any], as_json: bool) -> None:
    """A training run's summary: JSON on stdout with ``--json``, else its AUCs on stderr; the model path last."""
    import json

    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        parameters = summary.get("parameters")
        click.echo(f"val macro AUC {summary.get('val_macro_auc', float('nan')):.4f}, test macro AUC "
                   f"{summary.get('test_macro_auc', float('nan')):.4f}"
                   + (f", {parameters:,} parameters" if isinstance(parameters, int) else ""), err=True)  # fmt: skip
    click.echo(str(summary["model"]))
