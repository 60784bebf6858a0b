"""Fisher vectors of a video's trajectories: PCA, diagonal GMM, gradients, normalisation, count sketch.

Two variants:

- `seed` (default), as the Video LA + IDT code (Tokmakov et al., ECCV-W 2020) computes it: the
  426 descriptor columns go through one joint PCA keeping 90% of the variance, a diagonal GMM
  with K = 256, and the unnormalised gradients with respect to the means and variances
  (1/N Σ γ (x - μ) and 1/N Σ γ (σ² - (x - μ)²), no weight part, no Fisher scaling); then a signed
  square root, L2 normalisation, and a count sketch to 2000 dimensions.
- `standard`, Wang & Schmid, ICCV 2013 (after Perronnin et al., ECCV 2010): each descriptor type
  (Trajectory, HOG, HOF, MBHx, MBHy) gets its own PCA to half its dimension and its own GMM; the
  mean and variance gradients are Fisher-normalised (1/(N√π) Σ γ (x - μ)/σ and
  1/(N√(2π)) Σ γ ((x - μ)²/σ² - 1)); signed square root and L2 per type, then concatenated
  (and sketched like the seed's unless `sketch_dim` is 0).

scikit-learn fits the PCA and the GMM and gives the posteriors. Written here, because no library
has them: the seed's unnormalised gradient variant (scikit-image's `fisher_vector` has only the
normalised one, needs a fitted `GaussianMixture`, and works one video at a time without the
per-type layout), and the count sketch (Charikar et al., 2002) stored as bucket and sign vectors
(the seed's dense float64 d_fv x 2000 matrix was ~0.8 GB and unseeded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from vidkit.io.clusters import Encoder, EncoderBlock
from vidkit.io.trajectories import BLOCKS

VARIANTS = ("seed", "standard")
_CHUNK = 65536  # trajectories per posterior computation


@dataclass(frozen=True)
class FisherConfig:
    """Fisher-vector options; defaults are the seed's (`compute_fv_models.py`, `extract_idt.py`)."""

    variant: str = "seed"
    gmm_k: int = 256
    pca_variance: float = 0.90  # seed: keep components up to this explained variance
    rows_per_video: int = 500  # seed: rows drawn (with replacement) from each fitting video
    max_rows: int = 3_000_000  # per video when encoding (seed: the first 3 M; here a random subset)
    sketch_dim: int = 2000  # 0: no sketch
    gmm_init: int = 2
    gmm_iter: int = 200

    def to_dict(self) -> dict:
        return asdict(self)


def sample_rows(videos: Iterable[np.ndarray], config: FisherConfig, rng: np.random.Generator) -> np.ndarray:
    """The fitting sample: from each video's `(n, 436)` rows, `rows_per_video` drawn with replacement
    (all rows when it has fewer), as the seed does. Videos with NaN are skipped. `(M, 436)`.

    `videos` may be a generator reading one file at a time: each video is dropped before the next
    is asked for, so memory holds the sample and one video (the draws, and so the sample, are the
    same as from a list).
    """
    parts = []
    for rows in videos:
        part = _draw(rows, config.rows_per_video, rng)
        del rows  # the whole video goes before the next one is read
        if part is not None:
            parts.append(part)
    return np.concatenate(parts) if parts else np.zeros((0, 436), np.float32)


