"""SiamFC on a frozen backbone: dilation and shapes, freezing, correlation, loss, crops, labels, pairs, tracker."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import resnet as tv_resnet

from vidkit.errors import UsageError
from vidkit.models import create_backbone
from vidkit.tasks.tracking import pairs
from vidkit.tasks.tracking.backbone import SpatialBackbone, dilate_resnet
from vidkit.tasks.tracking.siamfc import SiamFC, SiamFCConfig, SiamFCTask, cross_correlate, focal_loss
from vidkit.tasks.tracking.tracker import SiamFCTracker, StaticTracker, track


def test_dilated_resnet18_gives_the_seeds_map_sizes():
    torch.manual_seed(0)
    model = SiamFC(SpatialBackbone(create_backbone("resnet18")), SiamFCConfig())
    assert model.total_stride == 8 and model.backbone.channels == 512
    assert model.backbone(torch.zeros(1, 3, 120, 120)).shape == (1, 512, 15, 15)
    assert model.response_size(247) == 17  # training (vince.md 6.4)
    assert model(torch.zeros(2, 3, 120, 120), torch.zeros(2, 3, 247, 247)).shape == (2, 1, 17, 17)


def test_dilating_a_bottleneck_net_matches_torchvision():
    torch.manual_seed(0)
    ours = create_backbone("resnet50")
    reference = tv_resnet.resnet50(replace_stride_with_dilation=[False, True, True])
    reference.load_state_dict(ours.state_dict(), strict=False)  # ours has no fc
    dilate_resnet(ours)
    ours.eval(), reference.eval()
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        expected = reference.layer4(
            reference.layer3(
                reference.layer2(reference.layer1(reference.maxpool(reference.relu(reference.bn1(reference.conv1(x))))))
            )
        )
        torch.testing.assert_close(ours.forward_features(x), expected)
    assert expected.shape == (1, 2048, 6, 6)


def _tiny_model():
    torch.manual_seed(0)
    return SiamFC(SpatialBackbone(create_backbone("tiny2d")), SiamFCConfig(exemplar_sz=32, instance_sz=64))


def test_only_the_adapters_train_and_the_backbone_stays_in_eval_mode():
    model = _tiny_model()
    task = SiamFCTask(model).train()
    backbone = model.backbone.net
    assert not any(p.requires_grad for p in backbone.parameters())
    assert all(p.requires_grad for p in model.adapt_z.parameters()) and model.adapt_x.weight.requires_grad
    assert not backbone.training and model.adapt_z.training
    stats = {k: v.clone() for k, v in backbone.state_dict().items()}
    r = model.response_size(60)
    batch = {
        "z": torch.randn(3, 3, 32, 32),
        "x": torch.randn(3, 3, 60, 60),
        "label": (torch.rand(3, 1, r, r) < 0.2).float(),
        "centre": torch.zeros(3, 2),
    }
    out = task(batch)
    out.loss.backward()
    assert set(out.metrics) == {"dist", "center_dist"}
    assert all(p.grad is None for p in backbone.parameters())
    assert model.adapt_z.weight.grad.abs().sum() > 0 and model.adapt_x.weight.grad.abs().sum() > 0
    for key, value in backbone.state_dict().items():  # BN running statistics untouched
        torch.testing.assert_close(value, stats[key])
    assert set(model.head_state()) == {"adapt_z.weight", "adapt_z.bias", "adapt_x.weight", "adapt_x.bias"}


def test_a_video_backbone_is_refused():
    with pytest.raises(UsageError, match="2D backbone"):
        SpatialBackbone(create_backbone("tiny"))


def test_batched_correlation_is_one_convolution_per_pair():
    kernels, search = torch.randn(3, 4, 3, 3), torch.randn(3, 4, 9, 9)
    out = cross_correlate(kernels, search)
    assert out.shape == (3, 1, 7, 7)
    for i in range(3):
        torch.testing.assert_close(out[i : i + 1], torch.nn.functional.conv2d(search[i : i + 1], kernels[i : i + 1]))
    assert cross_correlate(kernels[:1], search).shape == (3, 1, 7, 7)  # one target, several scales


def test_focal_loss():
    logits, labels = torch.randn(2, 1, 5, 5), (torch.rand(2, 1, 5, 5) < 0.3).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    torch.testing.assert_close(focal_loss(logits, labels, gamma=0.0), bce)
    easy = focal_loss(torch.tensor([8.0, -8.0, 0.0]), torch.tensor([1.0, 0.0, 1.0]))
    assert easy == pytest.approx(np.log(2), rel=1e-3)  # the confident right answers weigh almost nothing


def test_label_map_is_a_diamond_around_the_shifted_centre():
    label = pairs.label_map(17, (0.0, 0.0), 2.5)
    assert label.shape == (1, 17, 17) and label.sum() == 13 and label[0, 8, 8] == 1 and label[0, 8, 11] == 0
    shifted = pairs.label_map(17, (3.0, -2.0), 2.5)
    assert shifted[0, 6, 11] == 1 and shifted[0, 6, 14] == 0


def test_crop_centres_the_target_and_pads_with_the_fill():
    image = np.zeros((40, 60, 3), np.uint8)
    image[10, 20] = 255
    out = pairs.crop(image, (20.0, 10.0), 11, 11, fill=(7, 7, 7))
    assert out[5, 5].tolist() == [255, 255, 255] and out[0, 0].tolist() == [0, 0, 0]
    corner = pairs.crop(image, (0.0, 0.0), 11, 11, fill=(7, 7, 7))
    assert corner[0, 0].tolist() == [7, 7, 7] and corner[5, 5].tolist() == [0, 0, 0]
    assert pairs.context_side(10, 10) == pytest.approx(20.0)


def test_frame_filter_and_pair_gap():
    from vidkit.io.tracking import Sequence

    boxes = np.array([[0, 0, 30, 30], [0, 0, 10, 30], [0, 0, 30, 30], [0, 0, 90, 30], [0, 0, 30, 100]], float)
    seq = Sequence("s", [None] * 5, boxes, cover=np.array([8, 8, 2, 8, 8]))
    assert pairs.valid_frames(seq, (160, 160)).tolist() == [0]  # too narrow, low cover, too wide, bad aspect
    rng = np.random.default_rng(0)
    valid = np.arange(0, 1000, 7)
    for _ in range(50):
        z, x = pairs.sample_pair(rng, valid, 100)
        assert z in valid and x in valid and 0 <= x - z < 100
    assert pairs.sample_pair(rng, np.array([4]), 100) == (4, 4)


class _Pixels(torch.nn.Module):
    """A stand-in backbone whose features are the image itself, average-pooled by 2: template matching."""

    dims, in_channels = 2, 3

    def forward_features(self, x):
        return torch.nn.functional.avg_pool2d(x, 2)


def test_the_tracker_follows_the_object():
    """With pixel features and identity adapters SiamFC is template matching, so the tracker's box
    must land where the object moved (checks crops, upsampling, window and the displacement formula)."""
    torch.manual_seed(0)
    model = SiamFC(SpatialBackbone(_Pixels()), SiamFCConfig(exemplar_sz=40, instance_sz=80, adapter_dim=3))
    assert model.total_stride == 2
    with torch.no_grad():
        for adapter in (model.adapt_z, model.adapt_x):
            adapter.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            adapter.bias.zero_()
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
    frames = []
    for dx, dy in ((0, 0), (6, 3), (12, 5)):  # a fresh noise background each frame: only the object matches
        frame = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
        frame[30 + dy : 50 + dy, 30 + dx : 50 + dx] = texture
        frames.append(frame)
    tracker = SiamFCTracker(model, mean=(0.5,) * 3, std=(0.25,) * 3, device=torch.device("cpu"), one_based=True)
    boxes, times = track(tracker, frames, np.array([31.0, 31, 20, 20]), lambda image: image)  # 1-based
    assert boxes.shape == (3, 4) and (times > 0).all()
    np.testing.assert_allclose(boxes[1, :2], [37, 34], atol=1.0)
    np.testing.assert_allclose(boxes[2, :2], [43, 36], atol=1.0)
    np.testing.assert_allclose(boxes[2, 2:], [20, 20], rtol=0.05)
    static, _ = track(StaticTracker(), frames, np.array([31.0, 31, 20, 20]), lambda image: image)
    assert static[2].tolist() == [31, 31, 20, 20]
