"""The frozen backbone's spatial map for SiamFC: a 2D ResNet with layers 3 and 4 dilated (output stride 8).

VINCE tracks with `ResNet18SiamFCDilated` / the ResNet-50 equivalent (vince.md 6.3): the strides of
layers 3 and 4 become dilations, so the last map keeps 1/8 of the input's resolution (DeepLab's
trick, Chen et al. 2017) and the pretrained weights are used unchanged. torchvision does this for
Bottleneck nets with `replace_stride_with_dilation`, but not for BasicBlock nets (ResNet-18/34);
`dilate_resnet` edits the convolutions of either kind in place, after the weights are loaded, and
gives torchvision's layout (the first block of a dilated stage keeps the previous dilation in its
strided conv, the rest take the new one; a test checks it against torchvision's ResNet-50).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from vidkit.errors import UsageError


def _set(conv: nn.Conv2d, dilation: int) -> None:
    """Stride 1 and `dilation`, padded to keep the size (3x3: padding = dilation; 1x1: none)."""
    conv.stride = (1, 1)
    if conv.kernel_size[0] > 1:
        conv.dilation = (dilation, dilation)
        conv.padding = (dilation * (conv.kernel_size[0] // 2),) * 2


def dilate_resnet(net: tv_resnet.ResNet) -> nn.Module:
    """Layers 3 and 4 of a torchvision-style ResNet dilated 2 and 4 instead of strided, in place."""
    previous = 1
    for layer, dilation in ((net.layer3, 2), (net.layer4, 4)):
        for index, block in enumerate(layer):
            first = previous if index == 0 else dilation
            if isinstance(block, tv_resnet.Bottleneck):
                _set(block.conv2, first)  # the strided 3x3 of a Bottleneck
            else:
                _set(block.conv1, first)  # BasicBlock: its first 3x3 carries the stride
                _set(block.conv2, dilation)
            if block.downsample is not None:
                _set(block.downsample[0], 1)
            block.stride = 1
        previous = dilation
    return net


class SpatialBackbone(nn.Module):
    """A frozen 2D backbone in eval mode that maps `(B, 3, H, W)` to its last map `(B, C, H/s, W/s)`.

    ResNets are dilated (s = 8); another 2D net (the tiny test nets) is used as it is, its stride
    measured once.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        if getattr(net, "dims", 2) != 2 or not hasattr(net, "forward_features"):
            raise UsageError("SiamFC tracking needs a 2D backbone (resnet18, resnet50, ...), not a video net")
        if getattr(net, "in_channels", 3) != 3:
            raise UsageError("SiamFC tracking needs a backbone of RGB frames (3 input channels)")
        self.net = dilate_resnet(net) if isinstance(net, tv_resnet.ResNet) else net
        self.net.requires_grad_(False)
        self.net.eval()
        with torch.no_grad():
            probe = self.net.forward_features(torch.zeros(1, 3, 64, 64))
        self.channels = int(probe.shape[1])
        self.stride = 64 // int(probe.shape[-1])  # 8 for a dilated ResNet

    def train(self, mode: bool = True) -> SpatialBackbone:
        super().train(mode)
        self.net.eval()  # frozen: BatchNorm keeps the pretrained statistics (vince.md 6.1)
        return self

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, C, H/s, W/s)
        return self.net.forward_features(images)
