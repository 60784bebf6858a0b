"""`vidkit synth` through the CLI."""

from __future__ import annotations

import json

from vidkit.cli.app import app


def test_synth_json(runner, tmp_path):
    result = runner.invoke(
        app,
        [
            "synth",
            str(tmp_path / "d"),
            "--classes",
            "2",
            "--train-per-class",
            "1",
            "--test-per-class",
            "1",
            "--frames",
            "4",
            "--size",
            "16",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["classes"], summary["train"], summary["test"]) == (2, 2, 2)
    assert len(list((tmp_path / "d" / "videos").rglob("*.mp4"))) == 4


def test_synth_bad_size_is_one_line(runner, tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "d"), "--size", "33"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: --size must be an even number of at least 16 pixels, got 33"]
