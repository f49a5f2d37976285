"""Experiment drivers of Part I (continued): information interplay during training.

Each function here runs one experiment of {doc}`../book/part1_experiments` and returns
plain numbers (numpy arrays / floats) for the notebooks to plot and print:

* :func:`run_training_dynamics` -- train to the terminal phase over several seeds and track, per
  epoch, accuracy/loss, MIR and HDR between features and the heads of their labels (raw test
  features over mini-batches of 64 as in Song et al. 2024, and on the whole set; centred train and
  test features), NC1-NC4 and the distance of MIR from its Neural-Collapse value
  (:func:`mylib.information.nc_mir`, {prf:ref}`thm-nc-mir`); :func:`phase_correlations` correlates
  them with the accuracy over all epochs and inside the terminal phase;
* :func:`info_regularized_loss` and :func:`run_info_losses` -- cross-entropy with the
  matrix mutual information and/or the entropy difference as loss terms, over paired runs that
  each draw their own split, initialisation and data order; :func:`paired_ci` summarises them;
* :func:`run_grokking` / :func:`grokking_phases` -- modular addition with a one-layer transformer
  (Power et al. 2022), with MIR/HDR between the final hidden representation and the unembedding;
* :func:`run_mode_connectivity` / :func:`barrier_spread` -- linear interpolation between pairs of
  runs from one initialisation (Frankle et al. 2020), with label smoothing (Müller et al. 2019);
* :func:`magnitude_prune` / :func:`run_pruning` -- accuracy, MIR and HDR as global magnitude
  pruning removes a growing fraction of the weights.

Sizes come from the profiles registered at import (``mylib.get_config(name, profile)``):
``"smoke"`` runs on two CPU cores in about a minute per notebook (scikit-learn digits,
small networks, a small modulus); ``"full"`` is the paper's scale (CIFAR-10/100 with
WRN-28-2/WRN-28-8, p = 113) on one GPU. Every training checkpoints through
:func:`mylib.run_dir` (on for the full profile, or when ``MYLIB_RUNS`` is set) and resumes
exactly after a kill. Every random stream is drawn through :mod:`mylib.seeds`.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import profiles, seeds, stats
from ..nn import training as nn
from .._checks import as_tensor, check_nonnegative, check_positive_int, check_same_rows
from .collapse import center_rows, nc_metrics, nc_mir
from ..data import TensorData, load_cifar_tensors, load_digits_split, modular_addition_split
from ..linalg import xlogx_entropy
from .matrix_info import information_summary, normalize_rows
from ..runtime import dry_run_cap, get_device, run_dir, seed_everything

__all__ = [
    "DATASETS", "Dataset", "load_dataset", "make_model", "minibatch_information", "information_hook",
    "collapse_hook", "correlations", "terminal_start", "phase_correlations", "DYNAMICS_SERIES",
    "run_training_dynamics",
    "info_regularized_loss", "LOSS_METHODS", "run_info_losses", "paired_ci", "run_grokking",
    "run_grokking_seeds", "grokking_phases", "interpolation_path", "barrier", "run_mode_connectivity",
    "barrier_spread", "magnitude_prune", "sparsity_of", "run_pruning",
]

# ----------------------------------------------------------------------------- profiles
_PAPER_TRAIN = dict(batch_size=64, momentum=0.9, schedule="cosine")
#: Weight decay of the toolkit the paper builds on (USB / TorchSSL: 5e-4 on CIFAR-10, 1e-3 on CIFAR-100).
_WD = {"cifar10": 5e-4, "cifar100": 1e-3}

profiles.register(
    "part1_training_dynamics",
    smoke=dict(
        runs=[dict(dataset="digits", model="mlp", model_kwargs={"width": 64, "depth": 2}, epochs=40, lr=0.05,
                   weight_decay=5e-4)],
        n_seeds=3, terminal_acc=1.0, mir_batch_size=64, eval_every=1, amp=False, channels_last=False,
        **_PAPER_TRAIN,
    ),
    full=dict(
        runs=[dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, epochs=200, lr=0.03,
                   weight_decay=_WD["cifar10"]),
              dict(dataset="cifar100", model="wrn-28-8", model_kwargs={}, epochs=200, lr=0.03,
                   weight_decay=_WD["cifar100"])],
        n_seeds=3, terminal_acc=0.999, mir_batch_size=64, eval_every=1, amp=True, channels_last=True,
        **_PAPER_TRAIN,
    ),
)

profiles.register(
    "part1_info_losses",
    smoke=dict(
        datasets=[dict(dataset="digits", model="mlp", model_kwargs={"width": 64, "depth": 2},
                       weight_decay=5e-4)],
        methods=("ce", "mi", "mi+hdr"), lam_mi=0.1, lam_hdr=0.1, n_runs=10, resplit=True,
        epochs=8, lr=0.05, amp=False, channels_last=False, **_PAPER_TRAIN,
    ),
    full=dict(
        datasets=[dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, weight_decay=_WD["cifar10"]),
                  dict(dataset="cifar100", model="wrn-28-8", model_kwargs={}, weight_decay=_WD["cifar100"])],
        methods=("ce", "mi", "mi+hdr"), lam_mi=0.1, lam_hdr=0.1, n_runs=5, resplit=False,
        epochs=200, lr=0.03, amp=True, channels_last=True, **_PAPER_TRAIN,
    ),
)

profiles.register(
    "part1_grokking",
    smoke=dict(p=23, train_fraction=0.8, d_model=32, n_heads=4, d_mlp=128, lr=1e-3, weight_decay=1.0,
               betas=(0.9, 0.98), warmup_steps=10, steps=3000, eval_every=50, train_info=False,
               info_max_samples=None, n_seeds=3),
    full=dict(p=113, train_fraction=0.3, d_model=128, n_heads=4, d_mlp=512, lr=1e-3, weight_decay=1.0,
              betas=(0.9, 0.98), warmup_steps=10, steps=40000, eval_every=100, train_info=True,
              info_max_samples=2048, n_seeds=3),
)

profiles.register(
    "part1_mode_connectivity",
    smoke=dict(dataset="digits", model="mlp", model_kwargs={"width": 64, "depth": 2}, epochs=10, lr=0.05,
               weight_decay=5e-4, smoothing=(0.0, 0.1, 0.2), n_alphas=11, n_pairs=3, spawn_epochs=0,
               reset_bn=False, independent_control=True,
               amp=False, channels_last=False, **_PAPER_TRAIN),
    full=dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, epochs=100, lr=0.03,
              weight_decay=_WD["cifar10"], smoothing=(0.0, 0.1, 0.2), n_alphas=21, n_pairs=3, spawn_epochs=0,
              reset_bn=True, independent_control=True,
              amp=True, channels_last=True, **_PAPER_TRAIN),
)

profiles.register(
    "part1_pruning",
    smoke=dict(dataset="digits", model="mlp", model_kwargs={"width": 64, "depth": 2}, epochs=15, lr=0.05,
               weight_decay=5e-4, sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99), n_seeds=3,
               amp=False, channels_last=False, **_PAPER_TRAIN),
    full=dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, epochs=200, lr=0.03,
              weight_decay=_WD["cifar10"], sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99), n_seeds=3,
              amp=True, channels_last=True, **_PAPER_TRAIN),
)


def _seed(purpose: str, *keys: int) -> int:
    """A 32-bit integer seed of the stream ``(purpose, *keys)`` (:mod:`mylib.seeds`), for APIs taking an int."""
    return int(seeds.seed_sequence(purpose, *keys).generate_state(1, np.uint32)[0])


# ----------------------------------------------------------------------------- data and models
DATASETS: tuple[str, ...] = ("digits", "digits_image", "cifar10", "cifar100")


@dataclass
class Dataset:
    """A train/test pair with its number of classes and per-batch transforms (None for digits).

    Attributes
    ----------
    name : str
        E.g. ``"digits"``, ``"cifar10"``.
    train, test : TensorData
    num_classes : int
    train_transform, eval_transform : callable or None
        Batch transforms ``transform(x, generator)`` for :func:`mylib.nn.fit` (CIFAR:
        :func:`mylib.nn.cifar_transform`); None for data used as stored.
    """

    name: str
    train: TensorData
    test: TensorData
    num_classes: int
    train_transform: Callable | None = None
    eval_transform: Callable | None = None


def load_dataset(name: str, seed: int = 0, root: str = "data", download: bool = True) -> Dataset:
    """Load one of :data:`DATASETS`.

    Parameters
    ----------
    name : str
        ``"digits"`` (flat 64-d) and ``"digits_image"`` (1x8x8) are scikit-learn's bundled digits;
        ``"cifar10"``/``"cifar100"`` need torchvision and a download (full profile).
    seed : int
        Seed of the stratified digits split (ignored for CIFAR, whose test set is fixed).
    root : str
        Where CIFAR is stored or downloaded.
    download : bool
        Allow the CIFAR download.

    Returns
    -------
    Dataset
        Train and test tensors, the number of classes and the batch transforms (CIFAR only).

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        For CIFAR without torchvision.
    RuntimeError
        When CIFAR cannot be loaded; the message says how to get it.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {DATASETS}")
    if name.startswith("digits"):
        tr, te = load_digits_split(seed=seed, image=name == "digits_image")
        return Dataset(name, tr, te, 10)
    try:
        tr, te = load_cifar_tensors(name, root=root, download=download)
    except ImportError:
        raise
    except Exception as exc:  # download/parsing failure: say what to do
        raise RuntimeError(f"could not load {name} from {root!r} ({type(exc).__name__}: {exc}). The full "
                           "profile downloads CIFAR through torchvision on first use, which needs internet "
                           f"access; otherwise place the extracted dataset under {root!r}.") from exc
    return Dataset(name, tr, te, 10 if name == "cifar10" else 100,
                   nn.cifar_transform(augment=True), nn.cifar_transform(augment=False))


