"""The zoo's architectures: ordinary networks a data scientist might hand over, written here in
plain PyTorch (no torchvision), untrained. Weights come from PyTorch's default initialization
under a fixed seed, and every BatchNorm gets seeded random statistics and affine parameters, so
that folding it is not a no-op. They exist to time and check the executor, not to predict
anything.

Each entry of ZOO is (name, constructor, what it exercises). Every model takes 3x512x256
(NCHW, like the shipped damage model) and is written the way such code usually is, except that
spatial upsampling uses `scale_factor` rather than `size=x.shape[...]`, and flattening uses
`torch.flatten(x, 1)`: both export as constants, where the other spellings, with a dynamic
batch axis, export a chain of Shape, Gather and Concat ops that compute the sizes at run time
(see docs/executor.md, "The model zoo").
"""
import torch
from torch import nn
import torch.nn.functional as F


def conv_bn_relu(inputs, outputs, kernel=3, stride=1, dilation=1, groups=1, relu=True):
    layers = [nn.Conv2d(inputs, outputs, kernel, stride=stride, padding=dilation * (kernel // 2),
                        dilation=dilation, groups=groups, bias=False), nn.BatchNorm2d(outputs)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """A U-Net whose every upsampling is a learned 2x2 stride-2 transposed convolution that
    halves the channels (so the last one of `widths=(8, ...)` is 16 -> 8), with two 3x3
    convolutions (BatchNorm, ReLU) per stage, max pooling down, and a 1x1 head."""

    def __init__(self, widths, classes=6):
        super().__init__()
        *stages, bottom = widths
        self.down = nn.ModuleList()
        inputs = 3
        for width in stages:
            self.down.append(nn.Sequential(conv_bn_relu(inputs, width), conv_bn_relu(width, width)))
            inputs = width
        self.bottleneck = nn.Sequential(conv_bn_relu(inputs, bottom), conv_bn_relu(bottom, bottom))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        below = bottom
        for width in reversed(stages):
            self.ups.append(nn.ConvTranspose2d(below, width, 2, stride=2))
            self.decoders.append(nn.Sequential(conv_bn_relu(2 * width, width), conv_bn_relu(width, width)))
            below = width
        self.head = nn.Conv2d(stages[0], classes, 1)

    def forward(self, x):
        skips = []
        for index, stage in enumerate(self.down):
            x = stage(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = self.bottleneck(F.max_pool2d(x, 2))
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(torch.cat([up(x), skip], 1))
        return self.head(x)


class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride=1, dilation=1):
        super().__init__()
        self.conv1 = conv_bn_relu(inputs, outputs, stride=stride, dilation=dilation)
        self.conv2 = conv_bn_relu(outputs, outputs, dilation=dilation, relu=False)
        self.shortcut = (conv_bn_relu(inputs, outputs, kernel=1, stride=stride, relu=False)
                         if stride != 1 or inputs != outputs else nn.Identity())

    def forward(self, x):
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18's layout (7x7 stride-2 stem, 3x3 max pool, four stages of two basic blocks) at
    half its usual widths, ending in global average pooling and a linear classifier (Gemm)."""

    def __init__(self, widths=(32, 64, 128, 256), classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        blocks, inputs = [], widths[0]
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            blocks += [BasicBlock(inputs, width, stride), BasicBlock(width, width)]
            inputs = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(inputs, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, inputs, outputs, stride, expansion):
        super().__init__()
        hidden = inputs * expansion
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(inputs, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, outputs, 1, bias=False), nn.BatchNorm2d(outputs)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 at width 1.0: inverted residuals of depthwise 3x3 and pointwise 1x1
    convolutions with ReLU6 (Clip), then global average pooling and a linear classifier."""

    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, classes=10):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]
        inputs = 32
        for expansion, width, repeats, stride in self.SETTINGS:
            for index in range(repeats):
                layers.append(InvertedResidual(inputs, width, stride if index == 0 else 1, expansion))
                inputs = width
        layers += [nn.Conv2d(inputs, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class DeepLab(nn.Module):
    """DeepLabV3-style: a residual backbone at output stride 8 whose last stages are dilated
    (2, then 4) instead of strided, ASPP (1x1, and 3x3 at dilations 6, 12, 18, and an
    image-pooling branch), then a 1x1 projection, a head, and bilinear upsampling by 8."""

    def __init__(self, classes=6):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, 32, stride=2), conv_bn_relu(32, 32), nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(32, 48, stride=2)
        self.layer2 = BasicBlock(48, 64, dilation=2)
        self.layer3 = BasicBlock(64, 96, dilation=4)
        self.aspp = nn.ModuleList([conv_bn_relu(96, 64, kernel=1)] +
                                  [conv_bn_relu(96, 64, dilation=rate) for rate in (6, 12, 18)])
        self.pool_branch = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(96, 64, 1, bias=False), nn.ReLU(inplace=True))
        self.project = conv_bn_relu(5 * 64, 64, kernel=1)
        self.head = nn.Sequential(conv_bn_relu(64, 64), nn.Conv2d(64, classes, 1))

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        # The pooled branch is 1x1; nearest upsampling by the feature map's size spreads it.
        pooled = F.interpolate(self.pool_branch(x), scale_factor=(64, 32), mode="nearest")
        x = self.project(torch.cat([branch(x) for branch in self.aspp] + [pooled], 1))
        return F.interpolate(self.head(x), scale_factor=8, mode="bilinear", align_corners=False)


