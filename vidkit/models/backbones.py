"""Backbones: torchvision's 2D ResNets and video ResNets, the small VCOP/IIC nets, C3D, and tiny test nets.

One contract (after timm) that every generic piece of vidkit relies on:
- `num_features`: width of the pooled feature vector;
- `dims`: 2 for image nets (input `(B, C, H, W)`), 3 for video nets (input `(B, C, T, H, W)`);
- `in_channels`: input channels the first convolution takes;
- `forward_features(x)`: the last convolutional feature map;
- `forward(x)`: pooled features `(B, num_features)`.

The torchvision-based nets subclass torchvision's own classes with `fc` removed, so their state
dict carries torchvision's key names: a vidkit resnet50 loads into `torchvision.models.resnet50()`
with only `fc.*` missing. A 2D net given a clip `(B, C, T, H, W)` stacks its frames as channels,
time-major (`[f0_R, f0_G, f0_B, f1_R, ...]`), the layout of TCE's stack of differences.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models.video import resnet as tv_video


def frames_as_channels(x: torch.Tensor) -> torch.Tensor:
    """`(B, C, T, H, W)` -> `(B, T*C, H, W)`, time-major; a 4-D input is returned unchanged."""
    if x.dim() == 4:
        return x
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b, t * c, h, w)


class ResNet2D(tv_resnet.ResNet):
    """A torchvision ResNet without its classifier; `in_channels != 3` widens the first convolution."""

    dims = 2

    def __init__(self, block, layers: list[int], in_channels: int = 3):
        super().__init__(block, layers)
        if in_channels != 3:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.in_channels = in_channels
        self.num_features = self.fc.in_features
        self.fc = nn.Identity()  # no parameters, so no fc.* keys in the state dict

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = frames_as_channels(x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.forward_features(x)), 1)


class VideoResNet3D(tv_video.VideoResNet):
    """A torchvision VideoResNet (r3d_18, mc3_18, r2plus1d_18, or the 1-block VCOP variants) without its classifier."""

    dims = 3

    def __init__(self, block, conv_makers, layers, stem, in_channels: int = 3):
        super().__init__(block, conv_makers, layers, stem)
        if in_channels != 3:
            first = self.stem[0]
            self.stem[0] = nn.Conv3d(
                in_channels, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False
            )
        self.in_channels = in_channels
        self.num_features = self.fc.in_features
        self.fc = nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.forward_features(x)), 1)


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv3d(cin, cout, 3, padding=1), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]


class C3D(nn.Module):
    """C3D with batch norm and no fc6/fc7, the VCOP/IIC variant (Tran et al. 2015; iic.md section 7.1).

    A 16 x 112 x 112 clip gives a `512 x 2 x 7 x 7` last map (no pool5, as in VCOP), pooled to 512
    features; about 27.7 M parameters.
    """

    dims = 3

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.in_channels, self.num_features = in_channels, 512
        self.features = nn.Sequential(
            *_conv_bn_relu(in_channels, 64),
            nn.MaxPool3d((1, 2, 2), (1, 2, 2)),
            *_conv_bn_relu(64, 128),
            nn.MaxPool3d(2, 2),
            *_conv_bn_relu(128, 256),
            *_conv_bn_relu(256, 256),
            nn.MaxPool3d(2, 2),
            *_conv_bn_relu(256, 512),
            *_conv_bn_relu(512, 512),
            nn.MaxPool3d(2, 2),
            *_conv_bn_relu(512, 512),
            *_conv_bn_relu(512, 512),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


class Tiny(nn.Module):
    """Two convolutions and a pool: every code path in seconds, for tests and smoke runs (timm's `test_*` nets)."""

    def __init__(self, dims: int = 3, in_channels: int = 3, width: int = 16):
        super().__init__()
        conv, bn, pool = (
            (nn.Conv3d, nn.BatchNorm3d, nn.AdaptiveAvgPool3d)
            if dims == 3
            else (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d)
        )
        self.dims, self.in_channels, self.num_features = dims, in_channels, width
        self.features = nn.Sequential(
            conv(in_channels, 8, 3, stride=2, padding=1),
            bn(8),
            nn.ReLU(inplace=True),
            conv(8, width, 3, stride=2, padding=1),
            bn(width),
            nn.ReLU(inplace=True),
        )
        self.pool = pool(1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(frames_as_channels(x) if self.dims == 2 else x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.forward_features(x)), 1)


def _resnet2d(block, layers):
    return lambda in_channels=3: ResNet2D(block, layers, in_channels)


def _video(conv_maker, layers, stem, block=tv_video.BasicBlock):
    makers = conv_maker if isinstance(conv_maker, list) else [conv_maker] * 4
    return lambda in_channels=3: VideoResNet3D(block, makers, layers, stem, in_channels)


# Constructors by name; `vidkit.models.BACKBONES` (torch-free) is the registry that lists them.
resnet18 = _resnet2d(tv_resnet.BasicBlock, [2, 2, 2, 2])
resnet34 = _resnet2d(tv_resnet.BasicBlock, [3, 4, 6, 3])
resnet50 = _resnet2d(tv_resnet.Bottleneck, [3, 4, 6, 3])
resnet101 = _resnet2d(tv_resnet.Bottleneck, [3, 4, 23, 3])
resnet152 = _resnet2d(tv_resnet.Bottleneck, [3, 8, 36, 3])
r3d_18 = _video(tv_video.Conv3DSimple, [2, 2, 2, 2], tv_video.BasicStem)
mc3_18 = _video([tv_video.Conv3DSimple] + [tv_video.Conv3DNoTemporal] * 3, [2, 2, 2, 2], tv_video.BasicStem)
r2plus1d_18 = _video(tv_video.Conv2Plus1D, [2, 2, 2, 2], tv_video.R2Plus1dStem)
# VCOP / IIC "R3D": one basic block per stage (iic.md 7.2), from torchvision's parts.
# NOTE: the shortcuts are torchvision's 1x1x1 conv + BN, as VCOP's R3D.
r3d = _video(tv_video.Conv3DSimple, [1, 1, 1, 1], tv_video.BasicStem)


def _mid(inplanes: int, planes: int, t: int = 3, d: int = 3) -> int:
    """VCOP's factorised-conv width: as many parameters as the full t x d x d conv (iic.md 7.3)."""
    return (t * d * d * inplanes * planes) // (d * d * inplanes + t * planes)


def r21d(in_channels: int = 3) -> VideoResNet3D:
    """IIC's R(2+1)D (VCOP's `R2Plus1DNet(layer_sizes=(1,1,1,1))`, iic.md 7.3), on torchvision's parts.

    torchvision's block gives both convs of a block the first conv's width (230/460/921 in stages
    2-4) and its R(2+1)D stem 45; VCOP sizes every factorised conv for its own in/out planes: the
    stem 83, each block's second conv 288/576/1152, and the shortcuts are factorised 1x1x1 convs
    (42/85/170). 14.37 M parameters, as IIC's (a test checks it).
    """
    net = VideoResNet3D(
        tv_video.BasicBlock, [tv_video.Conv2Plus1D] * 4, [1, 1, 1, 1], tv_video.R2Plus1dStem, in_channels
    )
    mid = _mid(3, 64, 3, 7)  # 83
    net.stem = nn.Sequential(
        nn.Conv3d(in_channels, mid, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, 64, (3, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(64),
        nn.ReLU(inplace=True),
    )
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        block = layer[0]
        planes = block.conv2[1].num_features
        block.conv2[0] = tv_video.Conv2Plus1D(planes, planes, _mid(planes, planes))
        if block.downsample is not None:
            inplanes, stride = block.downsample[0].in_channels, block.downsample[0].stride[0]
            width = _mid(inplanes, planes, 1, 1)
            block.downsample[0] = nn.Sequential(
                nn.Conv3d(inplanes, width, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
                nn.Conv3d(width, planes, 1, stride=(stride, 1, 1), bias=False),
            )
    return net


def c3d(in_channels: int = 3) -> C3D:
    return C3D(in_channels)


def tiny(in_channels: int = 3) -> Tiny:
    return Tiny(3, in_channels)


def tiny2d(in_channels: int = 3) -> Tiny:
    return Tiny(2, in_channels)
