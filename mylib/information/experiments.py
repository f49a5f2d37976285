"""Experiment drivers of Part I (continued): information interplay during training.

Each function here runs one experiment of {doc}`../book/part1_experiments` and returns
plain numbers (numpy arrays / floats) for the notebooks to plot and print:

* :func:`run_training_dynamics` -- train to the terminal phase and track, per epoch,
  accuracy/loss, MIR and HDR between test features and the heads of their labels (mean
  over consecutive mini-batches of 64 as in Song et al. 2024, and on the whole test set),
  NC1-NC4 and the distance of MIR from its Neural-Collapse value
  (:func:`mylib.information.nc_mir`, {prf:ref}`thm-nc-mir`);
* :func:`info_regularized_loss` and :func:`run_info_losses` -- cross-entropy with the
  matrix mutual information and/or the entropy difference as loss terms, over seeds;
* :func:`run_grokking` -- modular addition with a one-layer transformer (Power et al. 2022),
  with MIR/HDR between the final hidden representation and the unembedding;
* :func:`run_mode_connectivity` -- linear interpolation between two runs from one
  initialisation (Frankle et al. 2020), with label smoothing (Müller et al. 2019).

Sizes come from the profiles registered at import (``mylib.get_config(name, profile)``):
``"smoke"`` runs on two CPU cores in well under a minute per notebook (scikit-learn digits,
a small CNN, a small modulus); ``"full"`` is the paper's scale (CIFAR-10/100 with
WRN-28-2/WRN-28-8, p = 113) on one GPU. Every training checkpoints through
:func:`mylib.run_dir` (on for the full profile, or when ``MYLIB_RUNS`` is set) and resumes
exactly after a kill.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import profiles
from ..nn import training as T
from .._checks import as_tensor, check_nonnegative, check_positive_int, check_same_rows
from .collapse import nc_metrics, nc_mir
from ..data import TensorData, load_cifar_tensors, load_digits_split, modular_addition_split
from .matrix_info import information_summary
from ..runtime import dry_run_cap, get_device, run_dir, seed_everything

__all__ = [
    "DATASETS", "Dataset", "load_dataset", "make_model", "minibatch_information", "information_hook",
    "collapse_hook", "correlations", "run_training_dynamics", "info_regularized_loss", "LOSS_METHODS",
    "run_info_losses", "mean_std", "paired_difference", "run_grokking", "grokking_phases",
    "interpolation_path", "barrier", "run_mode_connectivity",
]

# ----------------------------------------------------------------------------- profiles
_PAPER_TRAIN = dict(batch_size=64, momentum=0.9, schedule="cosine")

profiles.register(
    "part1_training_dynamics",
    smoke=dict(
        runs=[dict(dataset="digits_image", model="cnn", model_kwargs={"width": 32}, epochs=50, lr=0.02,
                   weight_decay=1e-3)],
        mir_batch_size=64, eval_every=1, amp=False, channels_last=False, **_PAPER_TRAIN,
    ),
    full=dict(
        runs=[dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, epochs=200, lr=0.03, weight_decay=5e-4),
              dict(dataset="cifar100", model="wrn-28-8", model_kwargs={}, epochs=200, lr=0.03, weight_decay=5e-4)],
        mir_batch_size=64, eval_every=1, amp=True, channels_last=True, **_PAPER_TRAIN,
    ),
)

profiles.register(
    "part1_info_losses",
    smoke=dict(
        datasets=[dict(dataset="digits", model="mlp", model_kwargs={"width": 128, "depth": 2})],
        methods=("ce", "mi", "mi+hdr"), lam_mi=0.1, lam_hdr=0.1, n_seeds=5,
        epochs=15, lr=0.03, weight_decay=1e-3, amp=False, channels_last=False, **_PAPER_TRAIN,
    ),
    full=dict(
        datasets=[dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}),
                  dict(dataset="cifar100", model="wrn-28-8", model_kwargs={})],
        methods=("ce", "mi", "mi+hdr"), lam_mi=0.1, lam_hdr=0.1, n_seeds=3,
        epochs=200, lr=0.03, weight_decay=5e-4, amp=True, channels_last=True, **_PAPER_TRAIN,
    ),
)

profiles.register(
    "part1_grokking",
    smoke=dict(p=31, train_fraction=0.5, d_model=64, n_heads=4, d_mlp=128, lr=1e-2, weight_decay=1.0,
               betas=(0.9, 0.98), warmup_steps=10, steps=1700, eval_every=20, train_info=False,
               info_max_samples=None),
    full=dict(p=113, train_fraction=0.3, d_model=128, n_heads=4, d_mlp=512, lr=1e-3, weight_decay=1.0,
              betas=(0.9, 0.98), warmup_steps=10, steps=40000, eval_every=100, train_info=True,
              info_max_samples=2048),
)

profiles.register(
    "part1_mode_connectivity",
    smoke=dict(dataset="digits", model="mlp", model_kwargs={"width": 128, "depth": 2}, epochs=15, lr=0.05,
               weight_decay=5e-4, smoothing=(0.0, 0.1, 0.2), n_alphas=11, spawn_epochs=0, reset_bn=False,
               independent_control=True,
               amp=False, channels_last=False, **_PAPER_TRAIN),
    full=dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, epochs=100, lr=0.03,
              weight_decay=5e-4, smoothing=(0.0, 0.1, 0.2), n_alphas=21, spawn_epochs=0, reset_bn=True,
              independent_control=True,
              amp=True, channels_last=True, **_PAPER_TRAIN),
)


# ----------------------------------------------------------------------------- data and models
DATASETS: tuple[str, ...] = ("digits", "digits_image", "cifar10", "cifar100")


@dataclass
class Dataset:
    """A train/test pair with its number of classes and per-batch transforms (None for digits)."""

    name: str
    train: TensorData
    test: TensorData
    num_classes: int
    train_transform: Callable | None = None
    eval_transform: Callable | None = None


def load_dataset(name: str, seed: int = 0, root: str = "data", download: bool = True) -> Dataset:
    """Load one of :data:`DATASETS`.

    ``"digits"`` (flat 64-d) and ``"digits_image"`` (1x8x8) are scikit-learn's bundled digits,
    split with ``seed``; ``"cifar10"``/``"cifar100"`` need torchvision and a download (full
    profile), and fail here with an ImportError/RuntimeError that says how to get them.
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
                   T.cifar_transform(augment=True), T.cifar_transform(augment=False))


