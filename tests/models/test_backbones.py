"""The backbone contract over the whole registry, and parameter counts against torchvision's constructors."""

from __future__ import annotations

import pytest
import torch
import torchvision

from vidkit.errors import VidkitError
from vidkit.models import backbone_names, create_backbone
from vidkit.models.backbones import frames_as_channels


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", backbone_names())
def test_contract(name):
    model = create_backbone(name).eval()
    x = torch.randn(2, 3, 8, 64, 64) if model.dims == 3 else torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        pooled, fmap = model(x), model.forward_features(x)
    assert pooled.shape == (2, model.num_features)
    assert fmap.shape[:2] == (2, model.num_features) and fmap.dim() == x.dim()


@pytest.mark.parametrize(
    "name,reference",
    [
        ("resnet18", torchvision.models.resnet18),
        ("resnet50", torchvision.models.resnet50),
        ("r3d_18", torchvision.models.video.r3d_18),
        ("mc3_18", torchvision.models.video.mc3_18),
        ("r2plus1d_18", torchvision.models.video.r2plus1d_18),
    ],
)
def test_weights_load_into_torchvision(name, reference):
    """Same parameters as torchvision's net less its fc, and a strict load with only fc.* missing."""
    ours, theirs = create_backbone(name), reference()
    fc = sum(p.numel() for p in theirs.fc.parameters())
    assert _count(ours) == _count(theirs) - fc
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert set(result.missing_keys) == {"fc.weight", "fc.bias"} and not result.unexpected_keys


def test_small_vcop_nets_and_c3d_sizes():
    # iic.md 7.1-7.2: C3D about 27.7 M parameters, the 1-block R3D about 14.4 M.
    assert abs(_count(create_backbone("c3d")) / 1e6 - 27.7) < 0.1
    assert abs(_count(create_backbone("r3d")) / 1e6 - 14.4) < 0.1
    with torch.no_grad():
        fmap = create_backbone("c3d").eval().forward_features(torch.randn(1, 3, 16, 112, 112))
    assert fmap.shape == (1, 512, 2, 7, 7)


def test_frames_as_channels_for_2d_nets():
    x = torch.arange(2 * 3 * 4 * 2 * 2, dtype=torch.float32).view(2, 3, 4, 2, 2)
    stacked = frames_as_channels(x)
    assert stacked.shape == (2, 12, 2, 2)
    torch.testing.assert_close(stacked[:, 3:6], x[:, :, 1])  # time-major: frame 1's RGB are channels 3..5
    model = create_backbone("resnet18", in_channels=15).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 5, 64, 64)).shape == (2, 512)


def test_unknown_backbone():
    with pytest.raises(VidkitError, match="unknown backbone 'resnet9'"):
        create_backbone("resnet9")


def test_r21d_is_iics_r2plus1d():
    """VCOP/IIC's factorised widths (iic.md 7.3): stem 83; each block's second conv sized for its own
    planes (144/288/576/1152, where torchvision's block reuses the first conv's 230/460/921);
    factorised shortcuts 42/85/170; 14.37 M parameters as IIC's."""
    net = create_backbone("r21d")
    assert net.stem[0].out_channels == 83
    assert [layer[0].conv2[0][0].out_channels for layer in (net.layer1, net.layer2, net.layer3, net.layer4)] == [
        144,
        288,
        576,
        1152,
    ]
    assert [layer[0].conv1[0][0].out_channels for layer in (net.layer1, net.layer2, net.layer3, net.layer4)] == [
        144,
        230,
        460,
        921,
    ]
    assert [layer[0].downsample[0][0].out_channels for layer in (net.layer2, net.layer3, net.layer4)] == [42, 85, 170]
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == 14.37


def test_registry_kinds_match_the_nets():
    from vidkit.models import BACKBONES

    for name, spec in BACKBONES.items():
        net = create_backbone(name)
        assert net.dims == spec.dims and (spec.dims == 3) == (spec.recipe.clip_len > 1), name
