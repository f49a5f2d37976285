"""Encoders and the contrastive network of Part II (registered in :data:`mylib.nn.MODELS`).

* :class:`MLPEncoder` for the 8x8 digits, :class:`ResNet18` (CIFAR-style, as in Co2L) for images;
* :class:`ContrastiveNet` = encoder + two-layer projection head with L2-normalised output.

``mylib.nn.build_model("contrastive-mlp", proj_dim=32, in_dim=64, hidden=128, feat_dim=64)`` and
``mylib.nn.build_model("contrastive-resnet18", proj_dim=128, width=64)`` build them.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._checks import check_positive_int

__all__ = ["MLPEncoder", "ResNet18", "ContrastiveNet", "CONV_INITS", "kaiming_init"]

#: Convolution initialisations of :class:`ResNet18`: ``"kaiming"`` is Co2L's (Kaiming normal, fan_out, BN weight
#: 1 and bias 0), ``"torch"`` PyTorch's default (Kaiming uniform with a = sqrt(5)).
CONV_INITS = ("kaiming", "torch")


def kaiming_init(module: nn.Module) -> nn.Module:
    """Kaiming-normal (fan_out, ReLU) weights for every convolution, weight 1 and bias 0 for every BatchNorm
    (He et al., 2015; the initialisation of Co2L's and Zagoruyko & Komodakis' networks).

    Parameters
    ----------
    module : torch.nn.Module
        Initialised in place (every ``Conv2d`` and ``BatchNorm2d`` below it).

    Returns
    -------
    torch.nn.Module
        ``module``.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


class MLPEncoder(nn.Module):
    """``flatten -> Linear(in, hidden) -> ReLU -> Linear(hidden, feat) -> ReLU`` (for the 8x8 digits).

    Parameters
    ----------
    in_dim, hidden, feat_dim : int
        Positive sizes.

    Raises
    ------
    ValueError
        For a size that is not a positive integer.
    """

    def __init__(self, in_dim: int = 64, hidden: int = 128, feat_dim: int = 64):
        super().__init__()
        in_dim, hidden, feat_dim = (check_positive_int(v, n) for v, n in
                                    ((in_dim, "in_dim"), (hidden, "hidden"), (feat_dim, "feat_dim")))
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, feat_dim), nn.ReLU())
        self.feature_dim = feat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class ResNet18(nn.Module):
    """CIFAR-style ResNet-18 (He et al., 2016) as in Co2L: 3x3 stem without max-pool, four stages of two basic
    blocks with widths ``w, 2w, 4w, 8w``, global average pooling; ``feature_dim = 8 w``.

    Parameters
    ----------
    width : int
        ``w`` (64 is the standard network; the smoke profile uses a tiny width).
    in_channels : int
    init : {"kaiming", "torch"}
        Convolution initialisation (see :data:`CONV_INITS`); Co2L's is ``"kaiming"``.

    Raises
    ------
    ValueError
        For a non-positive size or an unknown ``init``.
    """

    def __init__(self, width: int = 64, in_channels: int = 3, init: str = "kaiming"):
        super().__init__()
        w = check_positive_int(width, "width")
        cin = check_positive_int(in_channels, "in_channels")
        if init not in CONV_INITS:
            raise ValueError(f"unknown init {init!r}; valid: {CONV_INITS}")
        self.stem = nn.Sequential(nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        layers, c = [], w
        for i, mult in enumerate((1, 2, 4, 8)):
            for j in range(2):
                layers.append(_BasicBlock(c, w * mult, 2 if (i > 0 and j == 0) else 1))
                c = w * mult
        self.layers = nn.Sequential(*layers)
        self.feature_dim = c
        if init == "kaiming":
            kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)


class ContrastiveNet(nn.Module):
    """Encoder + projection head ``Linear(f, f) -> ReLU -> Linear(f, proj_dim)`` with L2-normalised output.

    ``features(x)`` is the encoder output (what the linear probe sees); ``forward(x)`` the unit-norm
    projection on which the contrastive and distillation losses are computed.

    Parameters
    ----------
    encoder : nn.Module
        With an integer attribute ``feature_dim``.
    proj_dim : int

    Raises
    ------
    ValueError
        If the encoder has no ``feature_dim`` or ``proj_dim`` is not a positive integer.
    """

    def __init__(self, encoder: nn.Module, proj_dim: int = 128):
        super().__init__()
        if not hasattr(encoder, "feature_dim"):
            raise ValueError("encoder must have an integer attribute feature_dim")
        f = int(getattr(encoder, "feature_dim"))
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, check_positive_int(proj_dim, "proj_dim")))
        self.feature_dim = f

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.encoder(x)).float(), dim=1)


def contrastive_mlp(proj_dim: int = 128, **kwargs: Any) -> ContrastiveNet:
    return ContrastiveNet(MLPEncoder(**kwargs), proj_dim)


def contrastive_resnet18(proj_dim: int = 128, **kwargs: Any) -> ContrastiveNet:
    return ContrastiveNet(ResNet18(**kwargs), proj_dim)