class FPN(nn.Module):
    """A feature pyramid over a four-stage residual backbone (strides 4 to 32): 1x1 laterals, a
    top-down path of nearest 2x upsampling and Add, 3x3 smoothing, every level upsampled
    (nearest) to 1/4 and summed, a 3x3 head and bilinear upsampling by 4."""

    def __init__(self, widths=(24, 48, 96, 160), channels=64, classes=6):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, widths[0], stride=2), conv_bn_relu(widths[0], widths[0], stride=2))
        stages, inputs = [], widths[0]
        for index, width in enumerate(widths):
            stages.append(BasicBlock(inputs, width, stride=1 if index == 0 else 2))
            inputs = width
        self.stages = nn.ModuleList(stages)
        self.laterals = nn.ModuleList(nn.Conv2d(width, channels, 1) for width in widths)
        self.smooth = nn.ModuleList(conv_bn_relu(channels, channels) for _ in widths)
        self.head = nn.Sequential(conv_bn_relu(channels, channels), nn.Conv2d(channels, classes, 1))

    def forward(self, x):
        features = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        top = self.laterals[-1](features[-1])
        merged = [top]
        for feature, lateral in zip(reversed(features[:-1]), reversed(list(self.laterals)[:-1])):
            top = lateral(feature) + F.interpolate(top, scale_factor=2, mode="nearest")
            merged.insert(0, top)
        total = 0
        for level, (feature, smooth) in enumerate(zip(merged, self.smooth)):
            feature = smooth(feature)
            total = total + (F.interpolate(feature, scale_factor=2 ** level, mode="nearest") if level else feature)
        return F.interpolate(self.head(total), scale_factor=4, mode="bilinear", align_corners=False)


class PadPoolNet(nn.Module):
    """The kind of small net issue 11 found 2.5-3x slower than onnxruntime: explicit Pad
    (reflect and zero), AveragePool, a dilated and a grouped convolution, BatchNorm standing
    alone (after a pooling and an Add, where no exporter folds it), LeakyRelu, and a bilinear
    Resize back to full size."""

    def __init__(self, classes=6):
        super().__init__()
        self.pad = nn.ReflectionPad2d(2)
        self.stem = nn.Conv2d(3, 16, 5, stride=2)          # the reflection pad supplies its border
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.norm1 = nn.BatchNorm2d(16)
        self.dilated = nn.Conv2d(16, 32, 3, padding=2, dilation=2)
        self.grouped = nn.Conv2d(32, 32, 3, padding=1, groups=4)
        self.norm2 = nn.BatchNorm2d(32)
        self.zero_pad = nn.ZeroPad2d((1, 0, 1, 0))
        self.down = nn.Conv2d(32, 48, 2, stride=2)
        self.grouped2 = nn.Conv2d(48, 48, 3, padding=1, groups=8)
        self.pool2 = nn.AvgPool2d(2)
        self.head = nn.Conv2d(48, classes, 1)

    def forward(self, x):
        x = self.norm1(self.pool(F.relu(self.stem(self.pad(x)))))
        x = F.leaky_relu(self.dilated(x), 0.1)
        x = self.norm2(x + self.grouped(x))
        x = F.relu(self.grouped2(F.relu(self.down(self.zero_pad(x)))))
        x = self.head(self.pool2(x))
        return F.interpolate(x, scale_factor=16, mode="bilinear", align_corners=False)


