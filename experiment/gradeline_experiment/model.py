"""The damage segmentation network: a U-Net over 512x256 portrait photos.

Encoder: stages of two 3x3 convolutions with batch norm and ReLU, each followed by 2x2 max
pooling, then a bottleneck. The shipped model has three stages (16, 32, 48 channels) and a
64-channel bottleneck at 1/8 of the photo. `DEEP` adds two stages (64, 96) and a 128-channel
bottleneck at 1/32, so that each pixel sees most of the phone: whether a dark, flat area is a
screen or a dark tray depends on where the phone's outline is, far away. Decoder: the first
upsampling is a learned 2x2 transposed convolution, the others bilinear; each concatenates the
encoder's skip and applies two 3x3 convolutions. A 1x1 convolution gives one logit per class.
"""
import torch
from torch import nn

from .synth import CLASSES


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
    )


DEEP = (16, 32, 48, 64, 96, 128)


class DamageUNet(nn.Module):
    """`widths` lists the encoder stages' channels, then the bottleneck's."""

    def __init__(self, classes: int = len(CLASSES), widths=(16, 32, 48, 64)):
        super().__init__()
        *stages, bottom = widths
        self.depth = len(stages)
        inputs = 3
        for level, width in enumerate(stages, 1):
            setattr(self, f"enc{level}", _block(inputs, width))
            inputs = width
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _block(stages[-1], bottom)
        setattr(self, f"up{self.depth}", nn.ConvTranspose2d(bottom, bottom, 2, stride=2))
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        below = bottom
        for level in range(self.depth, 0, -1):
            width = stages[level - 1]
            setattr(self, f"dec{level}", _block(below + width, width))
            below = width
        self.head = nn.Conv2d(stages[0], classes, 1)

    def forward(self, x):
        skips = []
        for level in range(1, self.depth + 1):
            x = getattr(self, f"enc{level}")(x if level == 1 else self.pool(x))
            skips.append(x)
        x = self.bottleneck(self.pool(x))
        for level in range(self.depth, 0, -1):
            up = getattr(self, f"up{level}") if level == self.depth else self.up
            x = getattr(self, f"dec{level}")(torch.cat([up(x), skips[level - 1]], 1))
        return self.head(x)
