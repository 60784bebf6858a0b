"""`vidkit import-checkpoint`'s core: a paper's file in, an ordinary `vidkit.ckpt/1` out.

Read without running code (`safe_pickle`), recognised by its keys (or named with `--from`),
renamed strictly by the paper's importer, then checked the way every later command will use it:
the backbone loads into vidkit's own module with `strict=True` and every shape equal, and each
head into the module it names. Only then is the checkpoint written, with the source's file name
and sha256 in its record, so a result can always be traced to the released file it came from.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vidkit import checkpoint as ckpt
from vidkit.checkpoint import importers
from vidkit.checkpoint.importers.mapping import Converted, Layout
from vidkit.checkpoint.safe_pickle import read_pickle
from vidkit.errors import CheckpointFormatError, UsageError
from vidkit.io.outputs import claim_output


@dataclass
class ImportResult:
    checkpoint: Path
    source: Path
    sha256: str
    converted: Converted

    def summary(self) -> dict:
        c = self.converted
        return {
            "checkpoint": str(self.checkpoint),
            "source": str(self.source),
            "sha256": self.sha256,
            "layout": c.layout,
            "backbone": c.backbone_name,
            "method": c.method,
            "mapped": len(c.backbone) + len(c.method_state) + len(c.head),
            "dropped": dict(Counter(c.dropped.values())),
            "input": c.input.to_dict(),
        }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def layout_of(payload) -> Layout:
    """The keys `importers.detect` looks at: top-level entries and, one level down, state-dict keys."""
    layout: Layout = {}

    def shape(value):
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None

    if not isinstance(payload, dict):
        return layout
    for key, value in payload.items():
        if isinstance(value, dict):
            layout.update({f"{key}/{k}": shape(v) for k, v in value.items()})
        layout[str(key)] = shape(value)
    return layout


# The heads a converted checkpoint may hold: key prefix -> the prefix the module's own keys lose.
HEADS = {"head.fc.": "head.", "head.net.": "head.", "rotation_head.": "rotation_head.", "fc.": "fc."}


def _head_module(prefix: str, state: dict[str, torch.Tensor], width: int) -> nn.Module:
    """The vidkit module of a head, sized from the backbone's width and the head's own output."""
    from vidkit.models.heads import MLPProjectionHead, ProjectionHead, RotationHead

    if prefix == "head.fc.":
        return ProjectionHead(width, state["fc.weight"].shape[0])
    if prefix == "head.net.":
        return MLPProjectionHead(width, state["net.2.weight"].shape[0])
    if prefix == "rotation_head.":
        return RotationHead(width)
    return nn.Linear(width, state["weight"].shape[0])


def verify(converted: Converted) -> None:
    """Load the backbone and each head strictly into vidkit's modules (every key, every shape).

    Raises:
        CheckpointFormatError: a key missing or left over, or a shape that differs.
        UnknownNameError: the backbone is not registered.
    """
    from vidkit.models import create_backbone

    backbone = create_backbone(converted.backbone_name, **converted.backbone_kwargs)
    try:
        ckpt.load_strict(backbone, converted.backbone, what=f"vidkit {converted.backbone_name} backbone")
    except CheckpointFormatError as exc:
        if not converted.described:
            raise
        raise CheckpointFormatError(f"this checkpoint is {converted.described}; {exc}") from exc
    for part in (converted.method_state, converted.head):
        groups: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in part.items():
            prefix = next((p for p in HEADS if key.startswith(p)), None)
            if prefix is None:
                raise CheckpointFormatError(f"no vidkit head holds {key}")
            groups.setdefault(prefix, {})[key[len(HEADS[prefix]) :]] = value
        for prefix, state in groups.items():
            head = _head_module(prefix, state, backbone.num_features)
            ckpt.load_strict(head, state, what=f"{prefix.rstrip('.')} head ({type(head).__name__})")


def import_checkpoint(
    source: str | Path, out: str | Path, *, paper: str | None = None, force: bool = False
) -> ImportResult:
    """Convert a paper's released checkpoint (`paper`: vince, iic, tce, la; None: detected) into `out`.

    Raises:
        CheckpointFormatError: unreadable, refused by the safe unpickler, keys without a place, shapes that differ.
        UsageError: the paper cannot be told from the keys, or `out` is `source`.
        OutputExistsError: `out` is another checkpoint (unless `force`).
    """
    source, out = Path(source), Path(out)
    chosen = importers.importer(paper) if paper is not None else None  # a wrong --from fails before any reading
    if not source.is_file():
        raise CheckpointFormatError(f"no such file: {source}")
    digest = sha256(source)

    def existing(path: Path) -> str | None:
        """Re-importing the same file may replace its own earlier result; anything else needs --force."""
        try:
            if ckpt.load(path).training.get("imported", {}).get("sha256") == digest:
                return None
        except ckpt.CheckpointFormatError:
            pass
        return ckpt.describe(path)

    with claim_output(out, inputs=[source], existing=existing, force=force):
        payload = read_pickle(source)
        if isinstance(payload, dict) and payload.get("format") == ckpt.FORMAT:
            ckpt.load(source)  # a damaged one is named as such (CheckpointFormatError), not as usable
            raise UsageError(f"{source} is already a vidkit checkpoint ({ckpt.FORMAT}); use it as it is")
        name = paper or importers.detect(layout_of(payload))
        converted = (chosen or importers.importer(name))(payload, source)
        verify(converted)
        record = {"file": source.name, "sha256": digest, "paper": name, "layout": converted.layout, **converted.info}
        ckpt.save(
            ckpt.Checkpoint(
                backbone_name=converted.backbone_name,
                backbone_kwargs=converted.backbone_kwargs,
                backbone=converted.backbone,
                input=converted.input,
                method=converted.method,
                hparams=converted.hparams,
                method_state=converted.method_state,
                head=converted.head,
                training={"complete": True, "imported": record, "dropped": sorted(converted.dropped)},
            ),
            out,
        )
    return ImportResult(out, source, digest, converted)
