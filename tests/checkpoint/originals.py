"""The papers' networks re-created by their own module names, to make their checkpoints' exact keys and shapes.

Written for these tests from the layouts in the references (iic.md 7, video_la_idt.md 7.1): the
attribute names, widths and forward passes of VCOP/IIC's R3D, R(2+1)D and C3D and of Hara's 3D
ResNet, so a state dict of one of these is what the paper's `model.state_dict()` holds, and its
forward pass is an independent check of the features vidkit computes from the imported weights.
The 2D ResNets of VINCE and TCE are torchvision's own (the papers used torchvision's).
"""

from __future__ import annotations

import torch
from torch import nn


def _mid(cin: int, cout: int, t: int, d: int) -> int:
    return (t * d * d * cin * cout) // (d * d * cin + t * cout)


class STConv(nn.Module):
    """VCOP's `SpatioTemporalConv`: a full 3D conv (R3D) or spatial conv, BN, ReLU, temporal conv (R(2+1)D)."""

    def __init__(self, cin, cout, k, stride=1, padding=0, factorised=False):
        super().__init__()
        k, s, p = (v if isinstance(v, tuple) else (v,) * 3 for v in (k, stride, padding))
        self.factorised = factorised
        if factorised:
            mid = _mid(cin, cout, k[0], k[1])
            self.spatial_conv = nn.Conv3d(cin, mid, (1, k[1], k[2]), (1, s[1], s[2]), (0, p[1], p[2]), bias=False)
            self.bn = nn.BatchNorm3d(mid)
            self.temporal_conv = nn.Conv3d(mid, cout, (k[0], 1, 1), (s[0], 1, 1), (p[0], 0, 0), bias=False)
        else:
            self.temporal_spatial_conv = nn.Conv3d(cin, cout, k, s, p, bias=False)

    def forward(self, x):
        if self.factorised:
            return self.temporal_conv(torch.relu(self.bn(self.spatial_conv(x))))
        return self.temporal_spatial_conv(x)


class STBlock(nn.Module):
    def __init__(self, cin, cout, downsample, factorised):
        super().__init__()
        self.downsample = downsample
        if downsample:
            self.downsampleconv = STConv(cin, cout, 1, stride=2, factorised=factorised)
            self.downsamplebn = nn.BatchNorm3d(cout)
        self.conv1 = STConv(cin, cout, 3, stride=2 if downsample else 1, padding=1, factorised=factorised)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = STConv(cout, cout, 3, padding=1, factorised=factorised)
        self.bn2 = nn.BatchNorm3d(cout)

    def forward(self, x):
        res = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if self.downsample:
            x = self.downsamplebn(self.downsampleconv(x))
        return torch.relu(x + res)


class STLayer(nn.Module):
    def __init__(self, cin, cout, downsample, factorised):
        super().__init__()
        self.block1 = STBlock(cin, cout, downsample, factorised)
        self.blocks = nn.ModuleList()  # layer_sizes (1, 1, 1, 1): no further blocks

    def forward(self, x):
        return self.block1(x)


class VCOPResNet(nn.Module):
    """`R3DNet((1,1,1,1))` or `R2Plus1DNet((1,1,1,1))`, with the `linear` classifier when `classes`."""

    def __init__(self, factorised: bool, classes: int | None = None):
        super().__init__()
        self.conv1 = STConv(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), factorised=factorised)
        self.bn1 = nn.BatchNorm3d(64)
        self.conv2 = STLayer(64, 64, False, factorised)
        self.conv3 = STLayer(64, 128, True, factorised)
        self.conv4 = STLayer(128, 256, True, factorised)
        self.conv5 = STLayer(256, 512, True, factorised)
        self.linear = nn.Linear(512, classes) if classes else None

    def features(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.conv5(self.conv4(self.conv3(self.conv2(x)))).mean(dim=(2, 3, 4))


class VCOPC3D(nn.Module):
    """VCOP's C3D with BN: named conv/bn pairs, pools after 1, 2, 3b, 4b, none after 5b."""

    NAMES = ("1", "2", "3a", "3b", "4a", "4b", "5a", "5b")
    WIDTHS = (64, 128, 256, 256, 512, 512, 512, 512)
    POOL_AFTER = {"1": (1, 2, 2), "2": (2, 2, 2), "3b": (2, 2, 2), "4b": (2, 2, 2)}

    def __init__(self, classes: int | None = None):
        super().__init__()
        cin = 3
        for name, width in zip(self.NAMES, self.WIDTHS):
            setattr(self, f"conv{name}", nn.Conv3d(cin, width, 3, padding=1))
            setattr(self, f"bn{name}", nn.BatchNorm3d(width))
            cin = width
        self.linear = nn.Linear(512, classes) if classes else None

    def features(self, x):
        for name in self.NAMES:
            x = torch.relu(getattr(self, f"bn{name}")(getattr(self, f"conv{name}")(x)))
            if name in self.POOL_AFTER:
                x = nn.functional.max_pool3d(x, self.POOL_AFTER[name], self.POOL_AFTER[name])
        return x.mean(dim=(2, 3, 4))


class HaraBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut="B"):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)
        self.downsample = None
        self.pad = None
        if stride != 1 or cin != cout:
            if shortcut == "B":  # a 1x1x1 convolution of stride s and BN
                self.downsample = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))
            else:  # "A": every s-th position in T, H and W, zero channels appended; no parameters
                self.pad = (stride, cout - cin)

    def shortcut(self, x):
        if self.downsample is not None:
            return self.downsample(x)
        if self.pad is not None:
            stride, extra = self.pad
            x = x[:, :, ::stride, ::stride, ::stride]
            return torch.cat([x, x.new_zeros(x.shape[0], extra, *x.shape[2:])], dim=1)
        return x

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.shortcut(x))


class HaraResNet(nn.Module):
    """Hara et al.'s 3D ResNet-18 or -34 with shortcut A or B, with its `fc` (Video LA: 18, B, a 128-d fc in
    pretraining, classes after fine-tuning; Hara's Kinetics ResNet-18/34: shortcut A, 400 classes)."""

    BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}

    def __init__(self, out: int = 128, depth: int = 18, shortcut: str = "B"):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, 7, (1, 2, 2), 3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        widths, cin = (64, 128, 256, 512), 64
        for i, (width, blocks) in enumerate(zip(widths, self.BLOCKS[depth]), start=1):
            stride = 1 if i == 1 else 2
            layer = [HaraBlock(cin, width, stride, shortcut)] + [HaraBlock(width, width, 1) for _ in range(blocks - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layer))
            cin = width
        self.fc = nn.Linear(512, out)

    def features(self, x):
        x = nn.functional.max_pool3d(torch.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3, 4))


def HaraResNet18(out: int = 128) -> HaraResNet:
    """Video LA's net: Hara's 3D ResNet-18, shortcut B."""
    return HaraResNet(out, 18, "B")


def randomise_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics and affine terms, so a wrong mapping of any BN layer changes the features."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
    return model.eval()
