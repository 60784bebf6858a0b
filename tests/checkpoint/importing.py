"""Writing a paper's file with plain `torch.save` and importing it, as a user would."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.checkpoint.fakes import papers_classes
from vidkit import checkpoint as ckpt
from vidkit.checkpoint.importers import convert


def import_file(tmp_path: Path, payload, name: str = "released.pth", **kwargs):
    """Save `payload` as `tmp_path/name` (the papers' classes installed), import it; (result, loaded checkpoint)."""
    source = tmp_path / name
    source.parent.mkdir(parents=True, exist_ok=True)
    with papers_classes():
        torch.save(payload, source)
    out = tmp_path / "imported.pt"
    result = convert.import_checkpoint(source, out, **kwargs)
    raw = torch.load(out, map_location="cpu", weights_only=True)  # an ordinary vidkit.ckpt/1
    assert raw["format"] == ckpt.FORMAT
    saved = ckpt.load(out)
    assert (
        saved.training["imported"]["sha256"] == result.sha256
        and saved.training["imported"]["file"] == name.split("/")[-1]
    )
    return result, saved, out
