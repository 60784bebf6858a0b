"""The Makefile's reproductions and the example pipelines: their commands are real, and they run."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from vidkit.cli import reference
from vidkit.methods import method_class
from vidkit.methods.options import parse_options

PYTHON_BIN = Path(sys.executable).parent
COMMANDS = {name: function for name, function, _ in reference.COMMANDS}
# The toy pipeline cut to seconds: every rule still runs, each as short as it can be.
QUICK = {
    "TCE_BACKBONE": "tiny2d",
    "TCE_SIZE": "32",
    "IIC_SIZE": "32",
    "IIC_CLIP": "8",
    "CLIPS_PER_VIDEO": "1",
    "TCE_PRETRAIN": "--steps 2 --batch-size 8",
    "IIC_PRETRAIN": "--steps 2 --batch-size 8 -O normalize=true",
    "TCE_FINETUNE": "--epochs 1 --batch-size 8",
    "IIC_FINETUNE": "--epochs 1 --batch-size 8",
    "LOADER_WORKERS": "0",
}


def make(*args: str, env_overrides: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    variables = [f"VIDKIT={sys.executable} -m vidkit", f"PY={sys.executable}"]
    variables += [f"{k}={v}" for k, v in (env_overrides or {}).items()]
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args, *variables],
        capture_output=True,
        text=True,
        check=check,
    )


def vidkit_lines(text: str) -> list[list[str]]:
    """Each `python -m vidkit CMD ...` line of `make -n` output, as its words after `-m vidkit`."""
    lines = []
    for line in text.splitlines():
        if " -m vidkit " in line:
            words = shlex.split(line.split(" -m vidkit ", 1)[1].split(" > ")[0])
            lines.append(words)
    return lines


def known_flags(command: str) -> set[str]:
    return {name for p in reference.parameters(COMMANDS[command]) if not p.argument for name in p.name.split(", ")}


@pytest.mark.parametrize(
    "target,data",
    [
        ("report", ""),
        ("ucf101-iic-retrieval", "/data/ucf101"),
        ("ucf101-tce-finetune", "/data/ucf101"),
        ("hmdb51-iic-finetune", "/data/hmdb51"),
    ],
)
def test_make_n_prints_only_real_commands_and_flags(target, data, tmp_path):
    out = make("-n", target, f"DATA={data}", f"RUN={tmp_path}/run").stdout
    lines = vidkit_lines(out)
    assert lines, out
    for words in lines:
        assert words[0] in COMMANDS, words
        flags = {w.split("=")[0] for w in words[1:] if w.startswith("--") or w in ("-o", "-q", "-O")}
        assert flags <= known_flags(words[0]), (words[0], flags - known_flags(words[0]))
        if words[0] == "pretrain":  # every -O NAME=VALUE is an option of that method, of the right type
            method = words[words.index("--method") + 1]
            given = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-O")
            parse_options(method_class(method).Options, given, method)
    text = " ".join(" ".join(w) for w in lines)
    assert "--seed 0" in text and "--device auto" in text
    if data:  # the paper settings, on the user's data
        assert f"{data}/videos" in text and ("--epochs 240" in text or "--epochs 50" in text)
        assert f"--dataset {target.split('-')[0]}" in text


def test_make_variables_reach_the_commands(tmp_path):
    out = make("-n", "iic-retrieval", "DATA=", f"RUN={tmp_path}", "SEED=7", "DEVICE=cuda:1").stdout
    for words in vidkit_lines(out):
        if words[0] in ("pretrain", "embed"):
            assert words[words.index("--seed") + 1] == "7" and words[words.index("--device") + 1] == "cuda:1"


def test_profile_toy_runs_the_short_recipes_on_given_data(tmp_path):
    """`PROFILE=toy DATA=...`: the demo's recipes on another dataset's videos and splits, no synth."""
    out = make("-n", "iic-retrieval", "tce-finetune", "DATA=/data/mini", "PROFILE=toy", f"RUN={tmp_path}").stdout
    lines = vidkit_lines(out)
    assert [w[0] for w in lines].count("synth") == 0
    extract = next(w for w in lines if w[0] == "extract-frames")
    assert extract[1] == "/data/mini/videos" and extract[extract.index("--annotations") + 1] == "/data/mini/splits"
    pretrain = {w[w.index("--method") + 1]: w for w in lines if w[0] == "pretrain"}
    assert "--steps" in pretrain["iic"] and "--epochs" not in pretrain["iic"]
    assert pretrain["tce"][pretrain["tce"].index("--size") + 1] == "32"
    paper = vidkit_lines(make("-n", "iic-retrieval", "DATA=/data/mini", f"RUN={tmp_path}").stdout)
    assert "--epochs" in next(w for w in paper if w[0] == "pretrain")
    bad = make("-n", "iic-retrieval", "DATA=", "PROFILE=paper", check=False)
    assert bad.returncode != 0 and "PROFILE=paper needs DATA" in bad.stderr


@pytest.mark.slow
def test_the_toy_reproduction_runs_end_to_end(tmp_path):
    """Every rule of `make report` on the toy data (the demo, cut to seconds); a second make does nothing."""
    run = tmp_path / "run"
    make("report", "DATA=", f"RUN={run}", env_overrides=QUICK)
    table = (run / "table.md").read_text().splitlines()
    assert table[0] == "| | retrieval top-1 | retrieval top-5 | finetune top-1 |"
    rows = table[2:]
    assert [r.split(" | ")[0] for r in rows] == [
        "| random init (tiny2d)",
        "| TCE (tiny2d)",
        "| random init (tiny)",
        "| IIC (tiny, rgb+res)",
    ]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert len(cells) == 3 and all(c.endswith("%") and 0 <= float(c[:-1]) <= 100 for c in cells), row
    retrieval = json.loads((run / "iic-retrieval.json").read_text())
    assert retrieval["queries"] == 80 and retrieval["gallery"] == 192  # the IIC family's own, larger store
    assert json.loads((run / "tce-retrieval.json").read_text())["gallery"] == 64
    assert (run / "iic-neighbours.csv").read_text().startswith("query_id,rank,gallery_id,score")
    for picture in ("random2d", "tce", "random3d-rgb", "iic-rgb"):
        assert (run / "tsne" / f"{picture}.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(run.glob("*.part.pt"))
    assert make("-q", "report", "DATA=", f"RUN={run}", env_overrides=QUICK, check=False).returncode == 0


@pytest.mark.slow
def test_example_pipelines_run(tmp_path):
    if shutil.which("jq") is None:
        pytest.skip("the examples read JSON with jq, which is not installed")
    env = dict(os.environ, PATH=f"{PYTHON_BIN}{os.pathsep}{os.environ['PATH']}", STEPS="2")
    out = tmp_path / "pipeline"
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "toy_pipeline.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "synth: 24 train + 12 test videos"
    assert lines[1].startswith(f"embed: {out}/train01.h5, 48 rows of")
    assert [line.split("\t")[0] for line in lines[-2:]] == ["top-1", "top-5"]
    assert 0 <= float(lines[-2].split("\t")[1]) <= float(lines[-1].split("\t")[1]) <= 1
    tsv = subprocess.run(
        [
            "bash",
            str(REPO / "examples" / "retrieval_by_modality.sh"),
            str(out / "iic.pt"),
            str(out / "frames.h5"),
            str(tmp_path / "modalities"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert tsv[0] == "modality\tpooling\ttop1\ttop5"
    assert [tuple(row.split("\t")[:2]) for row in tsv[1:]] == [
        ("rgb", "avg"),
        ("rgb", "iic"),
        ("res", "avg"),
        ("res", "iic"),
    ]