def make_model(name: str, dataset: Dataset, **kwargs: Any) -> torch.nn.Module:
    """Build model ``name`` sized for ``dataset`` (input shape and number of classes).

    Parameters
    ----------
    name : {"mlp", "cnn", "wrn-28-2", "wrn-28-8"}
        :class:`mylib.nn.MLP`, :class:`mylib.nn.SmallCNN` or the Wide ResNets of the full profile.
    dataset : Dataset
    **kwargs
        Passed to the model (e.g. ``width``, ``depth``).

    Returns
    -------
    torch.nn.Module
        A model with ``features(x)`` and a linear head ``fc``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    C = dataset.num_classes
    if name == "mlp":
        return nn.MLP(int(np.prod(dataset.train.x.shape[1:])), C, **kwargs)
    if name == "cnn":
        return nn.SmallCNN(int(dataset.train.x.shape[1]), C, **kwargs)
    if name in ("wrn-28-2", "wrn-28-8"):
        return nn.build_model(name, num_classes=C, **kwargs)
    raise ValueError(f"unknown model {name!r}; valid: 'mlp', 'cnn', 'wrn-28-2', 'wrn-28-8'")


def _train_config(cfg: Mapping[str, Any], **extra: Any) -> nn.TrainConfig:
    values = dict(cfg)
    values.update(extra)
    return nn.TrainConfig.from_dict(values)


# ----------------------------------------------------------------------------- information metrics
def minibatch_information(Z1: Any, Z2: Any, batch_size: int = 64) -> dict[str, Any]:
    """MIR and HDR averaged over consecutive mini-batches, the evaluation of Song et al. (2024).

    The rows are cut in order into batches of ``batch_size`` (the last, shorter batch is
    kept if it has at least 2 rows); on each batch :math:`b`

    .. math:: \\mathrm{MIR}_b = \\frac{H(G_1) + H(G_2) - H(G_1\\circ G_2)}{\\min(H(G_1), H(G_2))},\\qquad
       \\mathrm{HDR}_b = \\frac{|H(G_1) - H(G_2)|}{\\max(H(G_1), H(G_2))},

    with :math:`G_k` the cosine Gram matrices of the batch divided by its size
    ({prf:ref}`def-mi-mir-hdr`), and the results are averaged over batches (a batch where an
    entropy is zero is skipped). Full batches are diagonalised together, as one batched
    eigenvalue problem (fast on a GPU); the values equal
    :func:`mylib.information.information_summary` on each batch.

    Parameters
    ----------
    Z1, Z2 : array_like or torch.Tensor, shape (n, d1), (n, d2)
        Two representations of the same ``n >= 2`` samples, in batch order.
    batch_size : int
        Rows per batch (at least 2).

    Returns
    -------
    dict
        ``MIR`` and ``HDR`` (float means), ``MIR_batches`` and ``HDR_batches`` (numpy arrays,
        NaN for skipped batches).

    Raises
    ------
    ValueError
        For NaN/inf, shapes that disagree, fewer than 2 rows, ``batch_size < 2`` or an
        all-zero row.
    """
    t1 = as_tensor(Z1, "Z1", ndim=2)
    t2 = as_tensor(Z2, "Z2", ndim=2)
    check_same_rows(t1, t2)
    bs = check_positive_int(batch_size, "batch_size", minimum=2)
    n = t1.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 rows, got {n}")
    dtype = torch.promote_types(torch.promote_types(t1.dtype, t2.dtype), torch.float32)
    u1 = normalize_rows(t1.detach().to(dtype), "Z1")
    u2 = normalize_rows(t2.detach().to(device=t1.device, dtype=dtype), "Z2")
    chunks = []
    n_full = n // bs
    if n_full:
        chunks.append((u1[:n_full * bs].reshape(n_full, bs, -1), u2[:n_full * bs].reshape(n_full, bs, -1)))
    if n - n_full * bs >= 2:
        chunks.append((u1[n_full * bs:][None], u2[n_full * bs:][None]))
    sym = lambda G: 0.5 * (G + G.transpose(1, 2))
    H1s, H2s, H12s = [], [], []
    for a, b in chunks:
        m = a.shape[1]
        G1 = a @ a.transpose(1, 2) / m
        G2 = b @ b.transpose(1, 2) / m
        H1s.append(xlogx_entropy(torch.linalg.eigvalsh(sym(G1))))
        H2s.append(xlogx_entropy(torch.linalg.eigvalsh(sym(G2))))
        H12s.append(xlogx_entropy(torch.linalg.eigvalsh(sym(G1 * G2 * m))))
    H1, H2, H12 = (torch.cat(x).cpu().double().numpy() for x in (H1s, H2s, H12s))
    tol = max(1e-12, 100.0 * float(torch.finfo(dtype).eps))
    lo, hi = np.minimum(H1, H2), np.maximum(H1, H2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mir_b = np.where(lo > tol, (H1 + H2 - H12) / lo, np.nan)
        hdr_b = np.where(hi > tol, np.abs(H1 - H2) / hi, np.nan)
    mean = lambda v: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
    return {"MIR": mean(mir_b), "HDR": mean(hdr_b), "MIR_batches": mir_b, "HDR_batches": hdr_b}


def _nonzero_rows(Z: torch.Tensor, *others: torch.Tensor):
    """Rows where ``Z`` and every other matrix are nonzero (a zero row has no direction), and the dropped count."""
    keep = torch.linalg.vector_norm(Z, dim=1) > 0
    for o in others:
        keep &= torch.linalg.vector_norm(o, dim=1).to(keep.device) > 0
    if bool(keep.all()):
        return (Z, *others), 0
    return (Z[keep], *(o[keep] for o in others)), int((~keep).sum())


_DATA = ("test", "train")


def information_hook(batch_size: int = 64, whole: bool = True, theorem_C: int | None = None,
                     prefix: str = "", max_samples: int | None = None, data: str = "test",
                     center: bool = False, batches: bool = True
                     ) -> Callable[[nn.EpochContext], dict[str, float]]:
    """A :func:`mylib.nn.fit` hook: MIR/HDR between features and the heads of their labels.

    Implements the sample-level quantities of {prf:ref}`def-mi-mir-hdr` on the features of
    ``data`` (the test set, or the training set in eval mode) and the head rows :math:`w_{y_i}`.

    Parameters
    ----------
    batch_size : int
        Batch size of the paper's mini-batch average (:func:`minibatch_information`).
    whole : bool
        Also compute the quantities on the whole set (float64, :func:`information_summary`).
    theorem_C : int, optional
        Number of classes of {prf:ref}`thm-nc-mir`; adds ``mir_gap = |MIR - MIR_NC(C)|``.
    prefix : str
        Prepended to every recorded name.
    max_samples : int, optional
        Only the first so many samples enter the whole-set quantities (when the :math:`n\\times n`
        path would be too slow).
    data : {"test", "train"}
        Which features. ``"train"`` reuses the training features that :func:`mylib.nn.fit` evaluated
        (``eval_train=True``) or runs one eval-mode pass.
    center : bool
        Subtract the mean feature of the set first (:func:`mylib.information.center_rows`): Neural
        Collapse is stated for centred features ({prf:ref}`def-nc-properties`), and raw ReLU features
        cannot form a simplex ETF ({prf:ref}`prop-nce-nonnegative`).
    batches : bool
        Record the mini-batch average too.

    Returns
    -------
    callable
        ``hook(ctx) -> dict`` with ``zero_rows`` (samples whose feature or head row is all-zero, left
        out: a pruned head can lose a whole row), ``mir_batch``/
        ``hdr_batch`` (with ``batches``), ``mir``/``hdr``/``H_features``/``H_heads`` (with ``whole``)
        and ``mir_gap`` (with ``theorem_C``), each with ``prefix``; NaN when fewer than 2 samples have
        nonzero rows.

    Raises
    ------
    ValueError
        For a bad ``batch_size``/``max_samples``/``data``, or (when called) test features missing.
    """
    bs = check_positive_int(batch_size, "batch_size", minimum=2)
    cap = None if max_samples is None else check_positive_int(max_samples, "max_samples", minimum=2)
    if data not in _DATA:
        raise ValueError(f"data must be one of {_DATA}, got {data!r}")
    target = nc_mir(theorem_C) if theorem_C is not None else None

    def hook(ctx: nn.EpochContext) -> dict[str, float]:
        if data == "test":
            if ctx.test_features is None:
                raise ValueError("information_hook(data='test') needs test data")
            Z, y = ctx.test_features, ctx.test_labels
        else:
            Z = ctx.train_features
            if Z is None:
                Z, _ = nn.collect_outputs(ctx.model, ctx.train, 1024)
            y = ctx.train.y.to(Z.device)
        Z = Z.detach()
        if center:
            Z = center_rows(Z.double())
        W = nn.head_rows(ctx.model, y).detach()
        (Z, W), zero = _nonzero_rows(Z, W)
        out = {f"{prefix}zero_rows": float(zero)}
        if Z.shape[0] < 2:  # e.g. a heavily pruned network: nothing left to compare
            names = (["mir_batch", "hdr_batch"] if batches else []) + (
                ["mir", "hdr", "H_features", "H_heads"] + (["mir_gap"] if target is not None else [])
                if whole else [])
            out.update({f"{prefix}{k}": math.nan for k in names})
            return out
        if batches:
            mb = minibatch_information(Z, W, bs)
            out[f"{prefix}mir_batch"], out[f"{prefix}hdr_batch"] = mb["MIR"], mb["HDR"]
        if whole:
            s = information_summary(Z[:cap].double(), W[:cap].double())
            out.update({f"{prefix}mir": float(s["MIR"]), f"{prefix}hdr": float(s["HDR"]),
                        f"{prefix}H_features": float(s["H1"]), f"{prefix}H_heads": float(s["H2"])})
            if target is not None:
                out[f"{prefix}mir_gap"] = abs(out[f"{prefix}mir"] - target)
        return out

    return hook


def collapse_hook(data: str = "train", transform: Callable | None = None, batch_size: int = 1024
                  ) -> Callable[[nn.EpochContext], dict[str, float]]:
    """A :func:`mylib.nn.fit` hook: NC1-NC4 ({prf:ref}`def-nc-properties`) of ``data`` features.

    Parameters
    ----------
    data : {"train", "test"}
        NC is a property of the training set (Papyan et al. 2020). ``"train"`` reuses the training
        features :func:`mylib.nn.fit` evaluated (``eval_train=True``) or runs one eval-mode pass;
        ``"test"`` reuses the evaluated test features.
    transform : callable, optional
        Eval transform of the extra training pass.
    batch_size : int
        Batch size of that pass.

    Returns
    -------
    callable
        ``hook(ctx) -> dict`` with ``nc1``, ``nc2_means``, ``nc2_heads``, ``nc3`` and ``nc4`` (all 0 at
        collapse); NaN when some class has no sample in ``data`` (class means undefined).

    Raises
    ------
    ValueError
        For an unknown ``data``.
    """
    if data not in ("train", "test"):
        raise ValueError(f"data must be 'train' or 'test', got {data!r}")

    def hook(ctx: nn.EpochContext) -> dict[str, float]:
        if data == "test":
            H, y = ctx.test_features, ctx.test_labels
        else:
            H = ctx.train_features
            if H is None:
                H, _ = nn.collect_outputs(ctx.model, ctx.train, batch_size, transform)
            y = ctx.train.y.to(H.device)
        fc = ctx.model.fc
        C = fc.weight.shape[0]
        if bool((torch.bincount(y.long(), minlength=C) == 0).any()):  # class means undefined
            return dict.fromkeys(("nc1", "nc2_means", "nc2_heads", "nc3", "nc4"), math.nan)
        b = None if fc.bias is None else fc.bias.detach().double()
        m = nc_metrics(H.double(), y, fc.weight.detach().double(), b, C=C)
        return {k: float(v) for k, v in m.items()}

    return hook


def correlations(x: Any, ys: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Pearson and Spearman correlation of ``x`` with each series in ``ys`` (NaN entries dropped).

    Parameters
    ----------
    x : array_like
        The reference series (e.g. test accuracy per epoch).
    ys : mapping of str to array_like
        Series of the same shape.

    Returns
    -------
    dict
        ``{name: {"pearson": r, "spearman": rho, "n": points}}``; NaN where a series is constant or
        has fewer than 3 finite points.

    Raises
    ------
    ValueError
        If a series has another shape than ``x``.
    """
    from scipy import stats as sps

    xa = np.asarray(x, dtype=float)
    out = {}
    for name, y in ys.items():
        ya = np.asarray(y, dtype=float)
        if ya.shape != xa.shape:
            raise ValueError(f"series {name!r} has shape {ya.shape}, x has {xa.shape}")
        ok = np.isfinite(xa) & np.isfinite(ya)
        if ok.sum() < 3 or np.ptp(xa[ok]) == 0 or np.ptp(ya[ok]) == 0:
            out[name] = {"pearson": math.nan, "spearman": math.nan, "n": int(ok.sum())}
            continue
        out[name] = {"pearson": float(sps.pearsonr(xa[ok], ya[ok])[0]),
                     "spearman": float(sps.spearmanr(xa[ok], ya[ok])[0]), "n": int(ok.sum())}
    return out


