"""The input modalities: one name for each kind of clip a network reads, and one meaning per name.

`embed` and `finetune` build their `--modality` choices from this table, and the datasets read
clips by these names, so a name cannot mean one thing in one command and another elsewhere (it once
did: `res` was a residual in [0, 1] for `embed` and in [-1, 1] for `finetune`). Torch-free, so the
CLI can build its choices without loading torch.
"""

from __future__ import annotations

from vidkit.errors import VidkitError

# name -> what a clip of it holds.
MODALITIES: dict[str, str] = {
    "rgb": "RGB frames, normalised with the recipe's mean/std",
    "res": "residual frames (frame t+1 minus frame t) mapped to [0, 1], as IIC pretrains and retrieves",
    "res-raw": "the same residuals left in [-1, 1], as IIC fine-tunes",
    "diff": "TCE's frame differences (earlier minus later, divided by the recipe's std)",
    "u": "horizontal optical flow from a store made with --flow, repeated to 3 channels",
    "v": "vertical optical flow from a store made with --flow, repeated to 3 channels",
}

# Modalities made of frame differences read one frame more than they yield; flow has one frame
# fewer than RGB (flow frame i is the motion from frame i to i + 1).
DIFFERENCES = ("res", "res-raw", "diff")
FLOW = ("u", "v")

# Not a modality but an arrangement of one, for fine-tuning only: `diff` clips of N differences
# stacked as the 3N input channels of a 2D network (TCE, tce.md 3.1).
DIFF_STACK = "diff-stack"


def check(name: str, option: str = "--modality") -> str:
    """`name` if it is a modality.

    Raises:
        VidkitError: naming the modalities to choose from.
    """
    if name not in MODALITIES:
        raise VidkitError(f"unknown {option} {name!r}; choose one of {', '.join(MODALITIES)}")
    return name