def make_model(name: str, dataset: Dataset, **kwargs: Any) -> torch.nn.Module:
    """Build model ``name`` (``"mlp"``, ``"cnn"``, ``"wrn-28-2"``, ``"wrn-28-8"``) sized for ``dataset``."""
    C = dataset.num_classes
    if name == "mlp":
        return T.MLP(int(np.prod(dataset.train.x.shape[1:])), C, **kwargs)
    if name == "cnn":
        return T.SmallCNN(int(dataset.train.x.shape[1]), C, **kwargs)
    if name in ("wrn-28-2", "wrn-28-8"):
        return T.build_model(name, num_classes=C, **kwargs)
    raise ValueError(f"unknown model {name!r}; valid: 'mlp', 'cnn', 'wrn-28-2', 'wrn-28-8'")


def _train_config(cfg: Mapping[str, Any], **extra: Any) -> T.TrainConfig:
    values = dict(cfg)
    values.update(extra)
    return T.TrainConfig.from_dict(values)


# ----------------------------------------------------------------------------- information metrics
def _batched_entropy(evals: torch.Tensor) -> torch.Tensor:
    p = evals.clamp(min=0)
    return -torch.where(p > 0, p * torch.log(torch.where(p > 0, p, torch.ones_like(p))), torch.zeros_like(p)).sum(-1)


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
    t1, t2 = t1.detach().to(dtype), t2.detach().to(device=t1.device, dtype=dtype)
    for t, name in ((t1, "Z1"), (t2, "Z2")):
        norms = torch.linalg.vector_norm(t, dim=1)
        if bool((norms == 0).any()):
            raise ValueError(f"{name} has an all-zero row, which cannot be normalised")
    u1 = t1 / torch.linalg.vector_norm(t1, dim=1, keepdim=True)
    u2 = t2 / torch.linalg.vector_norm(t2, dim=1, keepdim=True)
    chunks = []
    n_full = n // bs
    if n_full:
        chunks.append((u1[:n_full * bs].reshape(n_full, bs, -1), u2[:n_full * bs].reshape(n_full, bs, -1)))
    rest = n - n_full * bs
    if rest >= 2:
        chunks.append((u1[n_full * bs:][None], u2[n_full * bs:][None]))
    H1s, H2s, H12s = [], [], []
    for a, b in chunks:
        m = a.shape[1]
        G1 = a @ a.transpose(1, 2) / m
        G2 = b @ b.transpose(1, 2) / m
        sym = lambda G: 0.5 * (G + G.transpose(1, 2))
        H1s.append(_batched_entropy(torch.linalg.eigvalsh(sym(G1))))
        H2s.append(_batched_entropy(torch.linalg.eigvalsh(sym(G2))))
        H12s.append(_batched_entropy(torch.linalg.eigvalsh(sym(G1 * G2 * m))))
    H1, H2, H12 = (torch.cat(x).cpu().double().numpy() for x in (H1s, H2s, H12s))
    tol = max(1e-12, 100.0 * float(torch.finfo(dtype).eps))
    lo, hi = np.minimum(H1, H2), np.maximum(H1, H2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mir_b = np.where(lo > tol, (H1 + H2 - H12) / lo, np.nan)
        hdr_b = np.where(hi > tol, np.abs(H1 - H2) / hi, np.nan)
    mean = lambda v: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
    return {"MIR": mean(mir_b), "HDR": mean(hdr_b), "MIR_batches": mir_b, "HDR_batches": hdr_b}


def _nonzero_rows(Z: torch.Tensor, *others: torch.Tensor):
    keep = torch.linalg.vector_norm(Z, dim=1) > 0
    if bool(keep.all()):
        return (Z, *others), 0
    return (Z[keep], *(o[keep] for o in others)), int((~keep).sum())


def information_hook(batch_size: int = 64, whole: bool = True, theorem_C: int | None = None,
                     prefix: str = "", max_samples: int | None = None
                     ) -> Callable[[T.EpochContext], dict[str, float]]:
    """A :func:`mylib.nn.fit` hook: MIR/HDR between test features and the heads of their labels.

    Records ``mir_batch``/``hdr_batch`` (:func:`minibatch_information`, the paper's way) and,
    with ``whole``, ``mir``/``hdr``/``H_features``/``H_heads`` on the whole test set
    (:func:`mylib.information.information_summary`, float64, fast path) plus
    ``mir_gap = |MIR - MIR_NC(C)|`` ({prf:ref}`thm-nc-mir`) when ``theorem_C`` is given.
    All-zero feature rows (possible with ReLU features) have no direction and are left out;
    their count is recorded as ``zero_rows``. With ``max_samples`` only the first so many test
    samples enter the whole-set quantities (when the :math:`n\\times n` path would be too slow).
    """
    bs = check_positive_int(batch_size, "batch_size", minimum=2)
    cap = None if max_samples is None else check_positive_int(max_samples, "max_samples", minimum=2)
    target = nc_mir(theorem_C) if theorem_C is not None else None

    def hook(ctx: T.EpochContext) -> dict[str, float]:
        if ctx.test_features is None:
            raise ValueError("information_hook needs test data")
        W = T.head_rows(ctx.model, ctx.test_labels).detach()
        (Z, W), zero = _nonzero_rows(ctx.test_features.detach(), W)
        out = {f"{prefix}zero_rows": float(zero)}
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
                  ) -> Callable[[T.EpochContext], dict[str, float]]:
    """A :func:`mylib.nn.fit` hook: NC1-NC4 ({prf:ref}`def-nc-properties`) of ``data`` features.

    NC is a property of the training set (Papyan et al. 2020), so ``data="train"`` runs one extra
    eval-mode pass over the training set; ``"test"`` reuses the evaluated test features.
    Records ``nc1``, ``nc2_means``, ``nc2_heads``, ``nc3`` and ``nc4`` (all 0 at collapse); NaN
    when some class has no sample in ``data`` (class means undefined).
    """
    if data not in ("train", "test"):
        raise ValueError(f"data must be 'train' or 'test', got {data!r}")

    def hook(ctx: T.EpochContext) -> dict[str, float]:
        if data == "test":
            H, y = ctx.test_features, ctx.test_labels
        else:
            H, _ = T.collect_outputs(ctx.model, ctx.train, batch_size, transform)
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

    Returns ``{name: {"pearson": r, "spearman": rho}}``; NaN where a series is constant or has
    fewer than 3 finite points.
    """
    from scipy import stats

    xa = np.asarray(x, dtype=float)
    out = {}
    for name, y in ys.items():
        ya = np.asarray(y, dtype=float)
        if ya.shape != xa.shape:
            raise ValueError(f"series {name!r} has shape {ya.shape}, x has {xa.shape}")
        ok = np.isfinite(xa) & np.isfinite(ya)
        if ok.sum() < 3 or np.ptp(xa[ok]) == 0 or np.ptp(ya[ok]) == 0:
            out[name] = {"pearson": math.nan, "spearman": math.nan}
            continue
        out[name] = {"pearson": float(stats.pearsonr(xa[ok], ya[ok])[0]),
                     "spearman": float(stats.spearmanr(xa[ok], ya[ok])[0])}
    return out


def _run_folder(experiment: str, cfg: Any, seed: int, tag: str, config: Mapping[str, Any]):
    return run_dir(f"{experiment}/{tag}", cfg.profile, seed, config=dict(config))


# ----------------------------------------------------------------------------- 1. training dynamics
def run_training_dynamics(cfg: Any, seed: int = 0, device: torch.device | None = None,
                          data: Mapping[str, Dataset] | None = None, show_progress: bool = True
                          ) -> dict[str, dict[str, Any]]:
    """Train each configured run to its terminal phase and track information and collapse per epoch.

    For every entry of ``cfg.runs`` (dataset, model, epochs, lr, weight decay) train with SGD
    (momentum ``cfg.momentum``, batch ``cfg.batch_size``, cosine schedule) and record per epoch
    (and at epoch 0): train/test loss and accuracy, :func:`information_hook` quantities on the
    test set (with the theorem's value for the dataset's C) and :func:`collapse_hook` NC1-NC4
    on the training set.

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part1_training_dynamics", profile)``.
    seed : int
        Model initialisation and data order.
    data : mapping, optional
        Datasets by name, to bypass :func:`load_dataset` (tests pass tiny stand-ins for CIFAR).

    Returns
    -------
    dict
        ``{"<dataset>/<model>": {"history": {column: array}, "num_classes": C,
        "mir_theorem": MIR_NC(C), "correlations": ...}}`` where ``correlations`` holds the
        Pearson/Spearman correlation of test accuracy with each information series.
    """
    device = device or get_device()
    results = {}
    for run in cfg.runs:
        ds = data[run["dataset"]] if data and run["dataset"] in data else load_dataset(run["dataset"], seed=0)
        seed_everything(seed)
        model = make_model(run["model"], ds, **run.get("model_kwargs", {}))
        tcfg = _train_config(cfg.as_dict(), epochs=run["epochs"], lr=run["lr"], weight_decay=run["weight_decay"],
                             data_seed=seed, eval_at_start=True)
        hooks = [information_hook(cfg.mir_batch_size, whole=True, theorem_C=ds.num_classes),
                 collapse_hook("train", ds.eval_transform)]
        tag = f"{run['dataset']}-{run['model']}"
        ckdir = _run_folder("part1_training_dynamics", cfg, seed, tag, {**run, **tcfg.as_dict()})
        hist = T.fit(model, ds.train, ds.test, tcfg, hooks=hooks, checkpoint_dir=ckdir, device=device,
                     train_transform=ds.train_transform, eval_transform=ds.eval_transform, desc=tag,
                     show_progress=show_progress)
        cols = T.history_columns(hist)
        corr = correlations(cols["test_acc"], {k: cols[k] for k in ("mir", "hdr", "mir_batch", "hdr_batch")})
        results[f"{run['dataset']}/{run['model']}"] = {
            "history": cols, "num_classes": ds.num_classes, "mir_theorem": nc_mir(ds.num_classes),
            "correlations": corr,
        }
    return results


# ----------------------------------------------------------------------------- 2. information losses
LOSS_METHODS: dict[str, tuple[bool, bool]] = {"ce": (False, False), "mi": (True, False), "hdr": (False, True),
                                              "mi+hdr": (True, True)}


def info_regularized_loss(lam_mi: float = 0.0, lam_hdr: float = 0.0, label_smoothing: float = 0.0):
    """Cross-entropy with the information terms of Song et al. (2024) as regularisers.

    .. math:: \\mathcal L = \\mathrm{CE}(f(x), y) - \\lambda_{\\mathrm{MI}}\\, I(Z; W_y)
       + \\lambda_{\\mathrm{HDR}}\\, \\bigl|H(Z) - H(W_y)\\bigr|,

    on each mini-batch, with :math:`Z` the batch features, :math:`W_y` the head rows of their
    labels, :math:`H` the matrix entropy and :math:`I` the matrix mutual information
    ({prf:ref}`def-mi-mutual-information`). Maximising :math:`I` and shrinking the entropy gap
    push towards the Neural Collapse values of {prf:ref}`thm-nc-mir` (MIR high, HDR = 0).
    Gradients flow into both the features and the head. All-zero feature rows (a ReLU
    network can produce them) are left out of the information terms.

    Returns a loss with the signature of :func:`mylib.nn.fit`.
    """
    lam_mi = check_nonnegative(lam_mi, "lam_mi")
    lam_hdr = check_nonnegative(lam_hdr, "lam_hdr")
    ce = T.cross_entropy_loss(label_smoothing)

    def loss(logits, y, features, model):
        value = ce(logits, y)
        if lam_mi == 0 and lam_hdr == 0:
            return value
        keep = torch.linalg.vector_norm(features.detach(), dim=1) > 0  # zero rows have no direction
        if int(keep.sum()) < 2:
            return value
        Z, W = features[keep].float(), model.fc.weight[y[keep]].float()
        s = information_summary(Z, W, method="gram")
        if lam_mi:
            value = value - lam_mi * s["MI"]
        if lam_hdr:
            value = value + lam_hdr * torch.abs(s["H1"] - s["H2"])
        return value

    return loss


def mean_std(values: Any) -> dict[str, float]:
    """Mean, sample standard deviation (ddof = 1), standard error and count of ``values``."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError("values must be a non-empty array of finite numbers")
    sd = float(v.std(ddof=1)) if v.size > 1 else math.nan
    return {"mean": float(v.mean()), "std": sd, "sem": sd / math.sqrt(v.size), "n": int(v.size)}