def terminal_start(history: Mapping[str, Any], threshold: float = 1.0, key: str = "train_acc") -> float:
    """First epoch of the terminal phase: the first with ``history[key] >= threshold`` (NaN if never).

    The terminal phase of Papyan et al. (2020) begins when the training error reaches zero; Neural Collapse
    ({prf:ref}`def-nc-properties`) is measured from there on.

    Parameters
    ----------
    history : mapping
        Columns ``epoch`` and ``key`` (e.g. :func:`mylib.nn.history_columns` of a training history).
    threshold : float, default 1.0
        The accuracy that starts the phase.
    key : str, default "train_acc"

    Returns
    -------
    float
        The epoch, or NaN if ``history[key]`` never reaches ``threshold``.

    Raises
    ------
    ValueError
        If ``history`` lacks ``epoch`` or ``key``.
    """
    for k in ("epoch", key):
        if k not in history:
            raise ValueError(f"history has no column {k!r}")
    ep = np.asarray(history["epoch"], dtype=float)
    hit = np.asarray(history[key], dtype=float) >= threshold
    return float(ep[np.argmax(hit)]) if hit.any() else math.nan


def phase_correlations(history: Mapping[str, Any], keys: Sequence[str], threshold: float = 1.0,
                       x: str = "test_acc") -> dict[str, Any]:
    """Correlations of ``history[x]`` with each of ``keys``, over all epochs and inside the terminal phase.

    Parameters
    ----------
    history : mapping
        Columns of one run (:func:`mylib.nn.history_columns`), with ``epoch`` and ``train_acc``.
    keys : sequence of str
        The information series.
    threshold : float
        Training accuracy that opens the terminal phase (:func:`terminal_start`).
    x : str
        The reference series.

    Returns
    -------
    dict
        ``{"start": first terminal epoch, "all": correlations, "terminal": correlations}`` (see
        :func:`correlations`; the terminal ones are NaN when the phase has fewer than 3 epochs).
    """
    start = terminal_start(history, threshold)
    ep = np.asarray(history["epoch"], dtype=float)
    ys = {k: np.asarray(history[k], dtype=float) for k in keys}
    inside = ep >= start if np.isfinite(start) else np.zeros_like(ep, dtype=bool)
    xa = np.asarray(history[x], dtype=float)
    return {"start": start, "all": correlations(xa, ys),
            "terminal": correlations(np.where(inside, xa, np.nan), {k: np.where(inside, v, np.nan)
                                                                     for k, v in ys.items()})}


