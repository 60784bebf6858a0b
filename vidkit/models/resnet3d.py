"""Hara et al.'s 3D-ResNets (CVPR 2018, arXiv:1711.09577), the backbone Video LA pretrained and fine-tuned.

The family of kenshohara/3D-ResNets-PyTorch that Tokmakov et al. (ECCV-W 2020) trained as
"3D ResNet-18, shortcut B" (video_la_idt.md 7.1). It is not torchvision's `r3d_18`: the stem is a
7x7x7 convolution (stride 1, 2, 2) followed by a 3x3x3 max-pool of stride 2 in all three
dimensions, where torchvision has a 3x7x7 stem and no pool.

- shortcut "A": a stride-s average pool (kernel 1) and zero channels appended, no parameters (Hara's
  Kinetics ResNet-18/34); shortcut "B": a 1x1x1 convolution of stride s and BatchNorm (Video LA's
  ResNet-18, Hara's ResNet-50).
- NOTE: Hara's shortcut A concatenated `out.data` with the zeros, so no gradient flowed through that
  shortcut in training (a side effect of the PyTorch 0.3 idiom); `PadShortcut` passes it, as a
  residual connection should. The forward pass, and so an imported net's features, are the same.
- NOTE: the pool is adaptive (`AdaptiveAvgPool3d(1)`): Hara's fixed kernel `(ceil(T/16), ceil(S/32),
  ceil(S/32))` equals it for 16 x 112 x 112 clips and breaks at other sizes; it has no parameters.

Attribute names are Hara's exactly (`conv1, bn1, relu, maxpool, layer1..layer4` with blocks
`conv1/bn1/conv2/bn2[/conv3/bn3]/downsample.0/.1`, `avgpool`), and there is no `fc`: a Hara or
Video LA state dict, with `module.` stripped and `fc.*` dropped, loads into these nets with
`strict=True` (the Video LA checkpoint importer relies on it). Contract as `models/backbones.py`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv3(inplanes: int, planes: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


class PadShortcut(nn.Module):
    """Shortcut A: subsample by `stride` and append zero channels up to `planes` (no parameters)."""

    def __init__(self, planes: int, stride: int):
        super().__init__()
        self.planes, self.stride = planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W) -> (B, planes, T', H', W')
        x = F.avg_pool3d(x, kernel_size=1, stride=self.stride)
        return F.pad(x, (0, 0, 0, 0, 0, 0, 0, self.planes - x.shape[1]))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3(planes, planes)
        self.bn2 = nn.BatchNorm3d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv3d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = _conv3(planes, planes, stride)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


class ResNet3D(nn.Module):
    """Hara's 3D ResNet without its classifier: `(B, C, T, H, W)` -> `(B, 512 * expansion)`.

    A 3 x 16 x 112 x 112 clip gives a `512 x 1 x 4 x 4` last map (ResNet-18/34; 2048 wide for 50).
    """

    dims = 3

    def __init__(self, block, layers: list[int], shortcut: str = "B", in_channels: int = 3):
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' or 'B', not {shortcut!r}")
        self.in_channels, self.shortcut = in_channels, shortcut
        self.inplanes = 64
        self.conv1 = nn.Conv3d(in_channels, 64, kernel_size=7, stride=(1, 2, 2), padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._layer(block, 64, layers[0], 1)
        self.layer2 = self._layer(block, 128, layers[1], 2)
        self.layer3 = self._layer(block, 256, layers[2], 2)
        self.layer4 = self._layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.num_features = 512 * block.expansion
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _layer(self, block, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        width = planes * block.expansion
        if stride != 1 or self.inplanes != width:
            if self.shortcut == "A":
                downsample = PadShortcut(width, stride)
            else:
                downsample = nn.Sequential(
                    nn.Conv3d(self.inplanes, width, kernel_size=1, stride=stride, bias=False), nn.BatchNorm3d(width)
                )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = width
        layers += [block(width, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.forward_features(x)), 1)


def _variant(block, layers, shortcut):
    return lambda in_channels=3: ResNet3D(block, layers, shortcut, in_channels)


# Constructors by name (`vidkit.models.BACKBONES` lists them). Video LA trained resnet3d_18 (shortcut B);
# Hara's Kinetics models were ResNet-18/34 with shortcut A and ResNet-50 with shortcut B.
resnet3d_18 = _variant(BasicBlock, [2, 2, 2, 2], "B")
resnet3d_18a = _variant(BasicBlock, [2, 2, 2, 2], "A")
resnet3d_34 = _variant(BasicBlock, [3, 4, 6, 3], "B")
resnet3d_34a = _variant(BasicBlock, [3, 4, 6, 3], "A")
resnet3d_50 = _variant(Bottleneck, [3, 4, 6, 3], "B")
resnet3d_50a = _variant(Bottleneck, [3, 4, 6, 3], "A")
