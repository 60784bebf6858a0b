"""What a method declares about itself, torch-free: its paper defaults and its options dataclass.

Every method module holds a `MethodDefaults` (the training recipe of its paper) and an options
dataclass whose fields are its hyper-parameters with the paper's values. Each field's metadata may
give `help` and `choices`. `vidkit pretrain -O NAME=VALUE` sets any field; `parse_options` checks
the name and converts the value to the field's type, so a wrong name or type is one clear error,
and an option left unset keeps the method's own default (not another method's).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass

from vidkit.checkpoint.recipe import IMAGENET_MEAN, IMAGENET_STD
from vidkit.errors import UsageError


@dataclass(frozen=True)
class MethodDefaults:
    """A method's paper settings; every explicit option of `vidkit pretrain` overrides them."""

    backbone: str
    size: int
    clip_len: int
    epochs: float
    batch_size: int
    lr: float
    milestones: tuple[float, ...]  # of the step schedule, as fractions of the run
    gamma: float
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resize: tuple[float, float] | None = None  # frames resized to (h, w) * size before the crop
    schedule: str = "step"  # the learning-rate schedule (`engine.schedule`): step at `milestones`, or cosine


def option(default, help: str, choices: tuple | None = None):  # noqa: A002 - mirrors typer.Option
    """A dataclass field with its help text (and allowed values), for the CLI and the docs."""
    metadata = {"help": help, **({"choices": choices} if choices else {})}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _convert(name: str, value, annotation):
    """`value` (a CLI string, or already typed) as `annotation`; raises ValueError with what was wanted."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if type(None) in args:
                return None
        return _convert(name, value, next(a for a in args if a is not type(None)))
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        kind = args[0]
        return tuple(_convert(name, item, kind) for item in items)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text not in _TRUE | _FALSE:
            raise ValueError("true or false")
        return text in _TRUE
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError("an integer") from None
    if annotation is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError("a number") from None
    return str(value)


def parse_options(cls, given: dict, method: str):
    """An instance of the options dataclass `cls` with the fields in `given` set (the rest default).

    Raises:
        UsageError: a name `cls` does not have, a value of the wrong type, or one outside its choices.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, raw in given.items():
        key = name.replace("-", "_")
        if key not in fields:
            raise UsageError(f"--method {method} has no option {name!r}; its options are {', '.join(fields)}")
        try:
            value = _convert(key, raw, hints[key])
        except ValueError as exc:
            raise UsageError(f"option {name}={raw!r} of --method {method}: expected {exc}") from None
        choices = fields[key].metadata.get("choices")
        if choices and value not in choices:
            raise UsageError(
                f"option {name}={raw!r} of --method {method}: choose one of {', '.join(map(str, choices))}"
            )
        values[key] = value
    return cls(**values)


def describe_options(cls) -> list[dict]:
    """`[{name, type, default, help, choices}]` of an options dataclass, for `docs/` and `--help`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(
            {
                "name": f.name,
                "type": _type_name(hints[f.name]),
                "default": default,
                "help": f.metadata.get("help", ""),
                "choices": f.metadata.get("choices"),
            }
        )
    return rows


def _type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _type_name(inner[0]) + " or none"
    if origin is tuple:
        return f"comma-separated {_type_name(args[0])}s"
    return {bool: "bool", int: "int", float: "float", str: "text"}.get(annotation, str(annotation))
