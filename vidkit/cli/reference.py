"""docs/cli.md, written from the commands themselves: their docstrings and their Typer parameters.

`python -m vidkit.cli.reference > docs/cli.md` (or `make docs`) regenerates it, and a test fails
when the committed file differs, so the page cannot drift from `--help`.
"""

from __future__ import annotations

import enum
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path

import typer

from vidkit.cli.app import COMMANDS, GROUPS

PREAMBLE = """\
# Command reference

<!-- Generated from each command's --help by `make docs` (python -m vidkit.cli.reference). Edit the
command's docstring and options, not this file: tests/cli/test_help.py fails when it is stale. -->

Every command follows one contract:
- The result goes to stdout: a short summary line, or exactly one JSON object with `--json`.
- Progress bars, logs and warnings go to stderr. `vidkit -q` keeps only errors; `vidkit -v` adds
  debug logs.
- Exit status is 0 on success, 1 on a failed run (with one `error: ...` line on stderr), and 2 on a
  usage error. Set `VIDKIT_DEBUG=1` to get the traceback behind an error.
- A path given as `-` reads a newline-separated list of paths from stdin.
- Accuracies in JSON are fractions in [0, 1].

Global options come before the command: `vidkit [--verbose|-v] [--quiet|-q] [--version] COMMAND ...`.
The methods, their defaults and their deviations from the papers' code are in
[methods.md](methods.md); the files the commands exchange in [formats.md](formats.md).
"""


@dataclass(frozen=True)
class Parameter:
    """One argument or option of a command, read from its `Annotated[type, typer.Option(...)]`."""

    name: str
    kind: str
    default: str
    help: str
    required: bool
    argument: bool


def _base(annotation):
    """The value type behind `Optional[...]` and `list[...]`, and whether it was a list."""
    many = False
    while True:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin in (list, tuple):
            many, annotation = True, args[0]
        elif args and origin is not None and len(args) == 1:  # Optional[X]
            annotation = args[0]
        else:
            return annotation, many


def _kind(annotation, info) -> str:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(member.value for member in annotation)
    if annotation is bool:
        return ""
    name = {int: "int", float: "float", str: "text", Path: "path"}.get(
        annotation, getattr(annotation, "__name__", "text")
    )
    bounds = [
        f"{op} {value:g}"
        for op, value in ((">=", getattr(info, "min", None)), ("<=", getattr(info, "max", None)))
        if value is not None
    ]
    return name + (f" ({', '.join(bounds)})" if bounds else "")


def _option_names(name: str, annotation, info) -> list[str]:
    # Under Annotated, Typer takes a first positional "--flag" as a declaration, not a default.
    first = [info.default] if isinstance(info.default, str) and info.default.startswith("-") else []
    declared = [d for d in first + list(info.param_decls or ()) if d.startswith("-")]
    if not declared:
        flag = "--" + name.replace("_", "-")
        declared = [f"{flag}/--no-{flag[2:]}" if annotation is bool else flag]
    names = []
    for declaration in declared:
        names.extend(declaration.split("/"))
    return names


def _default(value, names: list[str]) -> str:
    if value is None or value is inspect.Parameter.empty or value is ...:
        return ""
    if isinstance(value, bool):
        if len(names) > 1:
            return names[0] if value else names[-1]
        return "" if value is False else "on"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def parameters(function) -> list[Parameter]:
    """The command's parameters in declaration order (hidden ones left out, as `--help` does)."""
    hints = typing.get_type_hints(function, include_extras=True)
    rows = []
    for name, param in inspect.signature(function).parameters.items():
        annotation, info = hints[name], None
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, info = typing.get_args(annotation)[0], typing.get_args(annotation)[1]
        if getattr(info, "hidden", False):
            continue  # old spellings kept for one release; --help does not list them either
        if annotation is typer.Context:
            continue  # Typer passes the context itself; it is no option
        base, many = _base(annotation)
        argument = isinstance(info, typer.models.ArgumentInfo)
        required = param.default is inspect.Parameter.empty
        if argument:
            names = [name.upper() + ("..." if many else "")]
        else:
            names = _option_names(name, base, info)
        rows.append(
            Parameter(
                name=", ".join(names),
                kind=_kind(base, info),
                default="" if required else _default(param.default, names),
                help=(info.help or "") if info else "",
                required=required,
                argument=argument,
            )
        )
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def command_section(name: str, function) -> str:
    """One command's section: a usage line, its docstring as Markdown, and its parameter table."""
    params = parameters(function)
    usage = " ".join([f"vidkit {name}"] + [p.name if p.required else f"[{p.name}]" for p in params if p.argument])
    lines = [
        f"## `vidkit {name}`",
        "",
        "```",
        usage + " [OPTIONS]",
        "```",
        "",
        inspect.cleandoc(function.__doc__ or ""),
        "",
    ]
    lines += ["| argument / option | type | default | |", "| --- | --- | --- | --- |"]
    for p in params:
        text = p.help + (" Required." if p.required and not p.argument else "")
        lines.append(f"| `{p.name}` | {_cell(p.kind)} | {_cell(p.default)} | {_cell(text.strip())} |")
    return "\n".join(lines) + "\n"


def all_commands() -> list[tuple[str, object]]:
    """`(name, function)` of every command, groups' subcommands as `group sub`, in `--help` order."""
    rows = [(name, function) for name, function, _ in COMMANDS]
    for group, sub_app, _ in GROUPS:
        rows += [(f"{group} {command.name}", command.callback) for command in sub_app.registered_commands]
    return rows


def method_options() -> str:
    """Each registered method's defaults and `-O` options, from its `defaults` and `Options` dataclass."""
    import dataclasses

    from vidkit.methods import method_class, method_names
    from vidkit.methods.options import describe_options

    lines = []
    for name in method_names():
        cls = method_class(name)
        d = cls.defaults
        lines += [f"### `--method {name}`", "", (cls.__doc__ or "").strip().splitlines()[0], ""]
        run = {**dataclasses.asdict(d), "milestones": ", ".join(f"{m:.3g}" for m in d.milestones)}
        lines.append("Defaults: " + "; ".join(f"{k} {_plain(v)}" for k, v in run.items()) + ".")
        lines += ["", "| `-O` option | type | default | |", "| --- | --- | --- | --- |"]
        for row in describe_options(cls.Options):
            choices = f" One of: {', '.join(map(str, row['choices']))}." if row["choices"] else ""
            lines.append(
                f"| `{row['name']}` | {row['type']} | {_plain(row['default'])} | {_cell(row['help'] + choices)} |"
            )
        lines.append("")
    return "\n".join(lines)


def _plain(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "none" if value is None else str(value)


METHODS_BEGIN = "<!-- method options: generated by `make docs` from each method's dataclass; do not edit -->"
METHODS_END = "<!-- end of method options -->"


def methods_page(current: str) -> str:
    """docs/methods.md with its generated block (between the two markers) brought up to date."""
    head, _, rest = current.partition(METHODS_BEGIN)
    _, _, tail = rest.partition(METHODS_END)
    return f"{head}{METHODS_BEGIN}\n{method_options()}{METHODS_END}{tail}"


def render() -> str:
    """The whole of docs/cli.md."""
    sections = []
    for name, function in all_commands():
        sections.append(command_section(name, function))
        if name == "pretrain":
            sections.append("### Method options (`-O NAME=VALUE`)\n\n" + method_options().replace("### ", "#### "))
    return PREAMBLE + "\n" + "\n".join(sections)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["methods"]:
        print(methods_page(sys.stdin.read()), end="")
    else:
        print(render(), end="")
