"""The `vidkit` Typer app: global options, one error handler, and every command registered in one place.

Commands import their core modules inside the function body, so `vidkit --help` loads neither
torch nor h5py nor PyAV (a test checks it).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # newer Typer vendors Click
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError
except ImportError:  # pragma: no cover - older Typer on Click
    from click.exceptions import NoArgsIsHelpError
    from click.exceptions import UsageError as ClickUsageError

from vidkit import __version__
from vidkit.cli import output
from vidkit.cli.commands.build_index import build_index
from vidkit.cli.commands.cluster_idt import cluster_idt
from vidkit.cli.commands.embed import embed
from vidkit.cli.commands.extract_frames import extract_frames
from vidkit.cli.commands.finetune import finetune
from vidkit.cli.commands.import_checkpoint import import_checkpoint
from vidkit.cli.commands.info import info
from vidkit.cli.commands.linear_probe import linear_probe
from vidkit.cli.commands.merge import merge
from vidkit.cli.commands.pretrain import pretrain
from vidkit.cli.commands.retrieve import retrieve
from vidkit.cli.commands.scrape import scrape
from vidkit.cli.commands.synth import synth
from vidkit.cli.commands.track import track
from vidkit.cli.commands.tsne import tsne
from vidkit.errors import UsageError, VidkitError


class _OneLineUsageErrors(TyperGroup):
    """The root command, whose usage errors (an unknown option, a value out of range, a missing
    argument) are one `error:` line and exit status 2, like every other error, instead of Typer's
    five-line box: a Slurm log or a pipeline's stderr gets one grep-able line either way."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # `vidkit scrape` alone: its help, as before
            exc.show()
            sys.exit(exc.exit_code)
        except ClickUsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "vidkit"
            output.error(f"{exc.format_message()} (see '{where} --help')")
            sys.exit(exc.exit_code)
        except typer.Abort:
            output.error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineUsageErrors,
    name="vidkit",
    help="Self-supervised video representation learning, from raw videos to evaluation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold whole tensors
    add_completion=False,
    rich_markup_mode="markdown",  # docstrings are Markdown: the same text makes docs/cli.md
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidkit {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress bars.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vidkit: self-supervised video representation learning, from raw videos to evaluation."""
    output.setup_logging(-1 if quiet else verbose)


def _guarded(command):
    """Turn a `VidkitError` into one `error: ...` line and exit status 1 (`VIDKIT_DEBUG=1` shows the traceback)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VidkitError as exc:
            if os.environ.get("VIDKIT_DEBUG"):
                raise
            output.error(str(exc))
            raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
        except KeyboardInterrupt:
            output.error("interrupted; rerun the same command to resume")
            raise typer.Exit(130) from None

    return run


# (name, function, help panel) in the order of `vidkit --help` and docs/cli.md.
COMMANDS = (
    ("synth", synth, "Data"),
    ("extract-frames", extract_frames, "Data"),
    ("merge", merge, "Data"),
    ("info", info, "Data"),
    ("pretrain", pretrain, "Learn"),
    ("finetune", finetune, "Learn"),
    ("cluster-idt", cluster_idt, "Learn"),
    ("import-checkpoint", import_checkpoint, "Learn"),
    ("embed", embed, "Analyse"),
    ("build-index", build_index, "Analyse"),
    ("retrieve", retrieve, "Analyse"),
    ("linear-probe", linear_probe, "Analyse"),
    ("tsne", tsne, "Analyse"),
)
for _name, _function, _panel in COMMANDS:
    app.command(name=_name, rich_help_panel=_panel)(_guarded(_function))

# (name, sub-app, help panel): groups of subcommands (scrape search, download, ...), each guarded alike.
GROUPS = (("scrape", scrape, "Data"), ("track", track, "Analyse"))
for _name, _group, _panel in GROUPS:
    for _command in _group.registered_commands:
        _command.callback = _guarded(_command.callback)
    app.add_typer(_group, name=_name, rich_help_panel=_panel)


def main() -> None:
    app()
