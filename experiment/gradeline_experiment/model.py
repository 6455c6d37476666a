"""The damage segmentation network: a small U-Net over 512x256 portrait photos.

Encoder: three stages of two 3x3 convolutions (16, 32, 48 channels) with batch norm and ReLU,
each followed by 2x2 max pooling, and a 64-channel bottleneck. Decoder: the first upsampling is
a learned 2x2 transposed convolution, the others bilinear; each concatenates the encoder's skip
and applies two 3x3 convolutions. A 1x1 convolution gives one logit per class.
"""
import torch
from torch import nn

from .synth import CLASSES


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
    )


class DamageUNet(nn.Module):
    def __init__(self, classes: int = len(CLASSES), widths=(16, 32, 48, 64)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.enc1, self.enc2, self.enc3 = _block(3, w1), _block(w1, w2), _block(w2, w3)
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _block(w3, w4)
        self.up3 = nn.ConvTranspose2d(w4, w4, 2, stride=2)
        self.dec3 = _block(w4 + w3, w3)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec2 = _block(w3 + w2, w2)
        self.dec1 = _block(w2 + w1, w1)
        self.head = nn.Conv2d(w1, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        b = self.bottleneck(self.pool(e3))
        d3 = self.dec3(torch.cat([self.up3(b), e3], 1))
        d2 = self.dec2(torch.cat([self.up(d3), e2], 1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], 1))
        return self.head(d1)
