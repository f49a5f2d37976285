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

__all__ = ["load_digits_split", "load_cifar", "TensorData", "read_cifar", "write_fake_cifar", "DATA_ENV",
           "read_mnist", "write_fake_mnist", "load_mnist_tensors", "modular_addition_split", "load_cifar_tensors",
           "load_tiny_imagenet_tensors", "rotated_copies", "rotated_digits"]

#: Environment variable naming the data folder (replaces the ``root`` argument of the CIFAR loaders).
DATA_ENV = "MYLIB_DATA"

#: Folder, training files, test file, label key and number of classes of each CIFAR, as in the official archives.
_CIFAR = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "labels", 10),
    "cifar100": ("cifar-100-python", ["train"], "test", "fine_labels", 100),
}


class TensorData:
    """Features ``x`` (float32) and integer labels ``y`` held as tensors (on any device).

    Parameters
    ----------
    x : torch.Tensor
        Features, one row (or image) per sample.
    y : torch.Tensor
        Integer labels, one per sample; ``num_classes`` is ``max(y) + 1``.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` do not have the same length.
    """

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

    Parameters
    ----------
    test_fraction : float, default 0.25
        Fraction of the images in the test split, in (0, 1).
    seed : int, default 0
        ``random_state`` of :func:`sklearn.model_selection.train_test_split`, in :math:`[0, 2^{32})`.
    image : bool, default False
        Return images ``(n, 1, 8, 8)`` instead of vectors ``(n, 64)``.

    Returns
    -------
    train, test : TensorData
        float32 features and int64 labels.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1) or ``seed`` is not an integer in :math:`[0, 2^{32})`.
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

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
    root : str or path-like, default "data"
        Download folder; ``$MYLIB_DATA``, when set, replaces it.
    train : bool, default True
        The training split (else the test split).
    download : bool, default True
        Download the archive when it is missing (needs internet).

    Returns
    -------
    torchvision.datasets.CIFAR10 or torchvision.datasets.CIFAR100

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
def modular_addition_split(p: int, train_fraction: float = 0.3, seed: int = 0
                           ) -> tuple[TensorData, TensorData]:
    """All ``p**2`` equations ``a + b = c (mod p)`` as tokens ``(a, b, p)`` with label ``c``, split at random.

    Token ``p`` stands for "=". A uniformly random ``train_fraction`` of the pairs
    (drawn with a numpy Generator seeded by ``seed``) is the training set, the rest the
    test set, as in the grokking experiments of Power et al. (2022).

    Parameters
    ----------
    p : int
        The modulus, at least 2 (the vocabulary has :math:`p + 1` tokens).
    train_fraction : float, default 0.3
        Fraction of the :math:`p^2` equations in the training set (rounded to a count).
    seed : int, default 0
        Non-negative; seeds :func:`numpy.random.default_rng` for the split.

    Returns
    -------
    train, test : TensorData
        ``x`` int64 tokens ``(n, 3)``, ``y`` int64 labels :math:`c = (a + b) \\bmod p`.

    Raises
    ------
    ValueError
        If ``p < 2``, ``seed`` is negative or not an integer, or ``train_fraction`` is not in (0, 1) or leaves a split
        empty.
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

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
    root : str or path-like, default "data"
        The folder holding ``cifar-10-batches-py`` or ``cifar-100-python``.
    download : bool, default True
        Download missing batch files through torchvision.

    Returns
    -------
    train, test : TensorData
        As :func:`read_cifar` (50 000 and 10 000 images for the real datasets).

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

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
    root : str or path-like
        The folder holding ``cifar-10-batches-py`` or ``cifar-100-python``.
    train : bool, default True
        The five (CIFAR-100: one) training batches, else the test batch.

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

    Parameters
    ----------
    root : str or path-like
        Where the dataset folder is created.
    name : {"cifar10", "cifar100"}
    n_train, n_test : int
        Numbers of training and test images (split evenly over the training batch files).
    seed : int, default 0
        Non-negative; the pixels and label orders are drawn from ``numpy.random.default_rng([seed, classes])``.

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


# --------------------------------------------------------------------------- Part II benchmarks (appended)
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def load_tiny_imagenet_tensors(root: str | Path = "data", download: bool = False
                               ) -> tuple[TensorData, TensorData, list[str]]:
    """Tiny-ImageNet (200 classes, 64x64 RGB) as uint8 tensors ``(n, 3, 64, 64)``: train and validation sets.

    Reads the official layout under ``root/tiny-imagenet-200``: ``wnids.txt`` (class order),
    ``train/<wnid>/images/*.JPEG`` and ``val/images/*.JPEG`` with ``val/val_annotations.txt`` (file, wnid, ...).
    Labels are the line numbers of ``wnids.txt``; files are read in sorted order. Seq-Tiny-ImageNet
    (Co2L) splits the 200 classes into 10 tasks of 20. ``download=True`` fetches and unzips
    ``TINY_IMAGENET_URL`` first (full profile, e.g. on Colab; about 240 MB).

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

    Parameters
    ----------
    angles : sequence of float
        Rotations in degrees, one domain each.
    split_seed : int
        Seed of the train/test split of the digits.

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


#: IDX file names of MNIST (as torchvision extracts them into ``<root>/MNIST/raw``): images, labels per split.
_MNIST_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _mnist_folder(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def read_mnist(root: str | Path, train: bool = True) -> TensorData:
    """Read MNIST from its IDX files under ``root/MNIST/raw`` (the layout torchvision extracts; no torchvision needed).

    An IDX file is a big-endian header (magic number ``0x00000803`` for images, ``0x00000801`` for labels, then the
    dimensions) followed by the uint8 values.

    Parameters
    ----------
    root : str or Path
        Data folder holding ``MNIST/raw``.
    train : bool
        The 60 000 training images (``train-*``) or the 10 000 test images (``t10k-*``).

    Returns
    -------
    TensorData
        ``x`` float32 ``(n, 1, h, w)`` in [0, 1], ``y`` int64 labels in [0, 10), in file order (identical to
        ``torchvision.datasets.MNIST(...).data / 255`` and ``.targets``).

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        For a file that is not an MNIST IDX file of the expected kind, or images and labels of different lengths
        (the message names the file).
    """
    folder = _mnist_folder(root)
    arrays = []
    for fname, magic, ndim in zip(_MNIST_FILES[bool(train)], (2051, 2049), (3, 1)):
        path = folder / fname
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: download MNIST (load_mnist_tensors(download=True)) "
                                    "or write a stand-in with mylib.data.write_fake_mnist")
        raw = path.read_bytes()
        head = 4 * (1 + ndim)
        if len(raw) < head or int.from_bytes(raw[:4], "big") != magic:
            raise ValueError(f"{path} is not an MNIST IDX file (magic number {magic} expected)")
        dims = [int.from_bytes(raw[4 * (i + 1):4 * (i + 2)], "big") for i in range(ndim)]
        if len(raw) - head != int(np.prod(dims)):
            raise ValueError(f"{path}: header says {dims} values, the file holds {len(raw) - head} bytes")
        arrays.append(np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims))
    images, labels = arrays
    if len(images) != len(labels) or (labels.size and labels.max() > 9):
        raise ValueError(f"{folder}: {len(images)} images and {len(labels)} labels, labels must lie in [0, 10)")
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    return TensorData(x, torch.from_numpy(labels.astype(np.int64)))


def write_fake_mnist(root: str | Path, n_train: int = 100, n_test: int = 20, seed: int = 0) -> Path:
    """Write a stand-in for MNIST under ``root/MNIST/raw``: the IDX format, file names, 28 × 28 uint8 images and ten
    balanced classes, with random pixels (for dry runs and tests; it teaches nothing).

    Parameters
    ----------
    root : str or Path
        Data folder; ``root/MNIST/raw`` is created.
    n_train, n_test : int
        Number of training and test images, each at least 10 (every class present).
    seed : int
        Seed of the pixels and the label order.

    Returns
    -------
    Path
        The folder written (``root/MNIST/raw``).

    Raises
    ------
    ValueError
        For a bad seed or sizes below 10.
    """
    from ._checks import check_positive_int

    seed = check_seed(seed)
    n_train, n_test = check_positive_int(n_train, "n_train"), check_positive_int(n_test, "n_test")
    if n_train < 10 or n_test < 10:
        raise ValueError(f"MNIST needs n_train >= 10 and n_test >= 10 (every class present), got {n_train}, {n_test}")
    rng = np.random.default_rng([seed, 10])
    folder = _mnist_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    for train, n in ((True, n_train), (False, n_test)):
        img_name, lab_name = _MNIST_FILES[train]
        labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        header = b"".join(int(v).to_bytes(4, "big") for v in (2051, n, 28, 28))
        (folder / img_name).write_bytes(header + images.tobytes())
        (folder / lab_name).write_bytes(b"".join(int(v).to_bytes(4, "big") for v in (2049, n)) + labels.tobytes())
    return folder


def load_mnist_tensors(root: str | Path = "data", download: bool = True) -> tuple[TensorData, TensorData]:
    """MNIST train and test as float tensors ``(n, 1, 28, 28)`` in [0, 1] (full profile of R-MNIST).

    The IDX files are read by :func:`read_mnist` (no torchvision); when they are missing and ``download`` is true
    they are first downloaded through torchvision. ``$MYLIB_DATA``, when set, replaces ``root``.

    Parameters
    ----------
    root : str or Path
        Data folder holding (or receiving) ``MNIST/raw``.
    download : bool
        Download through torchvision when files are missing.

    Returns
    -------
    train, test : TensorData
        As returned by :func:`read_mnist`.

    Raises
    ------
    ImportError
        When files are missing, ``download`` is true and torchvision is not installed.
    FileNotFoundError
        When files are missing and ``download`` is false.
    ValueError
        For a corrupt file (named).
    """
    root = Path(os.environ.get(DATA_ENV) or root)
    missing = [f for t in (True, False) for f in _MNIST_FILES[t] if not (_mnist_folder(root) / f).exists()]
    if missing and download:
        try:
            import torchvision
        except ImportError as err:  # pragma: no cover - exercised only without torchvision
            raise ImportError("MNIST needs torchvision (`pip install torchvision`) and internet access to download "
                              f"{missing} into {_mnist_folder(root)}") from err
        for train in (True, False):
            torchvision.datasets.MNIST(root=str(root), train=train, download=True)
    return read_mnist(root, train=True), read_mnist(root, train=False)
