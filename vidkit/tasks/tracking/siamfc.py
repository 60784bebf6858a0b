"""SiamFC on a frozen backbone (Bertinetto et al. 2016, "Fully-Convolutional Siamese Networks for
Object Tracking"), as VINCE trains it for its tracking end task (vince.md 6.3-6.4).

The backbone's spatial map of the exemplar (the target, 120 px) and of the search region (255 px,
247 in training) each pass a 1x1 adapter of their own (C -> 256); the exemplar's map is then slid
over the search map as a correlation kernel, times `out_scale` 0.001, giving a response map whose
peak is the target's position. Only the adapters train: the backbone is frozen in eval mode, so
the score measures its features. The loss is a focal loss (Lin et al. 2017, gamma 2) on a binary
label map, normalised by the mean focal weight.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from vidkit.engine.train import StepOutput
from vidkit.tasks.tracking.backbone import SpatialBackbone


@dataclass(frozen=True)
class SiamFCConfig:
    """SiamFC's constants, the seed's values (vince.md 6.4; siamfc-pytorch's config)."""

    exemplar_sz: int = 120
    instance_sz: int = 255  # search crop at test time; training uses instance_sz - total stride (247)
    context: float = 0.5  # context margin: p = context * (w + h)
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_lr: float = 0.59
    scale_penalty: float = 0.9745
    window_influence: float = 0.176
    response_up: int = 16
    positive_radius: float = 2.5  # label positive within this L1 distance (cells): positive_label_width 5
    out_scale: float = 0.001
    adapter_dim: int = 256
    pairs_per_sequence: int = 25
    max_gap: int = 100  # frames between exemplar and search frame
    stretch: float = 0.05  # +-5% random stretch of each crop
    shift_exemplar: float = 0.05  # Laplace(0, 0.25) centre shift, clipped to +-1, times this x crop side
    shift_search: float = 0.33
    focal_gamma: float = 2.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SiamFCConfig:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def cross_correlate(kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Slide each exemplar map over its search map.

    kernels `(K, C, hz, wz)` and search `(B, C, hx, wx)`, with K = B (one pair each) or K = 1 (one
    target, several search scales) -> responses `(B, 1, hx - hz + 1, wx - wz + 1)`.
    """
    if kernels.shape[0] == 1:
        return F.conv2d(search, kernels)
    b, c, h, w = search.shape
    out = F.conv2d(search.reshape(1, b * c, h, w), kernels, groups=b)  # (1, B, R, R)
    return out.reshape(b, 1, out.shape[-2], out.shape[-1])


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Binary focal loss, `mean(w * bce) / mean(w)` with `w = (1 - p_t)^gamma` (vince.md 6.3).

    logits, labels `(B, 1, R, R)`, labels in {0, 1}. Dividing by the mean weight keeps the loss's
    scale from collapsing as the easy negatives (most of the map) get confident.
    NOTE: the normaliser is detached; it rescales the step, it is not something to optimise.
    """
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * labels + (1 - p) * (1 - labels)
    weight = (1 - p_t).pow(gamma)
    return (weight * bce).mean() / weight.detach().mean().clamp_min(1e-12)


class SiamFC(nn.Module):
    """A frozen spatial backbone, an exemplar adapter and a search adapter (1x1 convs), and correlation."""

    def __init__(self, backbone: SpatialBackbone, config: SiamFCConfig):
        super().__init__()
        self.backbone, self.config = backbone, config
        self.adapt_z = nn.Conv2d(backbone.channels, config.adapter_dim, 1)
        self.adapt_x = nn.Conv2d(backbone.channels, config.adapter_dim, 1)

    @property
    def total_stride(self) -> int:
        return self.backbone.stride

    def exemplar(self, z: torch.Tensor) -> torch.Tensor:  # (K, 3, Z, Z) -> (K, D, Z/s, Z/s)
        return self.adapt_z(self.backbone(z).float())

    def search(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, X, X) -> (B, D, X/s, X/s)
        return self.adapt_x(self.backbone(x).float())

    def respond(self, kernels: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # -> (B, 1, R, R)
        return cross_correlate(kernels, self.search(x)) * self.config.out_scale

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # pairs -> (B, 1, R, R)
        return self.respond(self.exemplar(z), x)

    def head_state(self) -> dict[str, torch.Tensor]:
        """The trained part (the adapters), for the checkpoint's `head`."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}

    def response_size(self, instance_sz: int) -> int:
        """Side of the response map for a search crop of `instance_sz` (17 for 247 with a dilated R18)."""
        with torch.no_grad():
            device = next(self.adapt_z.parameters()).device
            z = self.backbone(torch.zeros(1, 3, self.config.exemplar_sz, self.config.exemplar_sz, device=device))
            x = self.backbone(torch.zeros(1, 3, instance_sz, instance_sz, device=device))
        return int(x.shape[-1] - z.shape[-1] + 1)


class SiamFCTask(nn.Module):
    """The engine's protocol over `{"z", "x", "label"}` batches: focal loss, plus the seed's monitors.

    Metrics: `dist`, the mean L1 distance between the sigmoid response and the label, and
    `center_dist`, the distance in cells between the response's peak and the label's centre.
    """

    def __init__(self, model: SiamFC):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> StepOutput:
        logits = self.model(batch["z"], batch["x"]).float()  # (B, 1, R, R)
        labels = batch["label"]
        loss = focal_loss(logits, labels, self.model.config.focal_gamma)
        with torch.no_grad():
            b, _, r, _ = logits.shape
            peak = logits.reshape(b, -1).argmax(1)
            peak_yx = torch.stack([peak // r, peak % r], 1).float()
            centre = batch["centre"]  # (B, 2) label centre (row, col) in cells
            metrics = {
                "dist": (torch.sigmoid(logits) - labels).abs().mean(),
                "center_dist": (peak_yx - centre).norm(dim=1).mean(),
            }
        return StepOutput(loss, metrics)

    def on_step_end(self, progress: float) -> None:
        pass
