"""From a backbone's output to one feature vector per clip: the poolings `embed` and the tasks use.

`avg` is the backbone's own global average pool. `iic` is IIC's retrieval feature (iic.md 7.5):
the last convolutional map max-pooled over 2x2 spatial windows (stride 2, time untouched) and
flattened, 512x2x3x3 = 9216 values for a 16x112x112 clip through r3d/r21d/c3d. A 2D backbone fed
a clip of T frames embeds each frame and averages the T vectors, unless it was built to take the
frames as channels (TCE's stack of differences).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

POOLINGS = ("avg", "iic")


def pooled(model, x: torch.Tensor, pooling: str) -> torch.Tensor:
    """One model input -> `(B, D)` features with the given pooling."""
    if pooling == "avg":
        return model(x)
    fmap = model.forward_features(x)  # (B, C, T', H', W') or (B, C, H', W')
    window = (1, 2, 2) if fmap.dim() == 5 else (2, 2)
    pool = F.max_pool3d if fmap.dim() == 5 else F.max_pool2d
    return pool(fmap, window).flatten(1)


def clip_features(model, clips: torch.Tensor, pooling: str = "avg") -> torch.Tensor:
    """`(B, C, T, H, W)` -> `(B, D)`; a 3-channel 2D net embeds each frame and averages over time."""
    if model.dims == 2 and model.in_channels == clips.shape[1]:
        b, c, t, h, w = clips.shape
        return pooled(model, clips.transpose(1, 2).reshape(b * t, c, h, w), pooling).view(b, t, -1).mean(dim=1)
    return pooled(model, clips, pooling)
