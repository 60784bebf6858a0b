"""Where `vidkit tsne` gets its points: a feature store, a `.npy` array, or a checkpoint run over videos."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vidkit.errors import VidkitError
from vidkit.viz import Points

log = logging.getLogger(__name__)


def from_feature_store(path: Path, videos: list[str] | None = None, split: str | None = None) -> Points:
    """Rows of a feature store (per-frame stores give one point per frame), optionally some videos only."""
    from vidkit.io.features import read_features
    from vidkit.io.frame_store import FrameStore

    store = read_features(path)
    keep = np.ones(len(store), dtype=bool)
    frames_path = Path(store.config.get("frames") or "")
    frame_store = FrameStore(frames_path) if frames_path.suffix == ".h5" and frames_path.is_file() else None
    if split and split != "all":
        if frame_store is None:
            raise VidkitError(f"--split needs the frame store {frames_path} that {path} was embedded from")
        keep &= np.isin(store.video_index, frame_store.split(split))
    if videos:
        missing = sorted(set(videos) - set(store.video_id.tolist()))
        if missing:
            raise VidkitError(f"{path} has no video {missing[0]!r}")
        keep &= np.isin(store.video_id, videos)
    if not keep.any():
        raise VidkitError(f"no row of {path} is left to map")
    classes = frame_store.classes if frame_store is not None else []
    points = Points(store.features[keep], store.video_id[keep], store.clip_start[keep], store.label[keep], classes)
    if frame_store is not None and len(set(points.video.tolist())) == 1:
        index, starts = int(store.video_index[keep][0]), points.time
        record = frame_store.video(index)
        points.fps = record.fps if np.isfinite(record.fps) and record.fps > 0 else 25.0
        points.frames = lambda: (frame_store.read_frames(index, [int(t)])[0] for t in starts)
    return points


def from_array(path: Path, source: Path | None = None) -> Points:
    """An `(N, D)` `.npy` array of one video's per-frame features, rows in time order; `source` gives its frames."""
    try:
        features = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise VidkitError(f"{path} is not a readable .npy array ({exc})") from exc
    if features.ndim != 2:
        raise VidkitError(f"{path} holds an array of shape {features.shape}; expected (frames, dims)")
    n = len(features)
    points = Points(features, np.full(n, path.stem, dtype=object), np.arange(n), np.full(n, -1), [])
    if source is not None:
        points.fps, points.frames = _source(source)
    return points


def _source(path: Path):
    """`(fps, frames())` of a video file or frame folder."""
    from vidkit.io import frame_folders, video

    if path.is_dir():
        return 25.0, lambda: frame_folders.iter_folder_frames(path)
    info = video.probe(path)
    return (info.fps if info.fps and info.fps > 0 else 25.0), lambda: video.iter_frames(path)


def from_checkpoint(checkpoint: Path, sources: list[Path], *, batch_size: int = 32, device: str = "auto") -> Points:
    """Embed every frame of each video (file or frame folder) with the checkpoint's recipe, in eval mode.

    The network is the one the checkpoint's method plots (`SSLMethod.embedder`: TCE's 128-d
    normalised embedding); other checkpoints give their pooled features.
    """
    import torch

    from vidkit.checkpoint.backbone import load_backbone
    from vidkit.data import transforms
    from vidkit.engine import inference
    from vidkit.engine.device import resolve_device
    from vidkit.methods import METHODS, method_class

    loaded = load_backbone(checkpoint)
    saved, backbone = loaded.checkpoint, loaded.model
    if backbone.dims != 2 and saved.input.clip_len > 1:
        log.info(
            "%s is a clip model; each frame is embedded as a %d-frame clip of itself", checkpoint, saved.input.clip_len
        )
    model = method_class(saved.method).embedder(backbone, saved.method_state) if saved.method in METHODS else backbone
    target = resolve_device(device)
    model.to(target).eval()
    recipe = saved.input

    def prepared(frames: list) -> torch.Tensor:
        x = transforms.normalize(
            transforms.resize_center_crop(torch.stack(frames), recipe.size), recipe.mean, recipe.std
        )
        if backbone.dims != 2:  # a clip net sees each frame repeated as a clip
            x = x[:, :, None].expand(-1, -1, max(recipe.clip_len, 1), -1, -1)
        return x

    def batches(frames):
        batch = []
        for frame in frames:
            batch.append(transforms.to_float(frame[None])[0])
            if len(batch) == batch_size:
                yield prepared(batch)
                batch = []
        if batch:
            yield prepared(batch)

    rows, names, times = [], [], []
    fps, frames_fn = 25.0, None
    for source in sources:
        fps, frames_fn = _source(Path(source))
        features = inference.run(model, batches(frames_fn()), device=target)
        if len(features) == 0:
            raise VidkitError(f"{source} has no frames")
        rows.append(features)
        names += [Path(source).stem] * len(features)
        times += list(range(len(features)))
    points = Points(np.concatenate(rows), np.array(names, dtype=object), np.array(times), np.full(len(names), -1), [])
    if len(sources) == 1:
        points.fps, points.frames = fps, frames_fn
    return points