def _draw(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray | None:
    """One video's share of the sample (a copy, never a view that would keep the video alive)."""
    if not len(rows) or np.isnan(rows).any():
        return None
    if len(rows) >= count:
        return rows[rng.integers(0, len(rows), count)]
    return rows.copy()


def _columns(variant: str) -> list[tuple[int, int]]:
    return [(10, 436)] if variant == "seed" else [(a, b) for _, a, b in BLOCKS]


def fit_encoder(sample: np.ndarray, config: FisherConfig = FisherConfig(), seed: int = 0) -> Encoder:
    """Fit PCA, GMM (and the sketch) on a sample of trajectory rows `(M, 436)`.

    Raises:
        ValueError: the variant is unknown or the sample is too small for K Gaussians.
    """
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    if config.variant not in VARIANTS:
        raise ValueError(f"unknown Fisher-vector variant {config.variant!r}; choose from {', '.join(VARIANTS)}")
    if len(sample) < config.gmm_k:
        raise ValueError(f"{len(sample)} trajectories cannot fit a GMM with {config.gmm_k} components")
    blocks = []
    for a, b in _columns(config.variant):
        x = sample[:, a:b].astype(np.float64)
        components = config.pca_variance if config.variant == "seed" else (b - a) // 2
        pca = PCA(components, random_state=seed).fit(x)
        z = pca.transform(x)  # (M, D)
        gmm = GaussianMixture(
            config.gmm_k, covariance_type="diag", n_init=config.gmm_init, max_iter=config.gmm_iter, random_state=seed
        ).fit(z)
        blocks.append(EncoderBlock((a, b), pca.mean_, pca.components_, gmm.weights_, gmm.means_, gmm.covariances_))
    fv_dim = sum(2 * config.gmm_k * len(block.pca_components) for block in blocks)
    buckets, signs = make_sketch(fv_dim, config.sketch_dim, seed) if config.sketch_dim else (None, None)
    return Encoder(config.variant, blocks, buckets, signs, config.sketch_dim, seed)


def make_sketch(fv_dim: int, sketch_dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded count sketch: buckets `int64 (fv_dim,)` and signs `int8 (fv_dim,)`.

    Buckets are consecutive random permutations of `0..sketch_dim-1` (equal loads), signs a
    shuffled half-and-half of +1 and -1, as the seed builds them.
    """
    rng = np.random.default_rng(seed)
    repeats = -(-fv_dim // sketch_dim)
    buckets = np.concatenate([rng.permutation(sketch_dim) for _ in range(repeats)])[:fv_dim]
    signs = np.where(np.arange(fv_dim) % 2 == 0, 1, -1).astype(np.int8)
    rng.shuffle(signs)
    return buckets.astype(np.int64), signs


def sketch(vectors: np.ndarray, buckets: np.ndarray, signs: np.ndarray, sketch_dim: int) -> np.ndarray:
    """Count sketch of `(n, fv_dim)` vectors -> `float32 (n, sketch_dim)`: each coordinate, times its
    sign, is added into its bucket (inner products are preserved in expectation)."""
    vectors = np.atleast_2d(vectors)
    out = np.zeros((len(vectors), sketch_dim), np.float64)
    for row, vector in zip(out, vectors):
        row[:] = np.bincount(buckets, weights=vector * signs, minlength=sketch_dim)
    return out.astype(np.float32)


def _gmm(block: EncoderBlock):
    """A scikit-learn GaussianMixture rebuilt from stored parameters (for its posteriors)."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(len(block.gmm_weights), covariance_type="diag")
    gmm.weights_, gmm.means_, gmm.covariances_ = block.gmm_weights, block.gmm_means, block.gmm_covariances
    gmm.precisions_cholesky_ = 1.0 / np.sqrt(block.gmm_covariances)
    return gmm


def gradients(
    x: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    posteriors: np.ndarray,
    normalised: bool,
) -> np.ndarray:
    """Mean and variance gradients of `x (N, D)` under a diagonal GMM: `(2 K D,)`, means part first.

    `normalised=False` gives the seed's raw gradients; `True` the Fisher-normalised ones of
    Perronnin et al. 2010 (variance part with the sign of (x - μ)²/σ² - 1).
    """
    n = len(x)
    moments = (posteriors.sum(axis=0) / n, posteriors.T @ x / n, posteriors.T @ (x * x) / n)
    return _from_moments(*moments, weights, means, covariances, normalised)


def _from_moments(s0, s1, s2, weights, means, covariances, normalised: bool) -> np.ndarray:
    """Gradients from the posterior-weighted moments s0 `(K,)`, s1 and s2 `(K, D)` (each divided by N)."""
    d_mean = s1 - s0[:, None] * means  # 1/N Σ γ (x - μ)
    d_var = s0[:, None] * covariances - (s2 - 2 * s1 * means + s0[:, None] * means**2)  # 1/N Σ γ (σ² - (x - μ)²)
    if normalised:
        root_w = np.sqrt(weights)[:, None]
        d_mean = d_mean / (root_w * np.sqrt(covariances))
        d_var = -d_var / (np.sqrt(2.0) * root_w * covariances)
    return np.concatenate([d_mean.ravel(), d_var.ravel()])


def _moments(rows: np.ndarray, block: EncoderBlock, chunk: int = _CHUNK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA-project `rows` and accumulate the GMM moments chunk by chunk (posteriors of 3 M rows x 256
    Gaussians would need 6 GB at once)."""
    a, b = block.columns
    gmm = _gmm(block)
    k, dim = block.gmm_means.shape
    s0, s1, s2 = np.zeros(k), np.zeros((k, dim)), np.zeros((k, dim))
    for start in range(0, len(rows), chunk):
        z = (rows[start : start + chunk, a:b].astype(np.float64) - block.pca_mean) @ block.pca_components.T  # (n, D)
        posteriors = gmm.predict_proba(z)  # (n, K)
        s0 += posteriors.sum(axis=0)
        s1 += posteriors.T @ z
        s2 += posteriors.T @ (z * z)
    n = len(rows)
    return s0 / n, s1 / n, s2 / n


def _power_l2(vector: np.ndarray) -> np.ndarray:
    vector = np.sign(vector) * np.sqrt(np.abs(vector))
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 and np.isfinite(norm) else np.zeros_like(vector)


def fisher_vector(
    rows: np.ndarray, encoder: Encoder, rng: np.random.Generator | None = None, max_rows: int = FisherConfig.max_rows
) -> np.ndarray:
    """One video's feature: `float32 (encoder.dim,)` from its trajectory rows `(N, 436)`.

    NOTE: the seed keeps the first 3 M trajectories of a longer video (biased towards its start);
    we keep a random subset of that size.

    Raises:
        ValueError: no rows, or NaN in them (the seed skips such videos too).
    """
    if not len(rows):
        raise ValueError("the video has no trajectories")
    if np.isnan(rows).any():
        raise ValueError("the video's trajectories hold NaN")
    if len(rows) > max_rows:
        rng = rng or np.random.default_rng(encoder.seed)
        rows = rows[np.sort(rng.choice(len(rows), max_rows, replace=False))]
    parts = []
    for block in encoder.blocks:
        grad = _from_moments(
            *_moments(rows, block),
            block.gmm_weights,
            block.gmm_means,
            block.gmm_covariances,
            normalised=encoder.variant == "standard",
        )
        parts.append(grad if encoder.variant == "seed" else _power_l2(grad))
    vector = _power_l2(parts[0]) if encoder.variant == "seed" else np.concatenate(parts)
    if encoder.sketch_buckets is None:
        return vector.astype(np.float32)
    return sketch(vector, encoder.sketch_buckets, encoder.sketch_signs, encoder.sketch_dim)[0]
