"""Usage errors are one `error:` line and exit status 2, like every other error (not Typer's box)."""

from __future__ import annotations

import pytest

from vidkit.cli.app import app


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["pretrain", "--method", "pirl", "--lr", "nan", "f.h5", "-o", "p.pt"], "--lr nan is not a finite number"),
        (["finetune", "f.h5", "--backbone", "tiny", "-o", "p.pt", "--lr", "-1"], "--lr -1.0 is negative"),
        (["pretrain", "--method", "tce", "f.h5", "-o", "p.pt", "--weight-decay", "inf"], "--weight-decay inf"),
        (["cluster-idt", "--k", "0", "f.h5", "-o", "c.h5"], "'--k'"),
        (["pretrain", "--bogus"], "No such option: --bogus"),
        (["info"], "Missing argument"),
        (["scrape", "search", "--bogus"], "(see 'vidkit scrape search --help')"),
    ],
)
def test_a_usage_error_is_one_line(runner, tmp_path, monkeypatch, argv, said):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, argv, prog_name="vidkit")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert said in result.stderr and "╭" not in result.stderr


def test_no_arguments_still_shows_the_help(runner):
    result = runner.invoke(app, ["scrape"], prog_name="vidkit")
    assert "Usage:" in result.stderr + result.stdout and "download" in result.stderr + result.stdout
