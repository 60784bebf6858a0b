"""The end-task table (examples/endtask_table.py) and mk/endtasks.mk's commands."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO
from tests.test_reproductions import known_flags, make, vidkit_lines


def _table_module():
    spec = importlib.util.spec_from_file_location("endtask_table", REPO / "examples" / "endtask_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_has_the_seeds_columns_and_blanks_for_tasks_not_run(tmp_path):
    (tmp_path / "vince-imagenet.json").write_text(json.dumps({"imagenet_top1": 0.4, "imagenet_top5": 0.6}))
    (tmp_path / "vince-kinetics.json").write_text(json.dumps({"kinetics_top1": 0.3621, "kinetics_video_top1": 0.5}))
    (tmp_path / "vince-otb.json").write_text(json.dumps({"otb_precision": 0.629, "otb_success": 0.465, "fps": 9}))
    lines = _table_module().table(tmp_path, ["vince", "random-resnet18"]).splitlines()
    assert lines[0] == "| | ImageNet | SUN | Kinetics | OTB precision | OTB success |"
    assert lines[2] == "| vince | 0.400 |  | 0.362 | 0.629 | 0.465 |"
    assert lines[3] == "| random-resnet18 |  |  |  |  |  |"
    (tmp_path / "vince-sun397.json").write_text(json.dumps({"test_top1": 0.5}))
    with pytest.raises(SystemExit, match="no sun397 result"):
        _table_module().table(tmp_path, ["vince"])


@pytest.mark.parametrize("data", ["", "/data"])
def test_make_n_endtasks_prints_real_commands_for_every_row(data, tmp_path):
    ckpt = tmp_path / "vince.pt"
    ckpt.touch()
    out = make("-n", "endtasks", f"DATA={data}", f"RUN={tmp_path}/run", f"CKPTS={ckpt} random-resnet50").stdout
    lines = [w for w in vidkit_lines(out) if w[0] == "finetune"]
    assert len(lines) == 6, out  # three probes for each of the two rows
    for words in lines:
        flags = {w.split("=")[0] for w in words[1:] if w.startswith("--") or w in ("-o", "-q", "-O")}
        assert flags <= known_flags("finetune"), flags - known_flags("finetune")
    text = out.replace(str(tmp_path), "TMP")
    for task in ("imagenet", "sun397", "kinetics"):
        assert f"-o TMP/run/endtasks/vince-{task}.pt" in text and "--backbone resnet50" in text
        assert f"TMP/run/endtasks/random-resnet50-{task}.json" in text
    assert "examples/endtask_table.py TMP/run/endtasks vince random-resnet50 > TMP/run/endtasks/table.md" in text
    if data:  # the seed's settings on the user's data: the presets, with the official SUN397 lists
        assert "--sun397-splits /data/sun397/train_test" in text and "--fps 10" in text
        assert "--epochs" not in " ".join(" ".join(w) for w in lines)