def _run_folder(experiment: str, cfg: Any, seed: int, tag: str, config: Mapping[str, Any]):
    return run_dir(f"{experiment}/{tag}", cfg.profile, seed, config=dict(config))


# ----------------------------------------------------------------------------- 1. training dynamics
#: Information series of :func:`run_training_dynamics` correlated with the test accuracy.
DYNAMICS_SERIES = ("mir_batch", "hdr_batch", "mir", "hdr", "c_mir", "c_hdr", "train_c_mir", "train_c_hdr")


def run_training_dynamics(cfg: Any, seed: int = 0, device: torch.device | None = None,
                          data: Mapping[str, Dataset] | None = None, show_progress: bool = True
                          ) -> dict[str, dict[str, Any]]:
    """Train each configured run to its terminal phase over ``cfg.n_seeds`` seeds, tracking information and collapse.

    For every entry of ``cfg.runs`` (dataset, model, epochs, lr, weight decay) and every seed
    ``k < cfg.n_seeds`` train with SGD (momentum ``cfg.momentum``, batch ``cfg.batch_size``, cosine
    schedule; initialisation and data order from the streams ``("dynamics-init", seed, k)`` and
    ``("dynamics-order", seed, k)`` of :mod:`mylib.seeds`) and record per epoch (and at epoch 0):
    train/test loss and accuracy (eval mode); on the test set the paper's quantities on raw
    features (``mir_batch``/``hdr_batch`` over batches of 64, ``mir``/``hdr`` on the whole set,
    ``mir_gap`` to {prf:ref}`thm-nc-mir`) and the whole-set ones on centred features
    (``c_mir``/``c_hdr``); on the training set the centred ones (``train_c_mir``/``train_c_hdr``,
    ``train_c_mir_gap``) and NC1-NC4 (:func:`collapse_hook`).

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_training_dynamics", profile)``.
    seed : int
        The notebook's seed; the runs' seeds derive from it.
    device : torch.device, optional
    data : mapping, optional
        Datasets by name, to bypass :func:`load_dataset` (tests pass tiny stand-ins for CIFAR).
    show_progress : bool

    Returns
    -------
    dict
        ``{"<dataset>/<model>": {"histories": [columns per seed], "num_classes": C,
        "mir_theorem": MIR_NC(C), "phases": [phase_correlations per seed]}}``, where the
        correlations of :func:`phase_correlations` use :data:`DYNAMICS_SERIES` and
        ``cfg.terminal_acc``.
    """
    device = device or get_device()
    n_seeds = check_positive_int(cfg.n_seeds, "n_seeds")
    results = {}
    for run in cfg.runs:
        ds = data[run["dataset"]] if data and run["dataset"] in data else load_dataset(run["dataset"], seed=0)
        histories, phases = [], []
        for k in range(n_seeds):
            seed_everything(_seed("dynamics-init", seed, k))
            model = make_model(run["model"], ds, **run.get("model_kwargs", {}))
            tcfg = _train_config(cfg.as_dict(), epochs=run["epochs"], lr=run["lr"],
                                 weight_decay=run["weight_decay"], data_seed=_seed("dynamics-order", seed, k),
                                 eval_at_start=True, eval_train=True)
            hooks = [information_hook(cfg.mir_batch_size, whole=True, theorem_C=ds.num_classes),
                     information_hook(cfg.mir_batch_size, whole=True, prefix="c_", center=True, batches=False),
                     information_hook(cfg.mir_batch_size, whole=True, theorem_C=ds.num_classes, prefix="train_c_",
                                      data="train", center=True, batches=False),
                     collapse_hook("train", ds.eval_transform)]
            tag = f"{run['dataset']}-{run['model']}-seed{k}"
            ckdir = _run_folder("part1_training_dynamics", cfg, seed, tag, {**run, **tcfg.as_dict()})
            hist = nn.fit(model, ds.train, ds.test, tcfg, hooks=hooks, checkpoint_dir=ckdir, device=device,
                          train_transform=ds.train_transform, eval_transform=ds.eval_transform, desc=tag,
                          show_progress=show_progress)
            cols = nn.history_columns(hist)
            histories.append(cols)
            phases.append(phase_correlations(cols, DYNAMICS_SERIES, cfg.terminal_acc))
        results[f"{run['dataset']}/{run['model']}"] = {
            "histories": histories, "num_classes": ds.num_classes, "mir_theorem": nc_mir(ds.num_classes),
            "phases": phases,
        }
    return results


