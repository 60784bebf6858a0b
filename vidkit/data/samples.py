"""The kinds of training sample vidkit's datasets yield, and the batch keys of each, declared once.

A method names the kind it trains on (`SSLMethod.sample`) and reads these keys from its batch; a
dataset yields exactly them (`tests/methods/test_contract.py` checks every registered method).
Keys that only some options produce are listed as optional.
"""

from __future__ import annotations

# kind -> (keys always present, keys present only with some options)
SAMPLE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # TCE: an anchor frame, an adjacent positive, the video's memory-bank row; with rotation, the
    # re-augmented anchor rotated by k x 90 degrees and k.
    "frame_pair": (("anchor", "positive", "index"), ("rotated", "rotation")),
    # IIC/CMC: view 1 (RGB clip) and view 2 (residual or flow clip; none when view 2 is RGB), the row.
    "clip_pair": (("view1", "index"), ("view2",)),
    # IR / LA (Video LA): one augmented clip of a video and its memory-bank row.
    "instance_clip": (("clip", "index"), ()),
    # MoCo/VINCE: N query and N key frames (N, 3, H, W) of one video, each augmented on its own; the row.
    "frame_views": (("query", "key", "index"), ()),
    # PIRL: one augmented image of a video, its jigsaw tiles (n, 3, t, t) in shuffled order, the row.
    "image_jigsaw": (("image", "jigsaw", "index"), ()),
    # Supervised training: a clip and its class.
    "labelled_clip": (("clip", "label"), ()),
}


def check_sample(kind: str, keys) -> None:
    """Raise `ValueError` unless `keys` are the declared keys of `kind` (optional ones allowed)."""
    required, optional = SAMPLE_KEYS[kind]
    keys = set(keys)
    if not set(required) <= keys or not keys <= set(required) | set(optional):
        raise ValueError(f"a {kind} sample holds {sorted(keys)}; declared: {required} (+ optional {optional})")
