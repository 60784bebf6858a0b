"""Every scrape stage claims its outputs as the other commands do (issue 28, items 2 and 3).

`vidkit scrape search queries.txt -o queries.txt` once exited 0 having replaced the queries by a
header-only TSV, and `scrape download` replaced a user's own `vid1.mp4` in `-o` without a word.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from vidkit.cli.app import app
from vidkit.errors import OutputExistsError
from vidkit.scrape.download import DownloadOptions, download
from vidkit.scrape.targets import Target

MINE = b"my own video, not from any server\n"


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.stderr
    return lines[0]


def _inputs(tmp_path, server):
    """One input list per stage, each a real list the stage would accept."""
    paths = {
        "search": tmp_path / "queries.txt",
        "download": tmp_path / "urls.txt",
        "cache": tmp_path / "urls.txt",
        "r2v2": tmp_path / "ids.txt",
        "kinetics": tmp_path / "validate.csv",
    }
    paths["search"].write_text("cats\ndogs\n")
    paths["download"].write_text("good\n")
    paths["r2v2"].write_text("bikes,0,10,20,30\n")
    paths["kinetics"].write_text("label,youtube_id,time_start,time_end\nbiking,bikes,0,2\n")
    return paths


def _args(stage, server, listing, out, *extra):
    source = ["--source", server.base + "/feed?q={query}"] if stage == "search" else []
    template = [] if stage == "search" else ["--url-template", server.base + "/ok/{id}.mp4"]
    return ["scrape", stage, str(listing), "-o", str(out), *source, *template, "--json", *extra]


@pytest.mark.parametrize("stage", ["search", "download", "cache", "r2v2", "r2v2-folders", "kinetics"])
def test_an_output_that_is_the_input_is_a_usage_error_and_the_input_is_kept(runner, server, tmp_path, stage):
    name, extra = ("r2v2", ["--format", "folders"]) if stage == "r2v2-folders" else (stage, [])
    listing = _inputs(tmp_path, server)[name]
    before = _digest(listing)
    line = _one_error_line(runner.invoke(app, _args(name, server, listing, listing, *extra)), 2)
    assert "also an input" in line
    assert _digest(listing) == before
    assert not server.requests  # refused before any request
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({p.name for p in _inputs(tmp_path, server).values()})


@pytest.mark.parametrize(
    ("stage", "written"),
    [
        ("kinetics", "annotations/kinetics.csv"),  # a rerun given the annotations a run wrote
        ("cache", "frames.h5.ledger.jsonl"),
        ("download", "ledger.jsonl"),
    ],
)
def test_a_file_a_stage_writes_beside_its_output_may_not_be_an_input(runner, server, tmp_path, stage, written):
    out = tmp_path / ("frames.h5" if stage == "cache" else "out")
    listing = (out if stage != "cache" else tmp_path) / written
    listing.parent.mkdir(parents=True, exist_ok=True)
    _inputs(tmp_path, server)  # writes the lists; this test's list is a copy in the output's place
    listing.write_bytes((tmp_path / ("validate.csv" if stage == "kinetics" else "urls.txt")).read_bytes())
    before = _digest(listing)
    assert "also an input" in _one_error_line(runner.invoke(app, _args(stage, server, listing, out)), 2)
    assert _digest(listing) == before and not server.requests


@pytest.mark.parametrize(
    ("stage", "what", "message"),
    [
        ("search", "file", "scrape search did not write"),
        ("download", "file", "a file, not a folder"),
        ("cache", "file", "not a frame store"),
        ("r2v2", "file", "not a frame store"),
        ("kinetics", "file", "a file, not a folder"),
        ("kinetics", "reports", "scrape kinetics did not write (it holds availability.tsv)"),
    ],
)
def test_an_existing_output_of_another_kind_needs_force(runner, server, tmp_path, stage, what, message):
    listing = _inputs(tmp_path, server)[stage]
    out = tmp_path / "out"
    if what == "file":
        out.write_bytes(MINE)
    else:
        out.mkdir()
        (out / "availability.tsv").write_bytes(MINE)
    mine = out if what == "file" else out / "availability.tsv"
    line = _one_error_line(runner.invoke(app, _args(stage, server, listing, out)), 2)
    assert message in line and "--force" in line
    assert mine.read_bytes() == MINE and not server.requests
    forced = runner.invoke(app, _args(stage, server, listing, out, "--force"))
    assert forced.exit_code == 0, forced.output
    assert not mine.is_file() or mine.read_bytes() != MINE


def test_a_stage_resumes_its_own_output(runner, server, tmp_path):
    """Claiming changes nothing for reruns: a search TSV is replaced, a store and folders resumed."""
    paths = _inputs(tmp_path, server)
    server.feeds["cats"] = [("good", "/ok/good.mp4", 10)]
    for stage, out in (("search", "urls.tsv"), ("cache", "f.h5"), ("kinetics", "k"), ("download", "v")):
        for _ in range(2):
            extra = ["--sample-every", "1", "--max-frames", "30"] if stage == "cache" else []
            result = runner.invoke(app, _args(stage, server, paths[stage], tmp_path / out, *extra))
            assert result.exit_code == 0, (stage, result.output)
    assert json.loads(result.stdout)["skipped"] == 1  # the second download


# ------------------------------------------------------------------ item 3: files in -o that vidkit did not write


def test_download_refuses_to_replace_a_file_it_did_not_write(runner, server, tmp_path):
    listing = _inputs(tmp_path, server)["download"]  # the id `good`
    out = tmp_path / "videos"
    out.mkdir()
    (out / "good.mp4").write_bytes(MINE)
    (out / "notes.txt").write_bytes(MINE)  # another name: no download goes there
    line = _one_error_line(runner.invoke(app, _args("download", server, listing, out)), 2)
    assert "good.mp4" in line and "did not write" in line and "--force" in line
    assert (out / "good.mp4").read_bytes() == MINE and not server.requests
    assert sorted(p.name for p in out.iterdir()) == ["good.mp4", "notes.txt"]  # not even an empty ledger
    forced = runner.invoke(app, _args("download", server, listing, out, "--force"))
    assert forced.exit_code == 0 and json.loads(forced.stdout)["downloaded"] == 1, forced.output
    assert (out / "good.mp4").read_bytes() != MINE


def test_files_the_ledger_says_vidkit_wrote_are_resumed_as_before(server, tmp_path):
    out, fast = tmp_path / "videos", DownloadOptions(backoff=0.01, retries=0)
    targets = [Target("good", server.url("ok", "good")), Target("flaky", server.url("500-1", "bikes"))]
    first = download(targets, out, options=fast)
    assert (first.downloaded, first.pending) == (1, 1)
    (out / "flaky.mp4").write_bytes(MINE)  # the user's file under the id still to fetch
    with pytest.raises(OutputExistsError, match="flaky.mp4"):
        download(targets, out, options=fast)
    assert (out / "flaky.mp4").read_bytes() == MINE
    (out / "flaky.mp4").unlink()
    (out / "good.mp4").unlink()  # vidkit's own, deleted by hand: fetched again, no refusal
    again = download(targets, out, options=fast)
    assert (again.downloaded, again.skipped) == (2, 0)
    third = download(targets, out, options=fast)  # both done and there: skipped, nothing refused
    assert (third.downloaded, third.skipped) == (0, 2)
