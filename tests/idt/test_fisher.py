"""Fisher vectors against scikit-image's `fisher_vector` (the oracle), and the count sketch."""

import numpy as np
import pytest

from vidkit.idt import fisher
from vidkit.io.clusters import Encoder, EncoderBlock

skimage_feature = pytest.importorskip("skimage.feature")


def _rows(rng, n):
    """Fake 436-column trajectory rows with some structure (two clumps)."""
    rows = rng.random((n, 436)).astype(np.float32)
    rows[: n // 2, 10:] += 0.5
    return rows


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    config = fisher.FisherConfig(gmm_k=4, sketch_dim=0, gmm_init=1, gmm_iter=50)
    sample = fisher.sample_rows([_rows(rng, 300), _rows(rng, 200)], config, rng)
    return config, sample


def _sklearn_gmm(block: EncoderBlock):
    return fisher._gmm(block)


def _project(rows, block):
    a, b = block.columns
    return (rows[:, a:b].astype(np.float64) - block.pca_mean) @ block.pca_components.T


def test_standard_variant_matches_the_oracle_per_type(fitted):
    config, sample = fitted
    encoder = fisher.fit_encoder(sample, fisher.FisherConfig(**{**config.to_dict(), "variant": "standard"}), seed=0)
    assert [b.columns for b in encoder.blocks] == [(10, 40), (40, 136), (136, 244), (244, 340), (340, 436)]
    assert [len(b.pca_components) for b in encoder.blocks] == [15, 48, 54, 48, 48]  # half of each type
    rows = _rows(np.random.default_rng(5), 120)
    ours = fisher.fisher_vector(rows, encoder)
    start = 0
    for block in encoder.blocks:
        k, dim = block.gmm_means.shape
        oracle = skimage_feature.fisher_vector(_project(rows, block), _sklearn_gmm(block), improved=False)
        # skimage: [weights (K), means (K D), variances (K D)], variance part with the opposite sign.
        expected = np.concatenate([oracle[k : k + k * dim], -oracle[k + k * dim :]])
        expected = np.sign(expected) * np.sqrt(np.abs(expected))
        expected /= np.linalg.norm(expected)
        assert np.allclose(ours[start : start + 2 * k * dim], expected, atol=1e-5)
        start += 2 * k * dim
    assert start == len(ours)


def test_seed_variant_is_the_oracle_without_fisher_scaling(fitted):
    config, sample = fitted
    encoder = fisher.fit_encoder(sample, config, seed=0)
    (block,) = encoder.blocks
    k, dim = block.gmm_means.shape
    assert dim < 426  # PCA kept 90% of the variance: fewer components than columns
    rows = _rows(np.random.default_rng(6), 80)
    z = _project(rows, block)
    oracle = skimage_feature.fisher_vector(z, _sklearn_gmm(block), improved=False)
    w, var = block.gmm_weights[:, None], block.gmm_covariances
    raw_mean = oracle[k : k + k * dim].reshape(k, dim) * np.sqrt(w) * np.sqrt(var)  # 1/N sum g (x - mu)
    raw_var = oracle[k + k * dim :].reshape(k, dim) * np.sqrt(2) * np.sqrt(w) * var  # 1/N sum g (s^2 - (x - mu)^2)
    posteriors = _sklearn_gmm(block).predict_proba(z)
    grads = fisher.gradients(z, block.gmm_weights, block.gmm_means, var, posteriors, normalised=False)
    assert np.allclose(grads, np.concatenate([raw_mean.ravel(), raw_var.ravel()]), atol=1e-8)
    vector = fisher.fisher_vector(rows, encoder)
    assert vector.shape == (2 * k * dim,) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    expected = np.sign(grads) * np.sqrt(np.abs(grads))
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)


def test_count_sketch_is_balanced_seeded_and_preserves_inner_products():
    buckets, signs = fisher.make_sketch(10_000, 2000, seed=3)
    assert np.bincount(buckets, minlength=2000).tolist() == [5] * 2000  # equal loads
    assert signs.sum() == 0 and set(np.unique(signs)) == {-1, 1}
    again = fisher.make_sketch(10_000, 2000, seed=3)
    assert np.array_equal(again[0], buckets) and np.array_equal(again[1], signs)
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(20):
        a = rng.normal(size=10_000)
        b = 0.7 * a + 0.3 * rng.normal(size=10_000)
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        sa, sb = fisher.sketch(np.stack([a, b]), buckets, signs, 2000)
        errors.append(abs(float(sa @ sb) - float(a @ b)))
    assert np.mean(errors) < 0.03


def test_sampling_draws_500_rows_with_replacement_and_skips_nan():
    rng = np.random.default_rng(0)
    config = fisher.FisherConfig(rows_per_video=50)
    big, small, bad = _rows(rng, 80), _rows(rng, 10), _rows(rng, 60)
    bad[3, 20] = np.nan
    sample = fisher.sample_rows([big, small, bad], config, rng)
    assert len(sample) == 60


def test_videos_without_trajectories_or_with_nan_are_refused(fitted):
    config, sample = fitted
    encoder = fisher.fit_encoder(sample, config, seed=0)
    with pytest.raises(ValueError):
        fisher.fisher_vector(np.zeros((0, 436), np.float32), encoder)
    rows = _rows(np.random.default_rng(1), 10)
    rows[0, 50] = np.nan
    with pytest.raises(ValueError):
        fisher.fisher_vector(rows, encoder)
    assert isinstance(encoder, Encoder)


def test_moments_do_not_depend_on_the_chunk_size(fitted):
    config, sample = fitted
    encoder = fisher.fit_encoder(sample, config, seed=0)
    rows = _rows(np.random.default_rng(7), 1000)
    whole = fisher._moments(rows, encoder.blocks[0], chunk=10_000)
    pieces = fisher._moments(rows, encoder.blocks[0], chunk=77)
    assert all(np.allclose(a, b) for a, b in zip(whole, pieces))
