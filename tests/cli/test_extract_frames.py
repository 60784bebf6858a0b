"""`vidkit extract-frames` and `vidkit info` through the CLI: output contract and exit codes."""

from __future__ import annotations

import json

from vidkit.cli.app import app


def test_real_clips_plus_text_file(runner, tmp_path, real_clips):
    """Acceptance: three real clips and a text file named .mp4 -> 3 videos, 1 failure, 502 frames, exit 0."""
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("text")
    args = ["extract-frames", *map(str, real_clips.values()), str(bogus), "-o", str(tmp_path / "f.h5"), "--size", "64"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["videos"], summary["failed"], summary["frames"]) == (3, 1, 502)
    info = runner.invoke(app, ["info", str(tmp_path / "f.h5"), "--failures", "--json"])
    assert json.loads(info.stdout)["failures"][0]["source"] == str(bogus)
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1 and strict.stderr.strip().splitlines()[-1].startswith("error: 1 input(s) failed")


def test_stdin_paths_and_annotations(runner, tmp_path, synth_dir):
    paths = "\n".join(str(p) for p in sorted((synth_dir / "videos").rglob("*.mp4"))) + "\n"
    result = runner.invoke(
        app,
        [
            "extract-frames",
            "-",
            "-o",
            str(tmp_path / "f.h5"),
            "--annotations",
            str(synth_dir / "splits"),
            "--dataset",
            "ucf101",
            "--json",
        ],
        input=paths,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["videos"] == 9
    info = json.loads(runner.invoke(app, ["info", str(tmp_path / "f.h5"), "--json"]).stdout)
    assert info["classes"] == 3 and info["splits"] == {"test01": 3, "train01": 6} and info["complete"]


def test_errors_are_one_line_with_exit_1(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    cases = [
        ["extract-frames", str(tmp_path / "empty"), "-o", str(tmp_path / "f.h5")],
        ["info", str(tmp_path / "nothing.h5")],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")


def test_annotations_need_a_dataset(runner, tmp_path, synth_dir):
    result = runner.invoke(
        app,
        [
            "extract-frames",
            str(synth_dir / "videos"),
            "-o",
            str(tmp_path / "f.h5"),
            "--annotations",
            str(synth_dir / "splits"),
        ],
    )
    assert result.exit_code == 2
