"""Live trajectories of one scale, and the rules that decide whether a finished one is kept.

[2] Wang et al., IJCV 2013, section 3.2 and [1] Wang & Schmid, ICCV 2013, section 2. Every live
trajectory moves by the median-filtered flow read at its rounded position; it ends when it leaves
the frame or after L = 15 steps (16 points). A finished trajectory is dropped when it is

- static: the std of its points is below √3 px in x and in y;
- erratic: that std exceeds 50 px in x or in y;
- a sudden jump: its largest step is over 20 px and over 70% of its whole length;
- camera motion: its largest camera-compensated displacement is at most 1 px.

All tests run in the pixels of the original frame (points times the scale factor). The shape
descriptor is the sequence of compensated displacements divided by the sum of their magnitudes.

Live trajectories are kept in preallocated arrays indexed by slot, so a frame costs a few
vectorised gathers and scatters whatever the number of trajectories.
"""

from __future__ import annotations

import math

import numpy as np

from vidkit.idt.descriptors import FRAME_DIM

MIN_VAR = math.sqrt(3.0)
MAX_VAR = 50.0
MAX_DIS = 20.0
JUMP_FRACTION = 0.7
MIN_CAMERA_FLOW = 1.0


def trajectory_stats(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`points (n, L+1, 2)` in original pixels -> mean `(n, 2)`, std `(n, 2)`, steps `(n, L)`, length `(n,)`."""
    mean = points.mean(axis=1)
    std = points.std(axis=1)  # population std, as the release
    steps = np.linalg.norm(np.diff(points, axis=1), axis=2)
    return mean, std, steps, steps.sum(axis=1)


def is_static(std: np.ndarray) -> np.ndarray:
    return (std[:, 0] < MIN_VAR) & (std[:, 1] < MIN_VAR)


def is_erratic(std: np.ndarray) -> np.ndarray:
    return (std[:, 0] > MAX_VAR) | (std[:, 1] > MAX_VAR)


def is_sudden_jump(steps: np.ndarray, length: np.ndarray) -> np.ndarray:
    largest = steps.max(axis=1)
    return (largest > MAX_DIS) & (largest > JUMP_FRACTION * length)


def is_camera_motion(displacements: np.ndarray) -> np.ndarray:
    """`displacements (n, L, 2)`: compensated flow along the trajectory, original pixels."""
    return np.linalg.norm(displacements, axis=2).max(axis=1) <= MIN_CAMERA_FLOW


def keep_mask(points: np.ndarray, displacements: np.ndarray) -> np.ndarray:
    """Which finished trajectories pass all four rules: `bool (n,)`."""
    _, std, steps, length = trajectory_stats(points)
    return ~(is_static(std) | is_erratic(std) | is_sudden_jump(steps, length) | is_camera_motion(displacements))


def shape_descriptor(displacements: np.ndarray) -> np.ndarray:
    """`(n, L, 2)` -> `(n, 2L)`: displacements over the sum of their magnitudes, interleaved dx0, dy0, dx1, ..."""
    total = np.linalg.norm(displacements, axis=2).sum(axis=1)
    return (displacements / np.maximum(total, 1e-12)[:, None, None]).reshape(len(displacements), -1)


class TrackSet:
    """Live trajectories of one scale (scale pixels), in slots of growable arrays."""

    def __init__(self, length: int = 15, capacity: int = 1024):
        self.length = length
        self.points = np.zeros((capacity, length + 1, 2), np.float32)  # (cap, L+1, 2)
        self.frames = np.zeros((capacity, length, FRAME_DIM), np.float32)  # (cap, L, 132) per-frame descriptors
        self.disp = np.zeros((capacity, length, 2), np.float32)  # (cap, L, 2) compensated flow
        self.age = np.zeros(capacity, np.int64)  # steps taken
        self.start = np.zeros(capacity, np.int64)  # frame of the first point
        self.alive = np.zeros(capacity, bool)

    @property
    def live(self) -> np.ndarray:
        return np.flatnonzero(self.alive)

    def ends(self) -> np.ndarray:
        """Current end point of every live trajectory: `float32 (n, 2)`."""
        slots = self.live
        return self.points[slots, self.age[slots]]

    def add(self, points: np.ndarray, frame: int) -> None:
        free = np.flatnonzero(~self.alive)
        if len(free) < len(points):
            self._grow(len(points) - len(free))
            free = np.flatnonzero(~self.alive)
        slots = free[: len(points)]
        self.points[slots, 0] = points
        self.age[slots] = 0
        self.start[slots] = frame
        self.alive[slots] = True

    def _grow(self, extra: int) -> None:
        capacity = len(self.alive)
        new = max(capacity * 2, capacity + extra)
        for name in ("points", "frames", "disp", "age", "start", "alive"):
            old = getattr(self, name)
            grown = np.zeros((new, *old.shape[1:]), old.dtype)
            grown[:capacity] = old
            setattr(self, name, grown)

    def step(self, descriptors: np.ndarray, displacement: np.ndarray, moved: np.ndarray, inside: np.ndarray) -> None:
        """Record one step of every live trajectory (in `live` order) and drop those that left the frame."""
        slots = self.live
        age = self.age[slots]
        self.frames[slots, age] = descriptors
        self.disp[slots, age] = displacement
        self.points[slots, age + 1] = moved
        self.age[slots] = age + 1
        self.alive[slots[~inside]] = False

    def pop_finished(self) -> np.ndarray:
        """Slots of trajectories with L steps; they are no longer live (read them before the next `add`)."""
        done = np.flatnonzero(self.alive & (self.age >= self.length))
        self.alive[done] = False
        return done
