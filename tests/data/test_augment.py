"""The augmentation presets: the reference's parameters, per-image draws reproducible from the rng,
blur on pixels before normalisation, colour jitter with p 0.8 where the papers used it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidkit.data import augment
from vidkit.data.augment import PRESETS, Augmentation, blur_kernel, crop_params, preset


def test_presets_hold_the_reference_parameters():
    assert set(PRESETS) == {"standard", "simclr", "moco-v1", "moco-v2", "jigsaw", "crop"}
    assert preset("standard") == Augmentation(scale=(0.2, 1.0), jitter=(0.4, 0.4, 0.4, 0.2), jitter_p=1.0, blur_p=0.0)
    assert preset("moco-v1").scale == (0.08, 1.0) and preset("moco-v1").jitter_p == 1.0
    v2 = preset("moco-v2")
    assert (v2.jitter, v2.jitter_p, v2.blur_p, v2.grey_p, v2.grey_first) == ((0.4, 0.4, 0.4, 0.1), 0.8, 0.5, 0.2, False)
    simclr = preset("simclr")
    assert (simclr.jitter, simclr.jitter_p, simclr.blur_p) == ((0.8, 0.8, 0.8, 0.2), 0.8, 0.5)
    assert preset("jigsaw").scale == (0.7, 1.0)
    with pytest.raises(ValueError, match="unknown augmentation"):
        preset("autoaugment")


def test_blur_kernel_is_a_tenth_of_the_size_rounded_up_to_odd():
    assert blur_kernel(224) == 23 and blur_kernel(225) == 23 and blur_kernel(32) == 3 and blur_kernel(8) == 1


def test_crops_stay_inside_the_image_and_follow_the_scale():
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = crop_params(60, 80, (0.2, 1.0), (3 / 4, 4 / 3), rng)
        assert 0 <= top and top + h <= 60 and 0 <= left and left + w <= 80
        assert 0.18 <= h * w / 4800 <= 1.0


def test_views_are_a_function_of_the_rng_and_differ_between_draws():
    frame = torch.rand(3, 40, 50)
    views = [
        augment.augment(frame, preset("moco-v2"), 32, np.random.default_rng(s), (0.5,) * 3, (0.25,) * 3)
        for s in (7, 7, 8)
    ]
    assert views[0].shape == (3, 32, 32)
    assert torch.equal(views[0], views[1]) and not torch.equal(views[0], views[2])


def test_blur_runs_on_pixels_before_normalisation(monkeypatch):
    """The seed blurred the normalised tensor; here the blur sees pixel values in [0, 1]."""
    seen = []
    blur = augment.TF.gaussian_blur

    def recording(x, kernel, sigma):
        seen.append((float(x.min()), float(x.max())))
        return blur(x, kernel, sigma)

    monkeypatch.setattr(augment.TF, "gaussian_blur", recording)
    recipe = Augmentation(scale=(1.0, 1.0), jitter_p=0.0, grey_p=0.0, blur_p=1.0, flip=False)
    frame = torch.rand(3, 32, 32)
    out = augment.augment(frame, recipe, 32, np.random.default_rng(0), (0.5,) * 3, (0.1,) * 3)
    assert seen and 0.0 <= seen[0][0] and seen[0][1] <= 1.0  # pixels in [0, 1], not normalised values
    assert float(out.max()) > 1.0  # normalised afterwards (std 0.1)


def test_colour_jitter_is_applied_with_its_probability():
    frame = torch.rand(3, 16, 16)
    recipe = Augmentation(scale=(1.0, 1.0), jitter_p=0.8, grey_p=0.0, flip=False)
    plain = augment.augment(
        frame,
        Augmentation(scale=(1.0, 1.0), jitter_p=0.0, grey_p=0.0, flip=False),
        16,
        np.random.default_rng(0),
        (0.0,) * 3,
        (1.0,) * 3,
    )
    jittered = [
        not torch.allclose(augment.augment(frame, recipe, 16, np.random.default_rng(s), (0.0,) * 3, (1.0,) * 3), plain)
        for s in range(200)
    ]
    assert 0.7 < np.mean(jittered) < 0.9


def test_greyscale_makes_equal_channels():
    recipe = Augmentation(scale=(1.0, 1.0), jitter_p=0.0, grey_p=1.0, flip=False)
    out = augment.augment(torch.rand(3, 16, 16), recipe, 16, np.random.default_rng(0), (0.0,) * 3, (1.0,) * 3)
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[1], out[2])


def test_the_crop_preset_keeps_every_colour():
    """The toy recipe's preset: crops and flips, never a colour change (no jitter, grey or blur)."""
    frame = torch.zeros(3, 40, 40)
    frame[:, :, :20] = torch.tensor([0.9, 0.2, 0.1])[:, None, None]  # left half red, right half black
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    rng = np.random.default_rng(0)
    for _ in range(50):
        view = augment.augment(frame, preset("crop"), 16, rng, mean, std) * 0.25 + 0.5  # (3, 16, 16) in [0, 1]
        pixels = view.flatten(1).T  # (256, 3)
        red = torch.tensor([0.9, 0.2, 0.1])
        # Every pixel is red, black or (at the resized edge) a blend of the two: on the line between them.
        coefficient = (pixels @ red / (red @ red)).clamp(0, 1)  # (256,)
        torch.testing.assert_close(pixels, coefficient[:, None] * red, atol=1e-4, rtol=0)
