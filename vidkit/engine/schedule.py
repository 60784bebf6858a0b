"""Learning-rate schedules as plain functions of the step: no state, so a resumed run needs only the step."""

from __future__ import annotations

import math

from vidkit.errors import UsageError

SCHEDULES = ("cosine", "step", "constant")


def lr_factor(
    step: int, total: int, *, schedule: str = "cosine", warmup: int = 0, milestones=(0.5,), gamma: float = 0.1
) -> float:
    """Multiplier of the base learning rate at `step` (0-based) of `total`.

    - warmup: linear from 1/warmup to 1 over the first `warmup` steps (Goyal et al. 2017);
    - cosine: half a cosine from 1 to 0 over the remaining steps (Loshchilov & Hutter 2017);
    - step: times `gamma` at each milestone, given as fractions of the run (TCE: x0.1 at 25/50 epochs);
    - constant: 1.
    """
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return gamma ** sum(step >= m * total for m in milestones)
    if schedule == "cosine":
        span = max(total - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(step - warmup, span) / span))
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


def check_rates(**rates: float | None) -> None:
    """Each given rate (`lr=`, `weight_decay=`, ...) must be a finite number >= 0, named as its option.

    Checked here rather than by the option's `min=0`: NaN fails every comparison, so a range check
    answered `--lr nan` with "should be >= 0", which hides what is wrong.

    Raises:
        UsageError: a rate is NaN, infinite or negative.
    """
    for name, value in rates.items():
        option = "--" + name.replace("_", "-")
        if value is not None and not math.isfinite(value):
            raise UsageError(f"{option} {value} is not a finite number")
        if value is not None and value < 0:
            raise UsageError(f"{option} {value} is negative; give a rate of 0 or more")
