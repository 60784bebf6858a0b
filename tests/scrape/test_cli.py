"""The `vidkit scrape` commands: one JSON object on stdout, one `error:` line on failure, help with examples."""

from __future__ import annotations

import json

import pytest

from vidkit.cli.app import app

SUBCOMMANDS = ["search", "download", "cache", "r2v2", "kinetics"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_has_an_example(runner, name):
    result = runner.invoke(app, ["scrape", name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"vidkit scrape {name}" in result.stdout


def test_search_then_download_then_cache_through_the_cli(runner, server, tmp_path):
    server.feeds["cats"] = [
        ("good", "/ok/good.mp4", 10),
        ("letterboxed", "/ok/letterboxed.mp4", 10),
        ("blank", "/ok/blank.mp4", 10),
    ]
    (tmp_path / "queries.txt").write_text("cats\n")
    urls = tmp_path / "urls.tsv"
    result = runner.invoke(
        app,
        [
            "scrape",
            "search",
            str(tmp_path / "queries.txt"),
            "-o",
            str(urls),
            "--json",
            "--source",
            server.base + "/feed?q={query}",
            "--val",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["videos"] == 3

    result = runner.invoke(
        app,
        [
            "scrape",
            "download",
            str(urls),
            "-o",
            str(tmp_path / "videos"),
            "--json",
            "--backoff",
            "0.01",
            "--rate-limit",
            "50M",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["downloaded"] == 3 and summary["failed"] == 0
    assert sorted(p.name for p in (tmp_path / "videos").glob("*.mp4")) == ["blank.mp4", "good.mp4", "letterboxed.mp4"]

    result = runner.invoke(
        app,
        [
            "scrape",
            "cache",
            str(urls),
            "-o",
            str(tmp_path / "f.h5"),
            "--json",
            "--sample-every",
            "1",
            "--max-frames",
            "30",
            "--frames",
            "4",
            "--backoff",
            "0.01",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["cached"], summary["dropped"]) == (2, 1) and summary["reasons"] == {"too_few_frames": 1}


def test_ids_from_stdin_with_a_url_template(runner, server, tmp_path):
    result = runner.invoke(
        app,
        [
            "scrape",
            "download",
            "-",
            "-o",
            str(tmp_path / "v"),
            "--json",
            "--url-template",
            server.base + "/ok/{id}.mp4",
        ],
        input="good\nbikes\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["downloaded"] == 2


def test_r2v2_and_kinetics_through_the_cli(runner, server, tmp_path):
    (tmp_path / "ids.txt").write_text("bikes,0,10,20,30")
    result = runner.invoke(
        app,
        [
            "scrape",
            "r2v2",
            str(tmp_path / "ids.txt"),
            "-o",
            str(tmp_path / "r2v2"),
            "--format",
            "folders",
            "--url-template",
            server.base + "/ok/{id}.mp4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["available"] == 1 and len(list((tmp_path / "r2v2" / "bi").glob("*.jpg"))) == 4
    (tmp_path / "validate.csv").write_text("label,youtube_id,time_start,time_end\nbiking,bikes,0,2\n")
    result = runner.invoke(
        app,
        [
            "scrape",
            "kinetics",
            str(tmp_path / "validate.csv"),
            "-o",
            str(tmp_path / "k"),
            "--url-template",
            server.base + "/ok/{id}.mp4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["available"] == 1
    assert (tmp_path / "k" / "videos" / "validate" / "biking" / "bikes_000000_000002.mp4").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["r2v2", "{ids}", "-o", "{out}"], 1, "line 1"),  # a malformed id list
        (["download", "{missing}", "-o", "{out}"], None, "cannot read"),
        (["download", "{ids}", "-o", "{out}", "--url-template", "http://x/"], None, "{id}"),
        (["download", "{ids}", "-o", "{out}", "--rate-limit", "fast"], 2, "rate"),
        (["cache", "{ids}", "-o", "{out}", "--frames", "9", "--max-frames", "4"], 2, "--frames"),
        (["kinetics", "{ids}", "-o", "{out}"], 1, "missing column"),
    ],
)
def test_bad_input_is_one_error_line(runner, tmp_path, args, code, message):
    (tmp_path / "ids.txt").write_text("not-an-id-list\n")
    paths = {"ids": tmp_path / "ids.txt", "out": tmp_path / "out", "missing": tmp_path / "nope.txt"}
    result = runner.invoke(app, ["scrape"] + [a.format(**paths) if a.startswith("{") else a for a in args])
    assert result.exit_code in ((1, 2) if code is None else (code,))
    assert message in result.stderr
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.stderr.count("error:") == 1 and result.stdout == ""
