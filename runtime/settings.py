"""Step settings declared once: a dataclass field carries its default, help, range and choices.

Every configurable step (fit, distill, prune, quantize, benchmark, ...) is a frozen dataclass whose
fields are made with :func:`setting`.  From that one declaration come

* the command-line options of every command that runs the step (:func:`click_options`,
  :func:`from_options`): ``--batch-size`` for ``batch_size``, ``--per-channel/--no-per-channel``
  for a bool, ``--nodes-to-exclude A,B`` for a tuple;
* the keys a recipe may set for the step and their checks (:func:`from_mapping`);
* the checks of a config built in code (:func:`check_settings`, called by ``__post_init__``).

So an option, its default and its rule are written in one place; a test asserts that no command
lists a step option by hand.  Torch-free: CLIs import it before any heavy library.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any

import click

from runtime.errors import UsageError

META_KEY = "setting"


@dataclass(frozen=True)
class Setting:
    """How one config field is shown, parsed and checked."""

    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    open_minimum: bool = False  # minimum excluded (a positive learning rate)
    maximum: float | None = None
    open_maximum: bool = False
    parse: Callable[[str], Any] | None = None  # command-line / recipe text -> field value (lead lists)
    metavar: str | None = None
    off: str | None = None  # a bool's off switch (``--per-tensor``); default ``--no-<name>``


def setting(default: Any = MISSING, help: str = "", **rules: Any) -> Any:
    """A dataclass field with its command-line/recipe declaration (see :class:`Setting`)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("settings take immutable defaults (use a tuple)")
    return field(default=default, metadata={META_KEY: Setting(help=help, **rules)})


def option_name(name: str) -> str:
    """``batch_size`` -> ``--batch-size``: the one spelling of a setting on the command line."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class FieldInfo:
    """A declared field with its resolved Python type."""

    name: str
    kind: Any  # int, float, bool, str, or tuple (of ``element``)
    element: Any
    optional: bool
    default: Any
    required: bool
    rule: Setting


def declared_fields(config: type) -> list[FieldInfo]:
    """The fields of ``config`` made with :func:`setting`, in declaration order."""
    if not is_dataclass(config):
        raise TypeError(f"{config!r} is not a dataclass")
    hints = typing.get_type_hints(config)
    infos = []
    for item in fields(config):
        rule = item.metadata.get(META_KEY)
        if rule is None:
            continue
        kind, optional = _unwrap(hints[item.name])
        element = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else None
        base = tuple if element is not None else kind
        required = item.default is MISSING and item.default_factory is MISSING
        default = None if required else _default(item)
        infos.append(FieldInfo(item.name, base, element, optional, default, required, rule))
    return infos


def _default(item: Field[Any]) -> Any:
    return item.default if item.default is not MISSING else item.default_factory()  # type: ignore[misc,operator]


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``int | None`` -> (int, True); ``int`` -> (int, False)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def keys(*configs: type) -> list[str]:
    """Every setting name of ``configs`` (the keys a recipe step may use)."""
    return [info.name for config in configs for info in declared_fields(config)]


# ---------------------------------------------------------------- checks


def _in_range(info: FieldInfo, value: Any) -> str | None:
    rule = info.rule
    if rule.choices is not None and value not in rule.choices:
        return f"must be one of {', '.join(rule.choices)}, got {value!r}"
    if rule.minimum is not None and (value < rule.minimum or (rule.open_minimum and value == rule.minimum)):
        return f"must be {'above' if rule.open_minimum else 'at least'} {rule.minimum:g}, got {value}"
    if rule.maximum is not None and (value > rule.maximum or (rule.open_maximum and value == rule.maximum)):
        return f"must be {'below' if rule.open_maximum else 'at most'} {rule.maximum:g}, got {value}"
    return None


def check_settings(config: Any) -> None:
    """Check every declared field of a built config against its rule; one-line error naming the option."""
    for info in declared_fields(type(config)):
        value = getattr(config, info.name)
        if value is None and info.optional:
            continue
        items = value if info.kind is tuple else (value,)
        for item in items:
            problem = _in_range(info, item)
            if problem:
                raise UsageError(f"{option_name(info.name)} {problem}")


# ---------------------------------------------------------------- recipes


def _coerce(info: FieldInfo, value: Any, where: str) -> Any:
    """A recipe value (TOML types) as the field's type; errors name the key."""

    def one(kind: Any, item: Any) -> Any:
        if info.rule.parse is not None and isinstance(item, str):
            return info.rule.parse(item)
        if kind is float and isinstance(item, int) and not isinstance(item, bool):
            return float(item)
        if (kind is bool) != isinstance(item, bool):
            raise UsageError(f"{where}: '{info.name}' must be {_kind_name(kind)}, got {item!r}")
        if kind in (int, float, str) and not isinstance(item, kind):
            raise UsageError(f"{where}: '{info.name}' must be {_kind_name(kind)}, got {item!r}")
        return item

    if value is None and info.optional:
        return None
    if info.kind is tuple:
        if info.rule.parse is not None and isinstance(value, str):
            return info.rule.parse(value)
        if not isinstance(value, list):
            value = [value]  # one value stands for a list of one
        return tuple(one(info.element, item) for item in value)
    return one(info.kind, value)