def paired_difference(a: Any, b: Any) -> dict[str, float]:
    """Paired comparison of ``a`` and ``b`` (same seeds): mean of ``a - b`` with its standard error.

    Returns ``mean``, ``std``, ``sem``, ``n`` of the differences and the t statistic
    ``t = mean / sem`` (NaN when the differences are all equal).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    out = mean_std(a - b)
    out["t"] = out["mean"] / out["sem"] if out["sem"] and np.isfinite(out["sem"]) else math.nan
    return out


def run_info_losses(cfg: Any, seed: int = 0, device: torch.device | None = None,
                    data: Mapping[str, Dataset] | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Train every method of ``cfg.methods`` on every dataset over ``cfg.n_seeds`` seeds.

    Method names are keys of :data:`LOSS_METHODS` (``"ce"``, ``"mi"``, ``"hdr"``, ``"mi+hdr"``),
    using :func:`info_regularized_loss` with ``cfg.lam_mi``/``cfg.lam_hdr``. Run ``k`` of every
    method uses the same initialisation and data order (seed ``1000 * seed + k``), so methods
    are compared pairwise.

    Returns
    -------
    dict
        ``{"<dataset>/<model>": {"acc": {method: array over seeds}, "mir": {...}, "hdr": {...}}}``:
        final test accuracy and whole-test-set MIR/HDR of each run.
    """
    device = device or get_device()
    for m in cfg.methods:
        if m not in LOSS_METHODS:
            raise ValueError(f"unknown method {m!r}; valid: {sorted(LOSS_METHODS)}")
    n_seeds = check_positive_int(cfg.n_seeds, "n_seeds")
    results = {}
    for spec in cfg.datasets:
        ds = data[spec["dataset"]] if data and spec["dataset"] in data else load_dataset(spec["dataset"], seed=0)
        table = {k: {m: np.zeros(n_seeds) for m in cfg.methods} for k in ("acc", "mir", "hdr")}
        final_hook = information_hook(64, whole=True)
        for k in range(n_seeds):
            run_seed = 1000 * int(seed) + k
            for method in cfg.methods:
                use_mi, use_hdr = LOSS_METHODS[method]
                loss = info_regularized_loss(cfg.lam_mi if use_mi else 0.0, cfg.lam_hdr if use_hdr else 0.0)
                seed_everything(run_seed)
                model = make_model(spec["model"], ds, **spec.get("model_kwargs", {}))
                tcfg = _train_config(cfg.as_dict(), data_seed=run_seed, eval_every=cfg.epochs)
                tag = f"{spec['dataset']}-{spec['model']}-{method}-run{k}"
                ckdir = _run_folder("part1_info_losses", cfg, seed, tag,
                                    {**spec, **tcfg.as_dict(), "lam_mi": cfg.lam_mi, "lam_hdr": cfg.lam_hdr})
                hist = T.fit(model, ds.train, ds.test, tcfg, loss_fn=loss, hooks=[final_hook],
                             checkpoint_dir=ckdir, device=device, train_transform=ds.train_transform,
                             eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress)
                table["acc"][method][k] = hist[-1]["test_acc"]
                table["mir"][method][k] = hist[-1]["mir"]
                table["hdr"][method][k] = hist[-1]["hdr"]
        results[f"{spec['dataset']}/{spec['model']}"] = table
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

    Returns
    -------
    dict of numpy arrays (one entry per evaluation, ``step`` first at 0)
    """
    device = device or get_device()
    train, test = modular_addition_split(cfg.p, cfg.train_fraction, seed=seed)
    seed_everything(seed)
    model = T.ModularTransformer(cfg.p, cfg.d_model, cfg.n_heads, cfg.d_mlp)
    tcfg = T.TrainConfig(epochs=cfg.steps, batch_size=None, optimizer="adamw", lr=cfg.lr,
                         weight_decay=cfg.weight_decay, betas=tuple(cfg.betas), schedule="constant",
                         warmup_steps=cfg.warmup_steps, data_seed=seed, eval_every=cfg.eval_every,
                         eval_batch_size=1 << 16, eval_train=True, eval_at_start=True,
                         checkpoint_every=max(1, cfg.steps // 20))
    cap = cfg.info_max_samples
    test_hook = information_hook(64, whole=True, max_samples=cap)

    def train_hook(ctx: T.EpochContext) -> dict[str, float]:
        Z = ctx.train_features  # fit already evaluated the training set (eval_train=True)
        if Z is None:
            Z, _ = T.collect_outputs(ctx.model, ctx.train, 1 << 16)
        W = T.head_rows(ctx.model, ctx.train.y.to(Z.device)).detach()
        s = information_summary(Z[:cap].double(), W[:cap].double())
        return {"train_mir": float(s["MIR"]), "train_hdr": float(s["HDR"])}

    ckdir = _run_folder("part1_grokking", cfg, seed, f"p{cfg.p}", {**cfg.as_dict(), **tcfg.as_dict()})
    hooks = [test_hook, train_hook] if cfg.train_info else [test_hook]
    hist = T.fit(model, train, test, tcfg, hooks=hooks, checkpoint_dir=ckdir, device=device,
                 desc=f"grokking p={cfg.p}", show_progress=show_progress)
    cols = T.history_columns(hist)
    cols["step"] = cols.pop("epoch")  # full batch: one step per "epoch"
    return cols


def grokking_phases(history: Mapping[str, Any], train_threshold: float = 0.99,
                    test_threshold: float = 0.9) -> dict[str, float]:
    """Landmarks of a grokking run (steps; NaN when not reached).

    ``memorized``: first step with train accuracy >= ``train_threshold``; ``generalized``:
    first step with test accuracy >= ``test_threshold``; ``delay = generalized - memorized``;
    ``steepest_gain``: the step that ends the largest increase of test accuracy between two
    evaluations (the jump); ``mir_peak``/``hdr_peak``: steps of the largest test MIR/HDR;
    ``hdr_peak_after_memorized``: step of the largest HDR after memorisation, where the paper
    places the HDR spike.
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
    out["hdr_peak_after_memorized"] = float(step[after][np.nanargmax(hdr[after])]) if after.any() else math.nan
    return out


