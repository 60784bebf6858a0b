"""Hara et al.'s 3D-ResNets: sizes, parameter counts, and Hara's state-dict key names."""

from __future__ import annotations

import pytest
import torch

from vidkit.models import create_backbone, resnet3d


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _basic_resnet_params(layers, shortcut_b: bool) -> int:
    """Parameters of a BasicBlock 3D ResNet, worked out by hand: 3x3x3 convs without bias, BN (2 per channel)."""
    total = 3 * 64 * 7**3 + 2 * 64  # stem conv + bn1
    inplanes = 64
    for planes, blocks in zip((64, 128, 256, 512), layers):
        for b in range(blocks):
            cin = inplanes if b == 0 else planes
            total += 27 * cin * planes + 27 * planes * planes + 4 * planes
        if inplanes != planes and shortcut_b:
            total += inplanes * planes + 2 * planes  # 1x1x1 conv + BN
        inplanes = planes
    return total


@pytest.mark.parametrize(
    ("name", "layers", "b"),
    [("resnet3d_18", [2, 2, 2, 2], True), ("resnet3d_18a", [2, 2, 2, 2], False), ("resnet3d_34a", [3, 4, 6, 3], False)],
)
def test_parameter_counts_match_the_hand_count(name, layers, b):
    assert _count(create_backbone(name)) == _basic_resnet_params(layers, b)


@pytest.mark.parametrize(("name", "millions"), [("resnet3d_18a", 33.2), ("resnet3d_34a", 63.5)])
def test_with_a_400_way_fc_the_counts_are_haras(name, millions):
    """The sizes Hara et al. (CVPR 2018) give for Kinetics models: ResNet-18 33.2 M, ResNet-34 63.5 M (shortcut A, 400 classes)."""
    net = create_backbone(name)
    assert round((_count(net) + net.num_features * 401) / 1e6, 1) == millions


def test_resnet50_is_bottleneck_and_2048_wide():
    net = create_backbone("resnet3d_50")
    assert net.num_features == 2048 and isinstance(net.layer1[0], resnet3d.Bottleneck)
    assert _count(net) == 46_198_976  # shortcut B; 47.02 M with a 400-way fc


def test_stem_pool_and_output_sizes_of_a_16x112_clip():
    net = create_backbone("resnet3d_18").eval()
    x = torch.randn(1, 3, 16, 112, 112)
    with torch.no_grad():
        stem = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        assert stem.shape == (1, 64, 8, 28, 28)  # 7x7x7 stride (1, 2, 2), then max-pool stride 2
        assert net.forward_features(x).shape == (1, 512, 1, 4, 4)
        assert net(x).shape == (1, 512)
    assert net.dims == 3 and net.in_channels == 3


def test_small_clips_and_other_input_channels():
    net = create_backbone("resnet3d_18a", in_channels=2)
    assert net(torch.randn(2, 2, 4, 32, 32)).shape == (2, 512)


def test_a_hara_state_dict_loads_strictly_after_stripping_module_and_fc():
    """Keys as a DataParallel-wrapped Hara / Video LA model saves them: `module.` prefix and an `fc`."""
    source = create_backbone("resnet3d_18")
    hara = {f"module.{k}": v for k, v in source.state_dict().items()}
    hara["module.fc.weight"], hara["module.fc.bias"] = torch.zeros(128, 512), torch.zeros(128)
    assert "module.layer2.0.downsample.0.weight" in hara and "module.layer2.0.downsample.1.running_mean" in hara
    assert "module.layer1.0.conv2.weight" in hara and "module.bn1.weight" in hara
    state = {k.removeprefix("module."): v for k, v in hara.items() if not k.startswith("module.fc.")}
    target = create_backbone("resnet3d_18")
    target.load_state_dict(state, strict=True)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)


def test_shortcut_a_has_no_downsample_parameters():
    net = create_backbone("resnet3d_18a")
    assert not any("downsample" in k for k in net.state_dict())
    with pytest.raises(ValueError, match="shortcut"):
        resnet3d.ResNet3D(resnet3d.BasicBlock, [1, 1, 1, 1], shortcut="C")