def _kind_name(kind: Any) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false", str: "text"}.get(kind, str(kind))


def from_mapping(config: type, values: Mapping[str, Any], where: str, defaults: Mapping[str, Any] | None = None) -> Any:
    """Build ``config`` from a recipe table; unknown keys are the caller's to refuse (see :func:`split_keys`)."""
    arguments: dict[str, Any] = dict(defaults or {})
    for info in declared_fields(config):
        if info.name in values:
            arguments[info.name] = _coerce(info, values[info.name], where)
        elif info.required and info.name not in arguments:
            raise UsageError(f"{where} needs '{info.name}' ({info.rule.help or 'required'})")
    try:
        return build(config, arguments)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


def build(config: type, values: dict[str, Any]) -> Any:
    """``config(**values)``, or ``config.from_settings(values)`` where a config fills gaps its own way
    (quantization: from the named preset)."""
    factory = getattr(config, "from_settings", None)
    return factory(values) if factory is not None else config(**values)


def refuse_unknown(values: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """One-line error listing keys a recipe step does not know, and the ones it does."""
    allowed = list(allowed)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise UsageError(f"{where} has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


# ---------------------------------------------------------------- command line


def _click_type(info: FieldInfo) -> Any:
    rule = info.rule
    kind = info.element if info.kind is tuple else info.kind
    if info.kind is tuple or rule.parse is not None:
        return str  # parsed in from_options
    if rule.choices is not None:
        return click.Choice(rule.choices)
    if kind in (int, float) and rule.minimum is None and rule.maximum is None:
        return kind
    if kind is int:
        low, high = (None if bound is None else int(bound) for bound in (rule.minimum, rule.maximum))
        return click.IntRange(min=low, max=high, min_open=rule.open_minimum, max_open=rule.open_maximum)
    if kind is float:
        return click.FloatRange(
            min=rule.minimum, max=rule.maximum, min_open=rule.open_minimum, max_open=rule.open_maximum
        )
    return kind


def click_options(
    *configs: type, exclude: Iterable[str] = (), defaults: Mapping[str, Any] | None = None
) -> Callable[[Any], Any]:
    """Decorator adding one click option per declared field of ``configs``.

    ``defaults`` overrides a default for this command only (``None``: "decided at run time", e.g.
    distill's leads default to the teacher's), and is shown in the help.
    """
    skipped = set(exclude)
    overrides = dict(defaults or {})

    def decorate(func: Any) -> Any:
        infos = [info for config in configs for info in declared_fields(config) if info.name not in skipped]
        for info in reversed(infos):
            default = overrides.get(info.name, info.default)
            text = info.rule.help
            flag = option_name(info.name)
            if info.kind is bool:
                names = [f"{flag}/{info.rule.off or '--no-' + flag[2:]}", info.name]
                func = click.option(*names, default=default, show_default=True, help=text)(func)
                continue
            shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
            if info.kind is tuple:
                text = f"{text} (comma-separated)".strip()
            func = click.option(
                flag,
                info.name,
                default=None if info.kind is tuple or info.rule.parse is not None else default,
                required=info.required,
                type=_click_type(info),
                show_default=shown is not None and info.name not in overrides,
                help=text + (f" [default: {shown}]" if info.name in overrides and shown is not None else ""),
                metavar=info.rule.metavar,
            )(func)
        return func

    return decorate


def given_options(config: type, options: dict[str, Any], keep: bool = False) -> dict[str, Any]:
    """The fields of ``config`` set on the command line (not ``None``), parsed; removed from ``options`` unless ``keep``."""
    values: dict[str, Any] = {}
    for info in declared_fields(config):
        if info.name not in options:
            continue
        value = options[info.name] if keep else options.pop(info.name)
        if value is None:
            continue
        if isinstance(value, str) and (info.kind is tuple or info.rule.parse is not None):
            value = _parse_text(info, value)
        values[info.name] = value
    return values


def from_options(
    config: type, options: dict[str, Any], defaults: Mapping[str, Any] | None = None, keep: bool = False
) -> Any:
    """Build ``config`` from a command's keyword arguments (see :func:`given_options`).

    An option left at ``None`` takes ``defaults`` or else the config's own default.
    """
    return build(config, {**dict(defaults or {}), **given_options(config, options, keep)})


def _parse_text(info: FieldInfo, text: str) -> Any:
    if info.rule.parse is not None:
        return info.rule.parse(text)
    parts = [part.strip() for part in text.split(",") if part.strip()]
    element = info.element or str
    try:
        return tuple(element(part) for part in parts)
    except ValueError:
        raise UsageError(
            f"{option_name(info.name)} takes comma-separated {_kind_name(element)}s, got {text!r}"
        ) from None