# ----------------------------------------------------------------------------- 4. mode connectivity
def barrier(values: Any, higher_is_better: bool = True) -> float:
    """Largest shortfall of a path quantity below the straight line between its endpoints.

    For accuracy (``higher_is_better``): :math:`\\max_\\alpha [(1-\\alpha) v_0 + \\alpha v_1 - v_\\alpha]`;
    for a loss the sign is flipped. Values on an evenly spaced :math:`\\alpha` grid from 0 to 1.
    Zero or below means linearly connected.
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

    At each point: test accuracy and loss, and MIR/HDR (whole test set) between the test features
    and the heads of their labels. With ``reset_bn`` the BatchNorm statistics of each
    interpolated network are recomputed on the training set
    (:func:`mylib.nn.reset_bn_stats`). ``model`` is used as scratch space.
    """
    device = next(model.parameters()).device
    out = {k: [] for k in ("alpha", "test_acc", "test_loss", "mir", "hdr")}
    hook = information_hook(64, whole=True)
    for a in alphas:
        model.load_state_dict(T.interpolate_state_dicts(state_a, state_b, float(a)))
        if reset_bn:
            T.reset_bn_stats(model, ds.train, transform=ds.eval_transform)
        feats, logits = T.collect_outputs(model, ds.test, batch_size, ds.eval_transform)
        y = ds.test.y.to(device)
        ctx = T.EpochContext(model, 0, ds.train, ds.test, feats, logits, y)
        info = hook(ctx)
        out["alpha"].append(float(a))
        out["test_acc"].append(T._accuracy(logits, y))
        out["test_loss"].append(float(F.cross_entropy(logits, y)))
        out["mir"].append(info["mir"])
        out["hdr"].append(info["hdr"])
    return {k: np.asarray(v) for k, v in out.items()}


