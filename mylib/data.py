"""Datasets: offline ones (scikit-learn digits, synthetic) and, in the full profile, CIFAR.

Nothing here downloads unless asked to in the full profile; CIFAR needs
torchvision, which the CPU test machine does not have.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["load_digits_split", "load_cifar", "TensorData"]


class TensorData:
    """Features ``x`` (float32) and integer labels ``y`` held as tensors (on any device)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device) -> "TensorData":
        return TensorData(self.x.to(device), self.y.to(device))

    @property
    def num_classes(self) -> int:
        return int(self.y.max().item()) + 1


def load_digits_split(test_fraction: float = 0.25, seed: int = 0, image: bool = False
                      ) -> tuple[TensorData, TensorData]:
    """scikit-learn's bundled 8×8 digits (1797 images, 10 classes), split stratified.

    Pixels are scaled to [0, 1] and standardised with the training mean/std.
    ``image=True`` returns tensors of shape (n, 1, 8, 8) instead of (n, 64).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32) / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_fraction, random_state=seed, stratify=y)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    if image:
        Xtr, Xte = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)
    as_t = lambda a, b: TensorData(torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(b).long())
    return as_t(Xtr, ytr), as_t(Xte, yte)


def load_cifar(name: str = "cifar10", root: str | Path = "data", train: bool = True, download: bool = True):
    """Return CIFAR-10/100 as a torchvision dataset (full profile only).

    Raises
    ------
    ValueError
        For an unknown dataset name.
    ImportError
        When torchvision is not installed, with instructions.
    """
    names = {"cifar10": "CIFAR10", "cifar100": "CIFAR100"}
    if name not in names:
        raise ValueError(f"unknown dataset {name!r}; valid: {sorted(names)}")
    try:
        import torchvision
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError(
            f"{name} needs torchvision, which is not installed here. The smoke profile uses the offline "
            "digits data instead; for the full profile run on Colab or a GPU machine and "
            "`pip install torchvision` (or `pip install -e .[full]`), with internet access for the download."
        ) from exc
    return getattr(torchvision.datasets, names[name])(root=str(root), train=train, download=download)