# ----------------------------------------------------------------------------- 2. information losses
LOSS_METHODS: dict[str, tuple[bool, bool]] = {"ce": (False, False), "mi": (True, False), "hdr": (False, True),
                                              "mi+hdr": (True, True)}


def info_regularized_loss(lam_mi: float = 0.0, lam_hdr: float = 0.0, label_smoothing: float = 0.0):
    """Cross-entropy with the information terms of Song et al. (2024) as regularisers.

    Implements {prf:ref}`def-nce-info-loss`:

    .. math:: \\mathcal L = \\mathrm{CE}(f(x), y) - \\lambda_{\\mathrm{MI}}\\, I(Z; W_y)
       + \\lambda_{\\mathrm{HDR}}\\, \\bigl|H(Z) - H(W_y)\\bigr|,

    on each mini-batch, with :math:`Z` the batch features, :math:`W_y` the head rows of their
    labels, :math:`H` the matrix entropy and :math:`I` the matrix mutual information
    ({prf:ref}`def-mi-mutual-information`). The MI term does *not* push towards Neural Collapse:
    over class-determined configurations its supremum is :math:`\\log C`, reached by balanced,
    mutually orthogonal class directions (MIR = 1), above the simplex-ETF value
    :math:`\\mathrm{I}_{\\mathrm{NC}}` ({prf:ref}`thm-nc-info-sup`); the HDR term
    is zero at the ETF and at every configuration whose two entropies agree. Gradients flow into
    both the features and the head. All-zero feature rows (a ReLU network can produce them) are
    left out of the information terms, without a host synchronisation.

    Parameters
    ----------
    lam_mi, lam_hdr : float
        Non-negative weights :math:`\\lambda_{\\mathrm{MI}}, \\lambda_{\\mathrm{HDR}}`.
    label_smoothing : float
        :math:`\\varepsilon` of the cross-entropy.

    Returns
    -------
    callable
        ``loss(logits, y, features, model)``, the loss signature of :func:`mylib.nn.fit`.

    Raises
    ------
    ValueError
        For a negative weight or a label smoothing outside [0, 1).
    """
    lam_mi = check_nonnegative(lam_mi, "lam_mi")
    lam_hdr = check_nonnegative(lam_hdr, "lam_hdr")
    ce = nn.cross_entropy_loss(label_smoothing)

    def loss(logits, y, features, model):
        value = ce(logits, y)
        if lam_mi == 0 and lam_hdr == 0:
            return value
        s = information_summary(features.float(), model.fc.weight[y].float(), method="gram", zero_rows="drop",
                                check_finite=False)
        if lam_mi:
            value = value - lam_mi * s["MI"]
        if lam_hdr:
            value = value + lam_hdr * torch.abs(s["H1"] - s["H2"])
        return value

    return loss


def paired_ci(a: Any, b: Any, level: float = 0.95) -> dict[str, float]:
    """Paired difference ``a - b`` (:func:`mylib.stats.paired_difference`) with a Student-t confidence interval.

    Parameters
    ----------
    a, b : array_like
        Paired results (same runs), at least 2 pairs.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    dict
        The fields of :func:`mylib.stats.paired_difference` (``mean``, ``se``, ``sd``, ``n``, ``z``)
        plus ``lo``/``hi``, the interval :math:`\\bar d \\pm t_{n-1,(1+\\text{level})/2}\\,\\mathrm{SE}`, and
        ``resolved`` (True when the interval excludes 0).

    Raises
    ------
    ValueError
        As :func:`mylib.stats.paired_difference`, or for ``level`` outside (0, 1).
    """
    from scipy import stats as sps

    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    d = stats.paired_difference(a, b)
    half = float(sps.t.ppf(0.5 + level / 2, d["n"] - 1)) * d["se"]
    d.update(lo=d["mean"] - half, hi=d["mean"] + half)
    d["resolved"] = bool(d["lo"] > 0 or d["hi"] < 0)
    return d


