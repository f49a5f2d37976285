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

    Pixels are scaled to [0, 1] and standardised with the training mean/std; pixels that are constant in the
    training split are set to 0 in both splits.
    ``image=True`` returns tensors of shape (n, 1, 8, 8) instead of (n, 64).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32) / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_fraction, random_state=seed, stratify=y)
    # A pixel that is constant in the training split (a corner) carries no information: it is set to 0 in both
    # splits, rather than divided by a tiny std that would blow up the test pixels that differ from it.
    mu, sd = Xtr.mean(0), Xtr.std(0)
    live = sd > 0
    scale = np.where(live, sd, 1.0).astype(np.float32)
    Xtr, Xte = np.where(live, (Xtr - mu) / scale, 0.0), np.where(live, (Xte - mu) / scale, 0.0)
    Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
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


# --------------------------------------------------------------------------- Part I experiments
__all__ += ["modular_addition_split", "load_cifar_tensors"]


def modular_addition_split(p: int, train_fraction: float = 0.3, seed: int = 0
                           ) -> tuple[TensorData, TensorData]:
    """All ``p**2`` equations ``a + b = c (mod p)`` as tokens ``(a, b, p)`` with label ``c``, split at random.

    Token ``p`` stands for "=". A uniformly random ``train_fraction`` of the pairs
    (drawn with a numpy Generator seeded by ``seed``) is the training set, the rest the
    test set, as in the grokking experiments of Power et al. (2022).

    Raises
    ------
    ValueError
        If ``p < 2`` or ``train_fraction`` is not in (0, 1) or leaves a split empty.
    """
    from ._checks import check_positive_int

    p = check_positive_int(p, "p", minimum=2)
    if not 0 < float(train_fraction) < 1:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    tokens = np.stack([a.ravel(), b.ravel(), np.full(p * p, p)], axis=1)
    labels = (a.ravel() + b.ravel()) % p
    perm = np.random.default_rng(seed).permutation(p * p)
    n_train = int(round(float(train_fraction) * p * p))
    if not 0 < n_train < p * p:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty split for p={p}")
    tr, te = perm[:n_train], perm[n_train:]
    as_t = lambda idx: TensorData(torch.from_numpy(tokens[idx]).long(), torch.from_numpy(labels[idx]).long())
    return as_t(tr), as_t(te)


def load_cifar_tensors(name: str = "cifar10", root: str | Path = "data", download: bool = True
                       ) -> tuple[TensorData, TensorData]:
    """CIFAR-10/100 train and test sets as uint8 tensors ``(n, 3, 32, 32)`` (full profile only).

    Kept as uint8 (150 MB for the training set) so the whole dataset can live on the
    GPU; :func:`mylib.nn.cifar_transform` scales, augments and normalises each
    batch there. Needs torchvision (see :func:`load_cifar` for the error raised without it).
    """
    out = []
    for train in (True, False):
        ds = load_cifar(name, root=root, train=train, download=download)
        x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
        out.append(TensorData(x, torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)))
    return out[0], out[1]
