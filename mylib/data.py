"""Datasets: offline ones (scikit-learn digits, synthetic) and, in the full profile, CIFAR.

Nothing here downloads unless asked to in the full profile. CIFAR-10/100 are read from their python-pickle
batches by :func:`read_cifar` (no torchvision needed); torchvision is used only to download them (Colab, a GPU
machine). :func:`write_fake_cifar` writes files of the same format, shapes and class counts with random pixels, so
the full profile's loading code is exercised offline (the dry run, tests). ``$MYLIB_DATA``, when set, is the data
folder used instead of the ``root`` argument.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from ._checks import check_seed

__all__ = ["load_digits_split", "load_cifar", "TensorData", "read_cifar", "write_fake_cifar", "DATA_ENV"]

#: Environment variable naming the data folder (replaces the ``root`` argument of the CIFAR loaders).
DATA_ENV = "MYLIB_DATA"

#: Folder, training files, test file, label key and number of classes of each CIFAR, as in the official archives.
_CIFAR = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "labels", 10),
    "cifar100": ("cifar-100-python", ["train"], "test", "fine_labels", 100),
}


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
    seed = check_seed(seed)
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32, got {seed}")
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
    root = os.environ.get(DATA_ENV) or root
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
    seed = check_seed(seed)
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
    batch there. The batches are read by :func:`read_cifar` (no torchvision); when they are missing and
    ``download`` is true they are first downloaded through torchvision (see :func:`load_cifar` for the error raised
    without it). ``$MYLIB_DATA``, when set, replaces ``root``.

    Raises
    ------
    ValueError
        For an unknown dataset name, or a corrupt batch file (named).
    FileNotFoundError
        When the files are missing and ``download`` is false.
    """
    if name not in _CIFAR:
        raise ValueError(f"unknown dataset {name!r}; valid: {sorted(_CIFAR)}")
    root = Path(os.environ.get(DATA_ENV) or root)
    folder, train_files, test_file, _, _ = _CIFAR[name]
    missing = [f for f in (*train_files, test_file) if not (root / folder / f).exists()]
    if missing and download:
        load_cifar(name, root=root, train=True, download=True)
        load_cifar(name, root=root, train=False, download=True)
    return read_cifar(name, root, train=True), read_cifar(name, root, train=False)


def read_cifar(name: str, root: str | Path, train: bool = True) -> TensorData:
    """Read CIFAR-10/100 from the official python-pickle batches under ``root`` (as extracted from the archives).

    Returns
    -------
    TensorData
        ``x`` uint8 of shape ``(n, 3, 32, 32)``, ``y`` int64 labels (CIFAR-100: the 100 fine labels), in the file
        order, identical to torchvision's ``CIFAR10``/``CIFAR100`` datasets.

    Raises
    ------
    ValueError
        For an unknown name or a file that is not a CIFAR batch (the message names it).
    FileNotFoundError
        When a batch file is missing.
    """
    if name not in _CIFAR:
        raise ValueError(f"unknown dataset {name!r}; valid: {sorted(_CIFAR)}")
    folder, train_files, test_file, label_key, k = _CIFAR[name]
    xs, ys = [], []
    for fname in train_files if train else [test_file]:
        path = Path(root) / folder / fname
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: download {name} (load_cifar_tensors(download=True)) "
                                    "or write a stand-in with mylib.data.write_fake_cifar")
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="latin1")
            x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(batch[label_key], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
            raise ValueError(f"{path} is not a readable CIFAR batch ({type(exc).__name__}: {exc}); delete it and "
                             "download again") from exc
        if len(x) != len(y) or (len(y) and not (0 <= y.min() and y.max() < k)):
            raise ValueError(f"{path}: {len(x)} images and {len(y)} labels, labels must lie in [0, {k})")
        xs.append(x)
        ys.append(y)
    return TensorData(torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)))


def write_fake_cifar(root: str | Path, name: str = "cifar10", n_train: int = 2000, n_test: int = 500,
                     seed: int = 0) -> Path:
    """Write a stand-in for CIFAR-10/100 under ``root``: the official python-pickle format, file names, image shape
    (3 × 32 × 32 uint8) and number of classes, with random pixels and balanced labels (for dry runs and tests; it
    teaches nothing).

    Returns
    -------
    Path
        The dataset folder (``root/cifar-10-batches-py`` or ``root/cifar-100-python``).

    Raises
    ------
    ValueError
        For an unknown name, a bad seed, or sizes that do not give every class at least one training and one test
        image.
    """
    from ._checks import check_positive_int

    if name not in _CIFAR:
        raise ValueError(f"unknown dataset {name!r}; valid: {sorted(_CIFAR)}")
    folder, train_files, test_file, label_key, k = _CIFAR[name]
    seed = check_seed(seed)
    n_train, n_test = check_positive_int(n_train, "n_train"), check_positive_int(n_test, "n_test")
    if n_train < k * len(train_files) or n_test < k:
        raise ValueError(f"{name} needs n_train >= {k * len(train_files)} and n_test >= {k}, got {n_train}, {n_test}")
    rng = np.random.default_rng([seed, k])
    out = Path(root) / folder
    out.mkdir(parents=True, exist_ok=True)

    def batch(n, label):
        labels = rng.permutation(np.arange(n) % k)
        d = {"batch_label": label, "data": rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8),
             label_key: labels.tolist(), "filenames": [f"fake_{i}.png" for i in range(n)]}
        if name == "cifar100":
            d["coarse_labels"] = (labels // 5).tolist()
        return d

    sizes = np.diff(np.linspace(0, n_train, len(train_files) + 1).astype(int))
    for fname, n in zip(train_files, sizes):
        with open(out / fname, "wb") as f:
            pickle.dump(batch(int(n), f"training batch {fname}"), f)
    with open(out / test_file, "wb") as f:
        pickle.dump(batch(n_test, "testing batch"), f)
    meta = ({"label_names": [f"class{i}" for i in range(k)]} if name == "cifar10" else
            {"fine_label_names": [f"class{i}" for i in range(k)], "coarse_label_names": [f"super{i}" for i in range(20)]})
    with open(out / ("batches.meta" if name == "cifar10" else "meta"), "wb") as f:
        pickle.dump(meta, f)
    return out