def _path_summary(path: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"path": path,
            "acc_barrier": barrier(path["test_acc"], True),
            "loss_barrier": barrier(path["test_loss"], False),
            "mir_barrier": barrier(path["mir"], True),
            "hdr_barrier": barrier(path["hdr"], False)}


def run_mode_connectivity(cfg: Any, seed: int = 0, device: torch.device | None = None,
                          data: Mapping[str, Dataset] | None = None, show_progress: bool = True
                          ) -> dict[float, dict[str, Any]]:
    """Linear mode connectivity of two runs from one initialisation, for each label smoothing.

    For each :math:`\\varepsilon` in ``cfg.smoothing``: initialise one network (seed ``seed``),
    optionally train it ``cfg.spawn_epochs`` epochs (the spawning point of Frankle et al.), copy
    it, train the two copies for ``cfg.epochs`` epochs with different data orders and evaluate
    :func:`interpolation_path` on ``cfg.n_alphas`` points of [0, 1]. With
    ``cfg.independent_control`` a third network from a *different* initialisation (seed
    ``seed + 10_000``) is trained too, and the path from the first copy to it is the control
    (independently initialised networks are generally not linearly connected).

    Returns
    -------
    dict
        ``{eps: {"same": summary, "independent": summary}}`` where a summary holds the ``path``
        (``alpha``, ``test_acc``, ``test_loss``, ``mir``, ``hdr``) and the barriers of
        :func:`barrier`: ``acc_barrier`` and ``mir_barrier`` (shortfall below the line),
        ``loss_barrier`` and ``hdr_barrier`` (excess above it).
    """
    device = device or get_device()
    ds = data[cfg.dataset] if data and cfg.dataset in data else load_dataset(cfg.dataset, seed=0)
    alphas = np.linspace(0.0, 1.0, dry_run_cap(check_positive_int(cfg.n_alphas, "n_alphas", minimum=2), 3))
    results: dict[float, dict[str, Any]] = {}

    def train_copy(model, eps, data_seed, tag):
        ccfg = _train_config(cfg.as_dict(), label_smoothing=eps, data_seed=data_seed, eval_every=cfg.epochs)
        T.fit(model, ds.train, None, ccfg, device=device, train_transform=ds.train_transform,
              eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress,
              checkpoint_dir=_run_folder("part1_mode_connectivity", cfg, seed, tag,
                                         {**ccfg.as_dict(), "spawn": cfg.spawn_epochs}))
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    for eps in cfg.smoothing:
        eps = float(eps)
        inits = {"same": seed, "independent": seed + 10_000}
        parents = {}
        for name, init_seed in inits.items():
            if name == "independent" and not cfg.independent_control:
                continue
            seed_everything(init_seed)
            parent = make_model(cfg.model, ds, **cfg.model_kwargs).to(device)
            if cfg.spawn_epochs:
                pcfg = _train_config(cfg.as_dict(), label_smoothing=eps, epochs=cfg.spawn_epochs,
                                     data_seed=3 * seed, eval_every=cfg.spawn_epochs, schedule="constant")
                tag = f"eps{eps}-{name}-parent"
                T.fit(parent, ds.train, None, pcfg, device=device, train_transform=ds.train_transform,
                      eval_transform=ds.eval_transform, desc=tag, show_progress=show_progress,
                      checkpoint_dir=_run_folder("part1_mode_connectivity", cfg, seed, tag, pcfg.as_dict()))
            parents[name] = parent
        a = train_copy(copy.deepcopy(parents["same"]), eps, 3 * seed + 1, f"eps{eps}-child1")
        b = train_copy(copy.deepcopy(parents["same"]), eps, 3 * seed + 2, f"eps{eps}-child2")
        scratch = copy.deepcopy(parents["same"])
        results[eps] = {"same": _path_summary(interpolation_path(scratch, a, b, alphas, ds, cfg.reset_bn))}
        if cfg.independent_control:
            c = train_copy(copy.deepcopy(parents["independent"]), eps, 3 * seed + 3, f"eps{eps}-independent")
            results[eps]["independent"] = _path_summary(interpolation_path(scratch, a, c, alphas, ds, cfg.reset_bn))
    return results