def run_info_losses(cfg: Any, seed: int = 0, device: torch.device | None = None,
                    data: Mapping[str, Dataset] | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Train every method of ``cfg.methods`` on every dataset in ``cfg.n_runs`` paired runs.

    Method names are keys of :data:`LOSS_METHODS` (``"ce"``, ``"mi"``, ``"hdr"``, ``"mi+hdr"``),
    using :func:`info_regularized_loss` with ``cfg.lam_mi``/``cfg.lam_hdr``. Run ``k`` of every
    method uses the same initialisation and data order (streams ``("info-loss-init", seed, k)``,
    ``("info-loss-order", seed, k)``) and, with ``cfg.resplit`` (digits only), its own train/test
    split (``("info-loss-split", seed, k)``), so methods are compared pairwise and the spread covers
    the choice of split too.

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_info_losses", profile)``.
    seed : int
        The notebook's seed.
    device : torch.device, optional
    data : mapping, optional
        Datasets by name (no resplitting then).
    show_progress : bool

    Returns
    -------
    dict
        ``{"<dataset>/<model>": {"acc": {method: array over runs}, "mir": {...}, "hdr": {...},
        "n_test": test-set size}}``: final test accuracy and whole-test-set MIR/HDR of each run.

    Raises
    ------
    ValueError
        For an unknown method.
    """
    device = device or get_device()
    for m in cfg.methods:
        if m not in LOSS_METHODS:
            raise ValueError(f"unknown method {m!r}; valid: {sorted(LOSS_METHODS)}")
    n_runs = check_positive_int(cfg.n_runs, "n_runs")
    results = {}
    for spec in cfg.datasets:
        name = spec["dataset"]
        given = data[name] if data and name in data else None
        table = {k: {m: np.zeros(n_runs) for m in cfg.methods} for k in ("acc", "mir", "hdr")}
        final_hook = information_hook(64, whole=True, batches=False)
        for k in range(n_runs):
            resplit = cfg.resplit and given is None and name.startswith("digits")
            ds = given or load_dataset(name, seed=_seed("info-loss-split", seed, k) if resplit else 0)
            for method in cfg.methods:
                use_mi, use_hdr = LOSS_METHODS[method]
                loss = info_regularized_loss(cfg.lam_mi if use_mi else 0.0, cfg.lam_hdr if use_hdr else 0.0)
                seed_everything(_seed("info-loss-init", seed, k))
                model = make_model(spec["model"], ds, **spec.get("model_kwargs", {}))
                tcfg = _train_config(cfg.as_dict(), weight_decay=spec["weight_decay"],
                                     data_seed=_seed("info-loss-order", seed, k), eval_every=cfg.epochs)
                tag = f"{name}-{spec['model']}-{method}-run{k}"
                ckdir = _run_folder("part1_info_losses", cfg, seed, tag,
                                    {**spec, **tcfg.as_dict(), "lam_mi": cfg.lam_mi, "lam_hdr": cfg.lam_hdr})
                hist = nn.fit(model, ds.train, ds.test, tcfg, loss_fn=loss, hooks=[final_hook],
                              checkpoint_dir=ckdir, device=device, train_transform=ds.train_transform,
                              eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress)
                table["acc"][method][k] = hist[-1]["test_acc"]
                table["mir"][method][k] = hist[-1]["mir"]
                table["hdr"][method][k] = hist[-1]["hdr"]
        table["n_test"] = len(ds.test)
        results[f"{name}/{spec['model']}"] = table
    return results


# ----------------------------------------------------------------------------- 3. grokking
def run_grokking(cfg: Any, seed: int = 0, device: torch.device | None = None, show_progress: bool = True
                 ) -> dict[str, np.ndarray]:
    """Grokking on :math:`(a + b) \\bmod p` with a one-layer ReLU transformer (full-batch AdamW).

    Trains :class:`mylib.nn.ModularTransformer` on a ``cfg.train_fraction`` split of all
    :math:`p^2` pairs (:func:`mylib.data.modular_addition_split`, split seeded by ``seed``),
    and every ``cfg.eval_every`` steps records train/test accuracy and loss, and MIR/HDR between
    the final hidden representation (residual stream at "=") and the unembedding rows of the
    labels, on the test pairs (``mir``, ``hdr``, and ``mir_batch``/``hdr_batch`` over batches of 64)
    and, when ``cfg.train_info``, on the training pairs (``train_mir``, ``train_hdr``). The
    whole-set values use the first ``cfg.info_max_samples`` pairs of each split (all when None):
    at p = 113 the Hadamard Gram matrix of all 8938 test pairs would be diagonalised at every
    evaluation.

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_grokking", profile)``.
    seed : int
        Split, initialisation and data order.
    device : torch.device, optional
    show_progress : bool

    Returns
    -------
    dict of numpy arrays
        One entry per evaluation, ``step`` first at 0.
    """
    device = device or get_device()
    train, test = modular_addition_split(cfg.p, cfg.train_fraction, seed=seed)
    seed_everything(seed)
    model = nn.ModularTransformer(cfg.p, cfg.d_model, cfg.n_heads, cfg.d_mlp)
    tcfg = nn.TrainConfig(epochs=cfg.steps, batch_size=None, optimizer="adamw", lr=cfg.lr,
                          weight_decay=cfg.weight_decay, betas=tuple(cfg.betas), schedule="constant",
                          warmup_steps=cfg.warmup_steps, data_seed=seed, eval_every=cfg.eval_every,
                          eval_batch_size=1 << 16, eval_train=True, eval_at_start=True,
                          checkpoint_every=max(1, cfg.steps // 20))
    cap = cfg.info_max_samples
    hooks = [information_hook(64, whole=True, max_samples=cap)]
    if cfg.train_info:
        hooks.append(information_hook(64, whole=True, max_samples=cap, data="train", prefix="train_",
                                      batches=False))
    ckdir = _run_folder("part1_grokking", cfg, seed, f"p{cfg.p}", {**cfg.as_dict(), **tcfg.as_dict()})
    hist = nn.fit(model, train, test, tcfg, hooks=hooks, checkpoint_dir=ckdir, device=device,
                  desc=f"grokking p={cfg.p}", show_progress=show_progress)
    cols = nn.history_columns(hist)
    cols["step"] = cols.pop("epoch")  # full batch: one step per "epoch"
    return cols


def run_grokking_seeds(cfg: Any, seed: int = 0, device: torch.device | None = None,
                       show_progress: bool = True) -> list[dict[str, np.ndarray]]:
    """:func:`run_grokking` for ``cfg.n_seeds`` runs with seeds ``("grokking", seed, k)`` of :mod:`mylib.seeds`.

    Parameters
    ----------
    cfg : Config
        As for :func:`run_grokking`, plus ``n_seeds`` (at least 1).
    seed : int, default 0
        The notebook's seed; run ``k`` uses the stream ``("grokking", seed, k)``.
    device : torch.device, optional
    show_progress : bool, default True

    Returns
    -------
    list of dict
        One history per run.

    Raises
    ------
    ValueError
        If ``cfg.n_seeds`` is not a positive integer, or as :func:`run_grokking`.
    """
    n = check_positive_int(cfg.n_seeds, "n_seeds")
    return [run_grokking(cfg, _seed("grokking", seed, k), device, show_progress) for k in range(n)]


def grokking_phases(history: Mapping[str, Any], train_threshold: float = 0.99,
                    test_threshold: float = 0.9) -> dict[str, float]:
    """Landmarks of a grokking run (steps; NaN when not reached).

    Parameters
    ----------
    history : mapping
        Columns ``step``, ``train_acc``, ``test_acc``, ``mir``, ``hdr`` and optionally ``mir_batch``.
    train_threshold, test_threshold : float
        Accuracies that define memorisation and generalisation.

    Returns
    -------
    dict
        ``memorized``: first step with train accuracy >= ``train_threshold``; ``generalized``: first
        step with test accuracy >= ``test_threshold``; ``delay = generalized - memorized``;
        ``steepest_gain``: the step that ends the largest increase of test accuracy between two
        evaluations; ``jump``: the same among the rises that start at or after memorisation (the grokking
        jump); ``mir_peak``/
        ``hdr_peak``: steps of the largest test MIR/HDR; ``hdr_peak_after_memorized`` and
        ``hdr_max_after_memorized``: step and value of the largest HDR after memorisation, where the
        paper places the HDR spike; ``hdr_median_after_memorized``; ``mir_batch_start``,
        ``mir_batch_at_memorized``, ``mir_batch_plateau_peak`` (largest between memorisation and
        the jump, or the end) and ``mir_batch_plateau_low`` (smallest after that peak and before
        the jump), when ``mir_batch`` is present; ``loss_spikes``, the number of evaluations after
        memorisation at which the training loss exceeds 10 times its previous value (Adam's
        "slingshot" instabilities), and ``first_loss_spike``, the step of the first, when
        ``train_loss`` is present.
    """
    step = np.asarray(history["step"], dtype=float)
    tr = np.asarray(history["train_acc"], dtype=float)
    te = np.asarray(history["test_acc"], dtype=float)
    first = lambda mask: float(step[np.argmax(mask)]) if mask.any() else math.nan
    mem, gen = first(tr >= train_threshold), first(te >= test_threshold)
    mir = np.asarray(history["mir"], dtype=float)
    hdr = np.asarray(history["hdr"], dtype=float)
    gain = np.diff(te)
    out = {"memorized": mem, "generalized": gen, "delay": gen - mem,
           "steepest_gain": float(step[1:][np.argmax(gain)]) if gain.size else math.nan,
           "mir_peak": float(step[np.nanargmax(mir)]), "hdr_peak": float(step[np.nanargmax(hdr)])}
    after = step >= mem if np.isfinite(mem) else np.zeros_like(step, dtype=bool)
    if after.any():
        k = np.nanargmax(np.where(after, hdr, -np.inf))
        out["hdr_peak_after_memorized"], out["hdr_max_after_memorized"] = float(step[k]), float(hdr[k])
        out["hdr_median_after_memorized"] = float(np.nanmedian(hdr[after]))
        if "train_loss" in history:
            loss = np.asarray(history["train_loss"], dtype=float)
            spike = after[1:] & (loss[1:] > 10 * loss[:-1])
            out["loss_spikes"] = int(spike.sum())
            out["first_loss_spike"] = float(step[1:][np.argmax(spike)]) if spike.any() else math.nan
        g_after = np.where(after[:-1], gain, -np.inf)  # rises that start at or after memorisation
        out["jump"] = float(step[1:][np.argmax(g_after)]) if np.isfinite(g_after).any() else math.nan
    else:
        out.update(hdr_peak_after_memorized=math.nan, hdr_max_after_memorized=math.nan,
                   hdr_median_after_memorized=math.nan, jump=math.nan)
        if "train_loss" in history:  # never memorised (e.g. a capped run): no spike after memorisation
            out.update(loss_spikes=0, first_loss_spike=math.nan)
    if "mir_batch" in history:
        mb = np.asarray(history["mir_batch"], dtype=float)
        out["mir_batch_start"] = float(mb[0])
        if after.any():
            i_mem = int(np.argmax(after))
            end = gen if np.isfinite(gen) else step[-1]
            window = after & (step <= end)
            i_peak = int(np.nanargmax(np.where(window, mb, -np.inf)))
            later = window & (step >= step[i_peak])
            out.update(mir_batch_at_memorized=float(mb[i_mem]), mir_batch_plateau_peak=float(mb[i_peak]),
                       mir_batch_plateau_low=float(np.nanmin(np.where(later, mb, np.inf))))
        else:
            out.update(mir_batch_at_memorized=math.nan, mir_batch_plateau_peak=math.nan,
                       mir_batch_plateau_low=math.nan)
    return out


# ----------------------------------------------------------------------------- 4. mode connectivity
def barrier(values: Any, higher_is_better: bool = True) -> float:
    """Largest shortfall of a path quantity below the straight line between its endpoints ({prf:ref}`def-nce-barrier`).

    For accuracy (``higher_is_better``): :math:`\\max_\\alpha [(1-\\alpha) v_0 + \\alpha v_1 - v_\\alpha]`;
    for a loss the sign is flipped.

    Parameters
    ----------
    values : array_like
        The quantity on an evenly spaced :math:`\\alpha` grid from 0 to 1 (at least 2 finite values).
    higher_is_better : bool

    Returns
    -------
    float
        The barrier; it is at least 0 (the endpoints lie on the line), and 0 means linearly connected.

    Raises
    ------
    ValueError
        For fewer than 2 values or a non-finite one.
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError("values must hold at least 2 finite numbers")
    line = np.linspace(v[0], v[-1], v.size)
    gap = line - v if higher_is_better else v - line
    return float(gap.max())


@torch.no_grad()
def interpolation_path(model: torch.nn.Module, state_a: dict, state_b: dict, alphas: Sequence[float],
                       ds: Dataset, reset_bn: bool = True, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Evaluate :math:`\\theta(\\alpha) = (1-\\alpha)\\theta_A + \\alpha\\theta_B` along ``alphas``.

    The path of {prf:ref}`def-nce-barrier`.

    Parameters
    ----------
    model : torch.nn.Module
        Used as scratch space (its weights are overwritten).
    state_a, state_b : dict
        State dicts of the two endpoints.
    alphas : sequence of float
    ds : Dataset
    reset_bn : bool
        Recompute the BatchNorm statistics of each interpolated network on the training set
        (:func:`mylib.nn.reset_bn_stats`).
    batch_size : int

    Returns
    -------
    dict of numpy arrays
        ``alpha``, ``test_acc``, ``test_loss`` and ``mir``/``hdr`` (whole test set, between the test
        features and the heads of their labels).
    """
    device = next(model.parameters()).device
    out = {k: [] for k in ("alpha", "test_acc", "test_loss", "mir", "hdr")}
    hook = information_hook(64, whole=True, batches=False)
    for a in alphas:
        model.load_state_dict(nn.interpolate_state_dicts(state_a, state_b, float(a)))
        if reset_bn:
            nn.reset_bn_stats(model, ds.train, transform=ds.eval_transform)
        feats, logits = nn.collect_outputs(model, ds.test, batch_size, ds.eval_transform)
        y = ds.test.y.to(device)
        info = hook(nn.EpochContext(model, 0, ds.train, ds.test, feats, logits, y))
        out["alpha"].append(float(a))
        out["test_acc"].append(nn._accuracy(logits, y))
        out["test_loss"].append(float(F.cross_entropy(logits, y)))
        out["mir"].append(info["mir"])
        out["hdr"].append(info["hdr"])
    return {k: np.asarray(v) for k, v in out.items()}


_BARRIERS = ("acc_barrier", "loss_barrier", "mir_barrier", "hdr_barrier")


def _path_summary(path: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"path": path,
            "acc_barrier": barrier(path["test_acc"], True),
            "loss_barrier": barrier(path["test_loss"], False),
            "mir_barrier": barrier(path["mir"], True),
            "hdr_barrier": barrier(path["hdr"], False)}


def run_mode_connectivity(cfg: Any, seed: int = 0, device: torch.device | None = None,
                          data: Mapping[str, Dataset] | None = None, show_progress: bool = True
                          ) -> dict[float, dict[str, Any]]:
    """Linear mode connectivity of ``cfg.n_pairs`` independent pairs of runs, for each label smoothing.

    For each :math:`\\varepsilon` in ``cfg.smoothing`` and pair ``k``: initialise one network (stream
    ``("lmc-init", seed, k)``), optionally train it ``cfg.spawn_epochs`` epochs (the spawning point of
    Frankle et al.), copy it, train the two copies for ``cfg.epochs`` epochs with different data
    orders (``("lmc-order", seed, k, 1)`` and ``(..., 2)``) and evaluate :func:`interpolation_path`
    on ``cfg.n_alphas`` points of [0, 1]. With ``cfg.independent_control`` a third network from a
    *different* initialisation (``("lmc-init-other", seed, k)``) is trained too, and the path from
    the first copy to it is the control (independently initialised networks are generally not
    linearly connected). Pair ``k`` uses the same initialisations and orders for every
    :math:`\\varepsilon`.

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_mode_connectivity", profile)``.
    seed : int
    device : torch.device, optional
    data : mapping, optional
    show_progress : bool

    Returns
    -------
    dict
        ``{eps: {"same": [summary per pair], "independent": [summary per pair]}}`` where a summary
        holds the ``path`` (``alpha``, ``test_acc``, ``test_loss``, ``mir``, ``hdr``) and the barriers
        of :func:`barrier`: ``acc_barrier`` and ``mir_barrier`` (shortfall below the line),
        ``loss_barrier`` and ``hdr_barrier`` (excess above it). :func:`barrier_spread` summarises them.
    """
    device = device or get_device()
    ds = data[cfg.dataset] if data and cfg.dataset in data else load_dataset(cfg.dataset, seed=0)
    alphas = np.linspace(0.0, 1.0, dry_run_cap(check_positive_int(cfg.n_alphas, "n_alphas", minimum=2), 3))
    n_pairs = check_positive_int(cfg.n_pairs, "n_pairs")
    results: dict[float, dict[str, Any]] = {}

    def train(model, eps, data_seed, tag, epochs, schedule):
        ccfg = _train_config(cfg.as_dict(), label_smoothing=eps, data_seed=data_seed, epochs=epochs,
                             eval_every=epochs, schedule=schedule)
        nn.fit(model, ds.train, None, ccfg, device=device, train_transform=ds.train_transform,
               eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress,
               checkpoint_dir=_run_folder("part1_mode_connectivity", cfg, seed, tag,
                                          {**ccfg.as_dict(), "spawn": cfg.spawn_epochs}))
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def parent(init_stream, k, eps, name):
        seed_everything(_seed(init_stream, seed, k))
        net = make_model(cfg.model, ds, **cfg.model_kwargs).to(device)
        if cfg.spawn_epochs:
            train(net, eps, _seed("lmc-order", seed, k, 0), f"eps{eps}-pair{k}-{name}-parent", cfg.spawn_epochs,
                  "constant")
        return net

    for eps in cfg.smoothing:
        eps = float(eps)
        results[eps] = {"same": [], "independent": []}
        for k in range(n_pairs):
            p = parent("lmc-init", k, eps, "same")
            a = train(copy.deepcopy(p), eps, _seed("lmc-order", seed, k, 1), f"eps{eps}-pair{k}-child1",
                      cfg.epochs, cfg.schedule)
            b = train(copy.deepcopy(p), eps, _seed("lmc-order", seed, k, 2), f"eps{eps}-pair{k}-child2",
                      cfg.epochs, cfg.schedule)
            results[eps]["same"].append(_path_summary(interpolation_path(copy.deepcopy(p), a, b, alphas, ds,
                                                                         cfg.reset_bn)))
            if cfg.independent_control:
                q = parent("lmc-init-other", k, eps, "other")
                c = train(q, eps, _seed("lmc-order", seed, k, 3), f"eps{eps}-pair{k}-independent", cfg.epochs,
                          cfg.schedule)
                results[eps]["independent"].append(
                    _path_summary(interpolation_path(copy.deepcopy(p), a, c, alphas, ds, cfg.reset_bn)))
        if not cfg.independent_control:
            del results[eps]["independent"]
    return results


def barrier_spread(summaries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, sample standard deviation, minimum and maximum of each barrier over pairs.

    Parameters
    ----------
    summaries : sequence of dict
        Path summaries of :func:`run_mode_connectivity` (one per pair), at least one.

    Returns
    -------
    dict
        ``{barrier name: {"mean", "sd" (NaN for one pair), "min", "max", "n"}}`` for
        ``acc_barrier``, ``loss_barrier``, ``mir_barrier`` and ``hdr_barrier``.

    Raises
    ------
    ValueError
        For an empty sequence.
    """
    if len(summaries) == 0:
        raise ValueError("summaries is empty")
    out = {}
    for key in _BARRIERS:
        v = np.array([s[key] for s in summaries], dtype=float)
        out[key] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                    "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}
    return out


# ----------------------------------------------------------------------------- 5. pruning
def _prunable(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(name, p) for name, p in model.named_parameters()
            if p.ndim >= 2 and name.endswith("weight")]


def sparsity_of(model: torch.nn.Module) -> float:
    """Fraction of exactly-zero entries among the prunable weights (matrices and kernels, biases excluded).

    Parameters
    ----------
    model : torch.nn.Module
        E.g. after :func:`magnitude_prune`.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        If the model has no prunable weight.
    """
    ws = _prunable(model)
    if not ws:
        raise ValueError("model has no weight matrix or kernel to prune")
    zeros = sum(int((p == 0).sum()) for _, p in ws)
    return zeros / sum(p.numel() for _, p in ws)


@torch.no_grad()
def magnitude_prune(model: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """Global one-shot magnitude pruning: zero the ``sparsity`` fraction of weights of smallest :math:`|w|`.

    All weight matrices and convolution kernels (the linear head included, biases and BatchNorm
    parameters excluded) are ranked together by absolute value, and the
    :math:`\\lfloor \\text{sparsity}\\cdot N\\rfloor` smallest are set to 0 (ties broken by position,
    so exactly that many). The model is changed in place and returned.

    Parameters
    ----------
    model : torch.nn.Module
    sparsity : float
        Fraction in [0, 1).

    Returns
    -------
    torch.nn.Module
        ``model``, pruned.

    Raises
    ------
    ValueError
        For ``sparsity`` outside [0, 1) or a model without prunable weights.
    """
    s = check_nonnegative(sparsity, "sparsity")
    if s >= 1:
        raise ValueError(f"sparsity must lie in [0, 1), got {sparsity}")
    ws = _prunable(model)
    if not ws:
        raise ValueError("model has no weight matrix or kernel to prune")
    flat = torch.cat([p.detach().abs().flatten() for _, p in ws])
    k = int(math.floor(s * flat.numel()))
    if k == 0:
        return model
    order = torch.argsort(flat, stable=True)
    keep = torch.ones_like(flat, dtype=torch.bool)
    keep[order[:k]] = False
    i = 0
    for _, p in ws:
        n = p.numel()
        p.mul_(keep[i:i + n].view_as(p).to(p.dtype))
        i += n
    return model


def run_pruning(cfg: Any, seed: int = 0, device: torch.device | None = None,
                data: Mapping[str, Dataset] | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Accuracy, MIR and HDR of trained networks as global magnitude pruning removes more weights.

    For each of ``cfg.n_seeds`` runs (streams ``("prune-init", seed, k)``, ``("prune-order", seed, k)``)
    train ``cfg.model`` on ``cfg.dataset`` for ``cfg.epochs`` epochs, then for every sparsity in
    ``cfg.sparsities`` prune a copy with :func:`magnitude_prune` (one shot, no retraining; BatchNorm
    statistics recomputed on the training set when the model has any) and evaluate the test
    accuracy and loss and the whole-test-set MIR/HDR between raw test features and the heads of
    their labels (as in the paper), and on centred features (``c_mir``/``c_hdr``).

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_pruning", profile)``.
    seed : int
    device : torch.device, optional
    data : mapping, optional
    show_progress : bool

    Returns
    -------
    dict
        ``sparsity`` (array, the achieved fraction) and for ``test_acc``, ``test_loss``, ``mir``,
        ``hdr``, ``c_mir``, ``c_hdr`` an array of shape ``(n_seeds, len(sparsities))``.
    """
    device = device or get_device()
    ds = data[cfg.dataset] if data and cfg.dataset in data else load_dataset(cfg.dataset, seed=0)
    n = check_positive_int(cfg.n_seeds, "n_seeds")
    levels = [float(s) for s in cfg.sparsities]
    keys = ("test_acc", "test_loss", "mir", "hdr", "c_mir", "c_hdr")
    out = {k: np.zeros((n, len(levels))) for k in keys}
    achieved = np.zeros((n, len(levels)))
    raw = information_hook(64, whole=True, batches=False)
    centred = information_hook(64, whole=True, batches=False, center=True)
    for k in range(n):
        seed_everything(_seed("prune-init", seed, k))
        model = make_model(cfg.model, ds, **cfg.model_kwargs)
        tcfg = _train_config(cfg.as_dict(), data_seed=_seed("prune-order", seed, k), eval_every=cfg.epochs)
        tag = f"{cfg.dataset}-{cfg.model}-run{k}"
        nn.fit(model, ds.train, None, tcfg, device=device, train_transform=ds.train_transform,
               eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress,
               checkpoint_dir=_run_folder("part1_pruning", cfg, seed, tag, tcfg.as_dict()))
        trained = {name: v.detach().clone() for name, v in model.state_dict().items()}
        for j, s in enumerate(levels):
            model.load_state_dict(trained)
            magnitude_prune(model, s)
            achieved[k, j] = sparsity_of(model)
            nn.reset_bn_stats(model, ds.train, transform=ds.eval_transform)
            feats, logits = nn.collect_outputs(model, ds.test, 1024, ds.eval_transform)
            y = ds.test.y.to(feats.device)
            ctx = nn.EpochContext(model, 0, ds.train, ds.test, feats, logits, y)
            r, c = raw(ctx), centred(ctx)
            out["test_acc"][k, j] = nn._accuracy(logits, y)
            out["test_loss"][k, j] = float(F.cross_entropy(logits, y))
            out["mir"][k, j], out["hdr"][k, j] = r["mir"], r["hdr"]
            out["c_mir"][k, j], out["c_hdr"][k, j] = c["mir"], c["hdr"]
    out["sparsity"] = achieved.mean(0)
    return out
