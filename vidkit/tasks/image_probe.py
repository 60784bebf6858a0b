"""VINCE's image-classification end tasks (vince.md 6.3): ImageNet and SUN397 probes on a frozen backbone.

Both train one linear layer on the global-average-pooled layer-4 features of a backbone frozen in
eval mode (its weights and BN statistics untouched), over a frame store of one-frame videos, and
report top-1 and top-5. They are fine-tuning's linear mode (`finetune` with `linear=True` and
`task="frames"`) with the seed's optimiser and schedule per dataset as presets:

- imagenet: SGD (momentum 0.9, no weight decay), lr 30, x0.1 at epochs 60 and 80 of 100,
  batches of 256, 224 px, random crops and flips;
- sun397: Adam (no weight decay), lr 0.01, x0.1 at epochs 500/1000/1500 of 2000, batches of 256,
  224 px, random crops; train and test images from SUN397's official split files
  (`Training_01.txt`, `Testing_01.txt`; `vidkit.io.sun397`) when they are given, else the
  store's named splits.

Options given explicitly override a preset's values. NOTE (docs/probes.md): the seed trained a
linear and an MLP head side by side and reported the linear one (issue #17); here one head is
trained, linear by default, the MLP (`head="mlp"`, at the seed's 0.01x rate on ImageNet) only on
request. No validation part is held out: the seed tested the last epoch.

[0] VINCE, Gordon et al., 2020, arXiv:2003.07990, section 4.3; the seed's EndTaskImagenetSolver
and EndTaskSunSceneSolver.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from vidkit.errors import UsageError, VidkitError
from vidkit.io import sun397
from vidkit.io.frame_store import FrameStore
from vidkit.tasks import finetune as finetuning

DATASETS = ("imagenet", "sun397")

_COMMON = {"linear": True, "task": "frames", "schedule": "step", "val_fraction": 0.0, "test_clips": 1, "size": 224}
PRESETS: dict[str, dict] = {
    "imagenet": {
        **_COMMON,
        "optimizer": "sgd",
        "lr": 30.0,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "epochs": 100,
        "milestones": (0.6, 0.8),
        "batch_size": 256,
        "flip": True,
    },
    "sun397": {
        **_COMMON,
        "optimizer": "adam",
        "lr": 0.01,
        "weight_decay": 0.0,
        "epochs": 2000,
        "milestones": (0.25, 0.5, 0.75),
        "batch_size": 256,
        "flip": False,
    },
}
MLP_LR_SCALE = {"imagenet": 0.01, "sun397": 1.0}  # the seed's rate of its MLP head against the linear one's
FORCED = ("linear", "task")  # what makes it a probe: never overridden


def preset_config(dataset: str, config: finetuning.FinetuneConfig, given: set[str]) -> finetuning.FinetuneConfig:
    """`config` with the preset of `dataset` for every field not in `given` (the options set explicitly).

    Raises:
        VidkitError: unknown dataset.
    """
    if dataset not in PRESETS:
        raise VidkitError(f"unknown image probe {dataset!r}; choose one of {', '.join(DATASETS)}")
    values = {k: v for k, v in PRESETS[dataset].items() if k not in given or k in FORCED}
    if config.head == "mlp" and "lr" not in given:
        values["lr"] = PRESETS[dataset]["lr"] * MLP_LR_SCALE[dataset]
    return replace(config, **values)


@dataclass
class ImageProbeResult:
    dataset: str
    result: finetuning.FinetuneResult

    def summary(self) -> dict:
        summary = self.result.summary()
        return {
            f"{self.dataset}_top1": summary["test_top1"],
            f"{self.dataset}_top5": summary["test_top5"],
            "probe": self.dataset,
            **summary,
        }


def image_probe(
    frames: Path,
    out: Path | None,
    *,
    dataset: str,
    checkpoint: Path | None = None,
    backbone: str | None = None,
    config: finetuning.FinetuneConfig,
    sun397_splits: Path | None = None,
    fold: int = 1,
    test_only: bool = False,
    resume: bool = False,
    force: bool = False,
    progress=None,
) -> ImageProbeResult:
    """Train and test the probe of `dataset` (`config` already holds its preset: `preset_config`).

    Raises:
        UsageError, VidkitError: as `finetune.finetune`; AnnotationError for bad SUN397 split files.
    """
    if dataset not in PRESETS:
        raise VidkitError(f"unknown image probe {dataset!r}; choose one of {', '.join(DATASETS)}")
    if not (config.linear and config.task == "frames"):
        raise VidkitError("an image probe is a frozen backbone on single frames: use preset_config")
    splits = None
    if sun397_splits is not None:
        if dataset != "sun397":
            raise VidkitError("--sun397-splits goes with --probe sun397")
        with FrameStore(frames) as store:
            table = store.table()
        found = sun397.load_splits(sun397_splits, table["id"], table["source"], fold=fold)
        splits = finetuning.LabelledSplits(
            found.train_videos, found.train_labels, found.test_videos, found.test_labels, found.classes
        )
    result = finetuning.finetune(
        frames,
        out,
        checkpoint=checkpoint,
        backbone=backbone,
        config=config,
        test_only=test_only,
        resume=resume,
        force=force,
        splits=splits,
        progress=progress,
    )
    return ImageProbeResult(dataset, result)


def run(request) -> tuple[dict, str]:
    """`finetune --probe imagenet|sun397` (`tasks.probes.ProbeRequest`): the preset, then the probe.

    Raises:
        UsageError: an option of the LSTM probe (`--features`).
    """
    if request.features is not None:
        raise UsageError("--features goes with --probe kinetics-lstm")
    config = preset_config(request.name, request.config, request.given)
    result = image_probe(
        request.frames,
        request.output,
        dataset=request.name,
        checkpoint=request.checkpoint,
        backbone=request.backbone,
        config=config,
        sun397_splits=request.sun397_splits,
        fold=request.fold,
        test_only=request.test_only,
        resume=request.resume,
        force=request.force,
        progress=request.progress,
    )
    t = result.result.test
    return result.summary(), f"{t.videos} test images: top-1 {t.top1 * 100:.2f}%  top-5 {t.top5 * 100:.2f}%"
