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


# --------------------------------------------------------------------------- Part II benchmarks (appended)
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def load_tiny_imagenet_tensors(root: str | Path = "data", download: bool = False
                               ) -> tuple[TensorData, TensorData, list[str]]:
    """Tiny-ImageNet (200 classes, 64x64 RGB) as uint8 tensors ``(n, 3, 64, 64)``: train and validation sets.

    Reads the official layout under ``root/tiny-imagenet-200``: ``wnids.txt`` (class order),
    ``train/<wnid>/images/*.JPEG`` and ``val/images/*.JPEG`` with ``val/val_annotations.txt`` (file, wnid, ...).
    Labels are the line numbers of ``wnids.txt``; files are read in sorted order. Seq-Tiny-ImageNet
    (Co2L) splits the 200 classes into 10 tasks of 20. ``download=True`` fetches and unzips
    :data:`TINY_IMAGENET_URL` first (full profile, e.g. on Colab; about 240 MB).

    Parameters
    ----------
    root : path
    download : bool

    Returns
    -------
    train, val : TensorData
    wnids : list of str
        The WordNet id of each label.

    Raises
    ------
    FileNotFoundError
        If the folder or ``wnids.txt`` is missing (with the download instructions).
    ValueError
        If an image is not 64x64, a validation file names an unknown class, or a class has no training image.
    """
    from PIL import Image

    base = Path(root) / "tiny-imagenet-200"
    if download and not (base / "wnids.txt").exists():
        import urllib.request
        import zipfile

        Path(root).mkdir(parents=True, exist_ok=True)
        archive = Path(root) / "tiny-imagenet-200.zip"
        urllib.request.urlretrieve(TINY_IMAGENET_URL, archive)
        with zipfile.ZipFile(archive) as z:
            z.extractall(root)
    if not (base / "wnids.txt").exists():
        raise FileNotFoundError(f"{base / 'wnids.txt'} not found: download {TINY_IMAGENET_URL} and unzip it into "
                                f"{Path(root)} (or pass download=True)")
    wnids = [w.strip() for w in (base / "wnids.txt").read_text().split() if w.strip()]
    label = {w: i for i, w in enumerate(wnids)}

    def read(files: list[Path], labels: list[int]) -> TensorData:
        x = np.empty((len(files), 64, 64, 3), dtype=np.uint8)
        for k, f in enumerate(files):
            with Image.open(f) as im:
                a = np.asarray(im.convert("RGB"))
            if a.shape != (64, 64, 3):
                raise ValueError(f"{f} is {a.shape[1]}x{a.shape[0]}, expected 64x64")
            x[k] = a
        return TensorData(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.tensor(labels, dtype=torch.long))

    tr_files, tr_labels = [], []
    for w in wnids:
        files = sorted((base / "train" / w / "images").glob("*.JPEG"))
        if not files:
            raise ValueError(f"class {w} has no training image under {base / 'train' / w / 'images'}")
        tr_files += files
        tr_labels += [label[w]] * len(files)
    va_files, va_labels = [], []
    for line in sorted((base / "val" / "val_annotations.txt").read_text().splitlines()):
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        if parts[1] not in label:
            raise ValueError(f"validation image {parts[0]} names an unknown class {parts[1]}")
        va_files.append(base / "val" / "images" / parts[0])
        va_labels.append(label[parts[1]])
    return read(tr_files, tr_labels), read(va_files, va_labels), wnids


def rotated_copies(data: TensorData, angles: "list[float] | np.ndarray") -> tuple[TensorData, np.ndarray]:
    """One copy of every image of ``data`` per angle, rotated (bilinear, about its centre, zero fill) by
    ``angles[k]`` degrees; returns the copies and the domain (angle index) of each. The R-MNIST construction.

    Parameters
    ----------
    data : TensorData
        Float images ``(n, c, h, w)``.
    angles : sequence of float
        Degrees (at least one, finite).

    Returns
    -------
    rotated : TensorData
        ``(n * len(angles), c, h, w)``, domain by domain.
    domain : (n * len(angles),) int array

    Raises
    ------
    ValueError
        If ``angles`` is empty or not finite, or the images are not a float 4-D tensor.
    """
    import torch.nn.functional as F

    ang = np.asarray(angles, dtype=float).ravel()
    if ang.size == 0 or not np.all(np.isfinite(ang)):
        raise ValueError(f"angles must be a non-empty sequence of finite numbers, got {angles!r}")
    if data.x.ndim != 4 or not torch.is_floating_point(data.x):
        raise ValueError(f"data.x must be float images (n, c, h, w), got {data.x.dtype} {tuple(data.x.shape)}")
    xs, doms = [], []
    for k, a in enumerate(ang):
        t = np.deg2rad(a)
        theta = torch.tensor([[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0]], dtype=data.x.dtype)
        grid = F.affine_grid(theta.expand(len(data), 2, 3), list(data.x.shape), align_corners=False)
        xs.append(F.grid_sample(data.x, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
        doms.append(np.full(len(data), k))
    return TensorData(torch.cat(xs), data.y.repeat(len(ang))), np.concatenate(doms)


def rotated_digits(angles: "list[float] | np.ndarray", split_seed: int = 0) -> tuple[TensorData, TensorData,
                                                                                     np.ndarray, np.ndarray]:
    """The digits of :func:`load_digits_split` ``(image=True)`` rotated by each angle (:func:`rotated_copies`): the
    domain-incremental smoke stand-in for R-MNIST (Co2L: 20 rotations of MNIST, uniform in [0, 180) degrees).

    Returns
    -------
    train, test : TensorData
    train_domain, test_domain : int arrays

    Raises
    ------
    ValueError
        If ``angles`` is empty or not finite.
    """
    tr, te = load_digits_split(seed=split_seed, image=True)
    (rtr, dtr), (rte, dte) = rotated_copies(tr, angles), rotated_copies(te, angles)
    return rtr, rte, dtr, dte


def load_mnist_tensors(root: str | Path = "data", download: bool = True) -> tuple[TensorData, TensorData]:
    """MNIST train and test as float tensors ``(n, 1, 28, 28)`` in [0, 1] (full profile; needs torchvision).

    Raises
    ------
    ImportError
        When torchvision is not installed.
    """
    try:
        import torchvision
    except ImportError as err:  # pragma: no cover - exercised only without torchvision
        raise ImportError("MNIST needs torchvision (`pip install torchvision`) and internet access") from err
    out = []
    for train in (True, False):
        ds = torchvision.datasets.MNIST(root=str(root), train=train, download=download)
        out.append(TensorData(ds.data.float().div(255.0).unsqueeze(1), ds.targets.long()))
    return out[0], out[1]
