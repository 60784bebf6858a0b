"""SiamFC's tracker: the exemplar from the first frame, then a search at 3 scales per frame (vince.md 6.4).

For each frame: 3 search crops of `instance_sz` (255) at scales 1.0375^{-1,0,1} of the current
search side; their responses are upsampled bicubically by `response_up` (16); the side scales'
peaks are multiplied by `scale_penalty` 0.9745 and the scale with the highest peak wins; its
response is normalised (minus its minimum, over its sum) and blended with a Hann window (weight
0.176); the peak's displacement from the centre, times stride / response_up x search side x scale
/ instance_sz, moves the target; its size follows the chosen scale at rate `scale_lr` 0.59.

Boxes are `(x, y, w, h)` in the sequence's own coordinates (OTB's 1-based, as the got10k toolkit
passes them), converted to 0-based pixel centres for cropping and back for the output.
NOTE: the upsampled side is `response_up` x the actual response side (18 x 16 = 288 at 255 px);
the seed upsampled the 18-cell response to 16 x 17 = 272, which makes each upsampled pixel 1/15.1
of a cell instead of the 1/16 its displacement formula assumes.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch

from vidkit.tasks.tracking.pairs import box_centre, context_side, crop
from vidkit.tasks.tracking.siamfc import SiamFC


class SiamFCTracker:
    """got10k's `Tracker` API: `init(image, box)`, then `update(image) -> box`, images `uint8 (H, W, 3)` RGB."""

    def __init__(self, model: SiamFC, *, mean, std, device: torch.device, one_based: bool = True):
        self.model, self.device, self.cfg = model.eval().to(device), device, model.config
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255
        self.shift = 1.0 if one_based else 0.0
        n = self.cfg.scale_num
        self.scales = self.cfg.scale_step ** np.linspace(-(n // 2), n // 2, n)  # (n,)
        self.upscale = None

    def _batch(self, crops: list[np.ndarray]) -> torch.Tensor:  # n x (S, S, 3) uint8 -> (n, 3, S, S)
        x = torch.from_numpy(np.stack(crops)).to(self.device).permute(0, 3, 1, 2).float()
        return (x - self.mean) / self.std

    @torch.no_grad()
    def init(self, image: np.ndarray, box) -> None:
        x, y, w, h = (float(v) for v in box)
        self.centre = box_centre(np.array([x - self.shift, y - self.shift, w, h]))  # (cx, cy), 0-based
        self.size = np.array([w, h], dtype=np.float64)
        self.z_side = context_side(w, h, self.cfg.context)
        self.x_side = self.z_side * self.cfg.instance_sz / self.cfg.exemplar_sz
        self.fill = image.reshape(-1, 3).mean(0)
        z = crop(image, self.centre, self.z_side, self.cfg.exemplar_sz, self.fill)
        self.kernel = self.model.exemplar(self._batch([z]))  # (1, D, hz, wz)

    @torch.no_grad()
    def update(self, image: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        crops = [crop(image, self.centre, self.x_side * s, cfg.instance_sz, self.fill) for s in self.scales]
        responses = self.model.respond(self.kernel, self._batch(crops))[:, 0].float().cpu().numpy()  # (n, R, R)
        if self.upscale is None:
            self.upscale = cfg.response_up * responses.shape[-1]
            hann = np.outer(np.hanning(self.upscale), np.hanning(self.upscale))
            self.window = hann / hann.sum()
        up = np.stack([cv2.resize(r, (self.upscale, self.upscale), interpolation=cv2.INTER_CUBIC) for r in responses])
        n = cfg.scale_num
        up[: n // 2] *= cfg.scale_penalty
        up[n // 2 + 1 :] *= cfg.scale_penalty
        best = int(np.argmax(up.reshape(n, -1).max(1)))
        response = up[best] - up[best].min()
        response /= response.sum() + 1e-16
        response = (1 - cfg.window_influence) * response + cfg.window_influence * self.window
        row, col = np.unravel_index(int(response.argmax()), response.shape)
        disp = (np.array([col, row], dtype=np.float64) - (self.upscale - 1) / 2) * (
            self.model.total_stride / cfg.response_up
        )  # in the instance crop's pixels
        self.centre = self.centre + disp * self.x_side * self.scales[best] / cfg.instance_sz
        scale = (1 - cfg.scale_lr) + cfg.scale_lr * self.scales[best]
        self.size, self.z_side, self.x_side = self.size * scale, self.z_side * scale, self.x_side * scale
        return self.box()

    def box(self) -> np.ndarray:
        """`(x, y, w, h)` in the sequence's coordinates."""
        top_left = self.centre - (self.size - 1) / 2 + self.shift
        return np.concatenate([top_left, self.size])


class StaticTracker:
    """The centre-prior baseline: the first frame's box, kept for every frame."""

    def init(self, image: np.ndarray, box) -> None:
        self.first = np.asarray(box, dtype=np.float64)

    def update(self, image: np.ndarray) -> np.ndarray:
        return self.first.copy()


def track(tracker, frames: list, first_box, read) -> tuple[np.ndarray, np.ndarray]:
    """Run `tracker` over a sequence as the got10k toolkit does: boxes `(N, 4)` (the first is the
    given box) and seconds per frame `(N,)` (the first is `init`'s), frame reading not counted."""
    boxes = np.zeros((len(frames), 4))
    times = np.zeros(len(frames))
    for i, path in enumerate(frames):
        image = read(path)
        started = time.perf_counter()
        if i == 0:
            tracker.init(image, first_box)
            boxes[0] = first_box
        else:
            boxes[i] = tracker.update(image)
        times[i] = time.perf_counter() - started
    return boxes, times
