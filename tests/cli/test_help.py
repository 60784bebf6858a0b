"""Every command has help with an example and a docs section; `vidkit --help` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from vidkit.cli.app import GROUPS, app

COMMANDS = sorted(command.name for command in app.registered_commands)
COMMANDS += [f"{name} {command.name}" for name, group, _ in GROUPS for command in group.registered_commands]


def test_commands_are_registered():
    assert {"synth", "extract-frames", "info"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example_and_docs(runner, name):
    result = runner.invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"vidkit {name}" in result.stdout
    assert f"## `vidkit {name}`" in (REPO / "docs" / "cli.md").read_text()


def test_cli_reference_is_generated_from_the_commands():
    """docs/cli.md is `python -m vidkit.cli.reference` output: run `make docs` after changing a command."""
    from vidkit.cli import reference

    assert (REPO / "docs" / "cli.md").read_text() == reference.render(), "docs/cli.md is stale: run `make docs`"
    methods = (REPO / "docs" / "methods.md").read_text()
    assert reference.METHODS_BEGIN in methods and methods == reference.methods_page(methods), (
        "docs/methods.md is stale: run `make docs`"
    )


def test_reference_reads_options_as_typer_does(runner):
    """Every option the table names is one `--help` lists, with the default `--help` shows."""
    from vidkit.cli import reference
    from vidkit.methods import method_names

    params = {p.name: p for p in reference.parameters(dict((n, f) for n, f, _ in reference.COMMANDS)["pretrain"])}
    assert params["-o, --output"].required and params["--method"].kind == "|".join(method_names())
    assert params["--no-amp"].default == "" and params["--resume"].default == ""
    assert params["--warmup-steps"].kind == "int (>= 0)" and params["FRAMES"].argument
    text = runner.invoke(app, ["pretrain", "--help"], env={"COLUMNS": "300"}).stdout
    for name in params:
        if not params[name].argument:
            assert name.split(", ")[-1] in text


def test_help_imports_no_heavy_library():
    code = "import sys; from vidkit.cli.app import app; print(sorted(m for m in ('torch','h5py','av','cv2','faiss') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip() == "[]"


def test_version(runner):
    from vidkit import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"vidkit {__version__}"


def test_usage_error_exits_2(runner):
    assert runner.invoke(app, ["extract-frames", "--no-such-flag"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