class GroupNet(nn.Module):
    """ResNeXt-style blocks (1x1, grouped 3x3 with 8 groups, 1x1, residual) with a stride-2
    AveragePool after the first stage and a standalone BatchNorm before the head; logits at 1/8,
    upsampled bilinearly."""

    def __init__(self, classes=6):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, 32, stride=2), conv_bn_relu(32, 64, stride=2))
        blocks, self.residual, inputs = [], [], 64
        for width in (64, 128, 128):
            blocks.append(nn.Sequential(conv_bn_relu(inputs, width, kernel=1), conv_bn_relu(width, width, groups=8),
                                        conv_bn_relu(width, width, kernel=1, relu=False)))
            self.residual.append(inputs == width)
            inputs = width
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AvgPool2d(2)
        self.norm = nn.BatchNorm2d(128)
        self.head = nn.Conv2d(128, classes, 1)

    def forward(self, x):
        x = self.stem(x)
        for index, (block, residual) in enumerate(zip(self.blocks, self.residual)):
            x = F.relu(block(x) + x) if residual else F.relu(block(x))
            if index == 0:
                x = self.pool(x)
        x = self.head(self.norm(x))
        return F.interpolate(x, scale_factor=8, mode="bilinear", align_corners=False)


class SmallClassifier(nn.Module):
    """A plain small CNN classifier: strided 3x3 convolutions, global average pooling, then two
    linear layers (Gemm, ReLU, Gemm) and a softmax."""

    def __init__(self, classes=5):
        super().__init__()
        layers, inputs = [], 3
        for width in (16, 32, 64, 128):
            layers += [conv_bn_relu(inputs, width, stride=2), conv_bn_relu(width, width)]
            inputs = width
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(inputs, 64)
        self.fc2 = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)
        return torch.softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


ZOO = [
    ("unet8", lambda: UNet((8, 16, 32, 64)), "U-Net, widths 8-16-32 and 64; ConvTranspose 16->8 k2 s2 last"),
    ("unet12", lambda: UNet((12, 24, 48, 96)), "U-Net, widths 12-24-48 and 96 (channels that fill no 16-block)"),
    ("unet16", lambda: UNet((16, 32, 64, 128)), "U-Net, widths 16-32-64 and 128; ConvTranspose at every level"),
    ("resnet18", ResNet18, "ResNet-18 layout at half width, GlobalAveragePool + Gemm classifier"),
    ("mobilenetv2", MobileNetV2, "MobileNetV2 1.0: depthwise + pointwise, ReLU6, GlobalAveragePool + Gemm"),
    ("deeplab", DeepLab, "DeepLabV3-style: dilated backbone, ASPP (rates 6, 12, 18, image pooling)"),
    ("fpn", FPN, "FPN: 1x1 laterals, nearest 2x top-down, levels summed, bilinear output"),
    ("padpool", PadPoolNet, "Pad (reflect, zero), AveragePool, dilated and grouped convs, standalone BatchNorm"),
    ("groupnet", GroupNet, "ResNeXt-style grouped 3x3 convs (8 groups), AveragePool, standalone BatchNorm"),
    ("classifier", SmallClassifier, "small CNN, GlobalAveragePool, Gemm-Relu-Gemm, Softmax"),
]


def randomize_batch_norms(model, generator):
    """Seeded statistics and affine parameters for every BatchNorm: default ones (mean 0,
    variance 1, scale 1, shift 0) would make folding them a no-op."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            count = module.num_features
            module.running_mean.copy_(torch.randn(count, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(count, generator=generator) * 0.5 + 0.75)
            module.weight.data.copy_(torch.rand(count, generator=generator) * 0.5 + 0.75)
            module.bias.data.copy_(torch.randn(count, generator=generator) * 0.1)
