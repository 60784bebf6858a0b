"""Input recipes: how a model's inputs were made (clip length, stride, size, normalisation, modality).

A recipe travels with every checkpoint, and later commands take it as their defaults, as timm's
`pretrained_cfg` and CLIP's `(model, preprocess)` do: the transform always matches the weights.
Torch-free, so that method defaults and the CLI can use it without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Values left in [0, 1]: what IIC's C3D/R3D/R(2+1)D were trained on (iic.md 2).
UNIT_MEAN = (0.0, 0.0, 0.0)
UNIT_STD = (1.0, 1.0, 1.0)


@dataclass
class InputRecipe:
    """How a model's inputs were made; later commands use it as their defaults."""

    clip_len: int = 1
    stride: int = 1
    size: int = 112
    modality: str = "rgb"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resize: tuple[int, int] | None = None  # frames resized to (h, w) before cropping (IIC: 128x171); None: short side

    def clip_reading(self) -> dict:
        """The keywords with which `data.datasets.ClipDataset` and `TrainClipDataset` read clips this way.

        Fine-tuning trains on, and evaluation tests on, clips made exactly as the weights' recipe says;
        both datasets take every field of it, so the keywords are the fields themselves.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> dict:
        """The fields as a checkpoint stores them (JSON values: tuples as lists)."""
        resize = list(self.resize) if self.resize else None
        return {**self.clip_reading(), "mean": list(self.mean), "std": list(self.std), "resize": resize}

    @classmethod
    def from_dict(cls, data: dict) -> InputRecipe:
        resize = data.get("resize")
        return cls(
            clip_len=int(data["clip_len"]),
            stride=int(data["stride"]),
            size=int(data["size"]),
            modality=str(data["modality"]),
            mean=tuple(data["mean"]),
            std=tuple(data["std"]),
            resize=(int(resize[0]), int(resize[1])) if resize else None,
        )


def scaled_resize(recipe: InputRecipe, size: int) -> tuple[int, int] | None:
    """The recipe's pre-crop resize, scaled when a different crop size is asked for."""
    if not recipe.resize:
        return None
    return tuple(round(r * size / recipe.size) for r in recipe.resize)
