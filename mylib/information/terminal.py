"""Experiment drivers of the terminal phase: training runs that reach Neural Collapse ({prf:ref}`thm-nc-mir`).

Two settings of {doc}`../notebooks/part1_terminal_collapse`, each returning plain numpy histories:

* :func:`train_ufm` -- the unconstrained-features model: free features :math:`H` and head :math:`W`, cross-entropy
  with weight decay on both, full-batch gradient descent. Its global minimisers are exactly collapsed
  (balanced classes, :math:`d \\ge C - 1`), so MIR tends to :func:`~mylib.information.nc_mir` and HDR to 0;
* :func:`train_terminal_network` -- a small network on the scikit-learn digits (balanced subset of the training
  split), trained far past zero training error, with the class-level and sample-level MIR/HDR of the centred
  train features against the heads tracked along with NC1-NC4 (:func:`collapse_history_record`).

Sizes come from the profiles ``part1_terminal_collapse`` registered here (``mylib.get_config``).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import profiles, seeds
from .._checks import as_tensor, check_nonnegative, check_positive_int, check_seed
from ..data import TensorData, load_digits_split
from ..runtime import dry_run_cap, is_dry_run
from .collapse import _labels, center_rows, centered_class_means, collapse_deviations, nc_metrics, nc_mir
from .matrix_info import information_summary

__all__ = ["collapse_history_record", "train_ufm", "balanced_subset", "train_terminal_network",
           "terminal_values", "HISTORY_KEYS"]

profiles.register(
    "part1_terminal_collapse",
    smoke=dict(
        ufm_C=(3, 10), ufm_per_class=10, ufm_d_extra=2, ufm_steps=1500, ufm_lr=1.0, ufm_weight_decay=5e-3,
        ufm_eval_every=25, ufm_seeds=(0, 1, 2),
        net_model="mlp", net_width=128, net_depth=1, net_epochs=1000, net_lr=0.1, net_momentum=0.9,
        net_weight_decay=2e-3, net_eval_every=50, net_seeds=(0, 1, 2),
    ),
    full=dict(
        ufm_C=(3, 10, 100), ufm_per_class=50, ufm_d_extra=2, ufm_steps=5000, ufm_lr=1.0, ufm_weight_decay=5e-3,
        ufm_eval_every=50, ufm_seeds=(0, 1, 2, 3, 4),
        net_model="mlp", net_width=512, net_depth=1, net_epochs=20000, net_lr=0.1, net_momentum=0.9,
        net_weight_decay=2e-3, net_eval_every=500, net_seeds=(0, 1, 2, 3, 4),
    ),
)

#: Keys of one evaluation record (:func:`collapse_history_record`).
HISTORY_KEYS: tuple[str, ...] = ("MIR", "HDR", "MIR_class", "HDR_class", "nc1", "nc2_means", "nc2_heads",
                                 "nc3", "nc4", "eps_W", "eps_M", "nu")


@torch.no_grad()
def collapse_history_record(H: Any, y: Any, W: Any, b: Any = None) -> dict[str, float]:
    """MIR/HDR of centred features and heads (sample and class level) and NC1-NC4, as floats.

    Sample level: :func:`~mylib.information.information_summary` of the centred features
    :math:`h_i - \\mu_G` against the heads of their labels :math:`w_{y_i}`; class level: the centred class means
    :math:`\\tilde M` against :math:`W` ({prf:ref}`thm-nc-mir`). NC1-NC4 from :func:`~mylib.information.nc_metrics`
    ({prf:ref}`def-nc-properties`), and the deviations ``eps_W``, ``eps_M``, ``nu`` of
    :func:`~mylib.information.collapse_deviations` ({prf:ref}`thm-nc-perturbation`). Used once per evaluation, outside any training step (it synchronises).

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (n, d)
        Features.
    y : array_like or torch.Tensor of int, shape (n,)
        Labels in ``0..C-1``; every class present.
    W : array_like or torch.Tensor, shape (C, d)
        Heads.
    b : array_like or torch.Tensor, shape (C,), optional
        Bias of the head (for NC4).

    Returns
    -------
    dict
        Keys :data:`HISTORY_KEYS`, Python floats.

    Raises
    ------
    ValueError
        For bad features, labels or heads (see :func:`~mylib.information.nc_metrics`).
    """
    Ht = as_tensor(H, "H").detach()
    Wt = as_tensor(W, "W").detach().to(dtype=Ht.dtype, device=Ht.device)
    yt, C = _labels(y, Ht.shape[0], Wt.shape[0], Ht.device)
    Hc = center_rows(Ht)
    s = information_summary(Hc, Wt[yt])
    sc = information_summary(centered_class_means(Ht, yt, C), Wt)
    m = nc_metrics(Ht, yt, Wt, b=None if b is None else as_tensor(b, "b", ndim=1).detach(), C=C)
    dev = collapse_deviations(Ht, yt, Wt)
    out = {"MIR": s["MIR"], "HDR": s["HDR"], "MIR_class": sc["MIR"], "HDR_class": sc["HDR"], **m,
           "eps_W": dev["eps_W"], "eps_M": dev["eps_M"], "nu": dev["nu"]}
    return {k: float(out[k]) for k in HISTORY_KEYS}


def train_ufm(C: int, n_per_class: int, d: int, steps: int, lr: float = 1.0, weight_decay: float = 5e-3,
              eval_every: int = 50, seed: int = 0, init_scale: float = 1.0,
              dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Train the unconstrained-features model into collapse by full-batch gradient descent.

    Minimises, over free features :math:`h_i\\in\\mathbb R^d` and heads :math:`W\\in\\mathbb R^{C\\times d}`,

    .. math:: \\frac1n\\sum_{i=1}^n \\Bigl[\\mathrm{CE}(W h_i, y_i) + \\frac\\lambda2\\lVert h_i\\rVert^2\\Bigr]
       + \\frac\\lambda2\\lVert W\\rVert_F^2,

    with ``n_per_class`` samples of each of ``C`` classes, by gradient descent with step ``lr`` on :math:`W` and
    ``lr * n`` on each :math:`h_i` (each feature moves as if it were a sample's own parameter). For
    :math:`d \\ge C - 1` and small :math:`\\lambda` every global minimiser is a Neural Collapse configuration
    (Zhu et al., 2021, *A geometric analysis of neural collapse with unconstrained features*), so MIR tends to :math:`\\mathrm{MIR}_{NC}(C)` and HDR to 0 ({prf:ref}`thm-nc-mir`).

    Parameters
    ----------
    C : int
        Number of classes, at least 3.
    n_per_class : int
        Samples per class (balanced).
    d : int
        Feature dimension, at least ``C - 1``.
    steps : int
        Gradient steps.
    lr : float
        Step size (> 0).
    weight_decay : float
        :math:`\\lambda > 0`.
    eval_every : int
        Record the metrics of :func:`collapse_history_record` every so many steps (and at 0 and the end).
    seed : int
        Seeds the initialisation (stream ``("ufm-init", seed, C)`` of :mod:`mylib.seeds`).
    init_scale : float
        Standard deviation of the Gaussian initial entries times :math:`\\sqrt d`.
    dtype, device :
        Precision and device of the run.

    Returns
    -------
    dict of numpy.ndarray
        ``step``, ``loss``, ``train_acc`` and the keys :data:`HISTORY_KEYS`, one entry per evaluation, plus
        ``H`` (n, d), ``W`` (C, d), ``y`` (n,) at the end and ``mir_nc`` (the closed form).

    Raises
    ------
    ValueError
        For ``C < 3``, ``d < C - 1``, non-positive sizes or steps, ``lr <= 0`` or ``weight_decay <= 0``.
    """
    C = check_positive_int(C, "C", minimum=3)
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    d = check_positive_int(d, "d")
    if d < C - 1:
        raise ValueError(f"d must be >= C - 1 = {C - 1} for a simplex ETF, got d = {d}")
    eval_every = check_positive_int(eval_every, "eval_every")
    steps = dry_run_cap(check_positive_int(steps, "steps"), 2 * eval_every)  # a dry run: two evaluations
    lr = check_nonnegative(lr, "lr")
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    if lr == 0 or weight_decay == 0:
        raise ValueError("lr and weight_decay must be > 0")
    seed = check_seed(seed)
    init_scale = check_nonnegative(init_scale, "init_scale")
    n = C * n_per_class
    g = seeds.torch_generator("ufm-init", seed, C)
    H = (init_scale / math.sqrt(d)) * torch.randn(n, d, generator=g, dtype=dtype)
    W = (init_scale / math.sqrt(d)) * torch.randn(C, d, generator=g, dtype=dtype)
    H, W = H.to(device).requires_grad_(True), W.to(device).requires_grad_(True)
    y = torch.arange(C, device=device).repeat_interleave(n_per_class)
    hist: dict[str, list] = {k: [] for k in ("step", "loss", "train_acc", *HISTORY_KEYS)}
    k_eval = dry_run_cap(n_per_class, 5)  # a dry run summarises the first 5 samples of each class, not all of them
    sub = (torch.arange(C, device=device)[:, None] * n_per_class + torch.arange(k_eval, device=device)).flatten()

    def record(step: int, loss: torch.Tensor, logits: torch.Tensor) -> None:
        hist["step"].append(step)
        hist["loss"].append(float(loss))
        hist["train_acc"].append(float((logits.argmax(1) == y).double().mean()))
        Hs, ys = (H, y) if k_eval == n_per_class else (H[sub], y[sub])
        for k, v in collapse_history_record(Hs, ys, W).items():
            hist[k].append(v)

    for step in range(steps + 1):
        logits = H @ W.T
        loss = F.cross_entropy(logits, y) + 0.5 * weight_decay * ((H ** 2).sum() / n + (W ** 2).sum())
        if step % eval_every == 0 or step == steps:
            record(step, loss.detach(), logits.detach())
        if step == steps:
            break
        gH, gW = torch.autograd.grad(loss, (H, W))
        with torch.no_grad():
            H -= (lr * n) * gH
            W -= lr * gW
    out = {k: np.asarray(v) for k, v in hist.items()}
    out.update(H=H.detach().cpu().numpy(), W=W.detach().cpu().numpy(), y=y.cpu().numpy(), mir_nc=nc_mir(C))
    return out


def balanced_subset(data: TensorData, per_class: int | None = None) -> TensorData:
    """The first ``per_class`` samples of each class (in the data's order), classes sorted.

    Balance is assumption (b) of {prf:ref}`asm-nc-exact`, which the sample-level closed form needs.

    Parameters
    ----------
    data : mylib.data.TensorData
    per_class : int, optional
        Samples kept per class; default the size of the smallest class.

    Returns
    -------
    mylib.data.TensorData
        Balanced: exactly ``per_class`` samples of every class ``0..C-1``.

    Raises
    ------
    ValueError
        If a class has fewer than ``per_class`` samples.
    """
    y = data.y.cpu()
    C = int(y.max()) + 1
    counts = torch.bincount(y, minlength=C)
    k = int(counts.min()) if per_class is None else check_positive_int(per_class, "per_class")
    if int(counts.min()) < k:
        raise ValueError(f"per_class = {k} exceeds the smallest class ({int(counts.min())} samples)")
    idx = torch.cat([torch.nonzero(y == c).flatten()[:k] for c in range(C)])
    return TensorData(data.x[idx], data.y[idx])


def _network_hook(ctx) -> dict[str, float]:
    """Metric hook of :func:`mylib.nn.fit`: :func:`collapse_history_record` on the eval-mode train features."""
    fc = ctx.model.fc
    y, W, b = ctx.train.y, fc.weight, fc.bias
    if is_dry_run():  # a dry run's hooks see a few samples, not every class (mylib.nn.fit): the classes present
        present, y = torch.unique(y, return_inverse=True)
        W, b = W[present], None if b is None else b[present]
    return collapse_history_record(ctx.train_features, y, W, b)


def train_terminal_network(model: str = "mlp", width: int = 32, depth: int = 2, epochs: int = 3000,
                           lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4,
                           eval_every: int = 100, seed: int = 0, batch_size: int | None = None,
                           device: str | torch.device | None = None) -> dict[str, np.ndarray]:
    """Train a small network on the balanced digits training split far into the terminal phase.

    The recipe: a balanced training set (:func:`balanced_subset` of :func:`mylib.data.load_digits_split`), features
    of width ``width`` :math:`\\ge C - 1`, full-batch gradient descent with momentum (``batch_size=None``), weight
    decay ``weight_decay`` on every parameter and a cosine learning-rate schedule from ``lr`` to 0 over ``epochs``
    steps, so that the last steps refine the configuration instead of jumping around it. It tests how close a real
    network gets to the values of {prf:ref}`thm-nc-mir` and checks {prf:ref}`thm-nc-perturbation`. Every
    ``eval_every`` epochs :func:`collapse_history_record` is evaluated on the eval-mode training features.

    Parameters
    ----------
    model : {"mlp", "cnn"}
        :class:`mylib.nn.MLP` (``width``, ``depth``) or :class:`mylib.nn.SmallCNN` (features of width ``2 width``).
    width, depth : int
        Model sizes.
    epochs : int
        Training steps (one full-batch step per epoch when ``batch_size`` is None).
    lr, momentum, weight_decay : float
        SGD settings.
    eval_every : int
        Epochs between evaluations.
    seed : int
        Seeds the initialisation (``mylib.seed_everything``) and the data order.
    batch_size : int, optional
        Mini-batch size; ``None`` is full batch.
    device : str or torch.device, optional
        Default: CUDA when present.

    Returns
    -------
    dict of numpy.ndarray
        ``epoch``, ``train_loss``, ``train_acc``, ``test_acc`` and :data:`HISTORY_KEYS` per evaluation, plus
        ``mir_nc`` (the closed form for C = 10) and ``n_train``.

    Raises
    ------
    ValueError
        For an unknown ``model``, a width below ``C - 1`` or bad training settings.
    """
    from ..nn import training as T
    from ..runtime import get_device, seed_everything

    if model not in ("mlp", "cnn"):
        raise ValueError(f"model must be 'mlp' or 'cnn', got {model!r}")
    seed = check_seed(seed)
    width = check_positive_int(width, "width")
    train, test = load_digits_split(seed=0, image=(model == "cnn"))
    train = balanced_subset(train)
    C = 10
    if is_dry_run():  # interleave the classes, so the few samples a dry run evaluates hold several of them
        order = torch.arange(len(train)).view(C, -1).T.flatten()
        train = TensorData(train.x[order], train.y[order])
    feat = width if model == "mlp" else 2 * width
    if feat < C - 1:
        raise ValueError(f"the features need width >= C - 1 = {C - 1}, got {feat}")
    seed_everything(seed)
    net = (T.MLP(train.x.shape[1], C, width=width, depth=depth) if model == "mlp"
           else T.SmallCNN(1, C, width=width))
    cfg = T.TrainConfig(epochs=epochs, batch_size=batch_size, optimizer="sgd", lr=lr, momentum=momentum,
                        weight_decay=weight_decay, schedule="cosine", data_seed=seed, eval_every=eval_every,
                        eval_train=True, eval_at_start=True)
    dev = torch.device(device) if device is not None else get_device()
    hist = T.fit(net, train, test, cfg, hooks=[_network_hook], device=dev, show_progress=False)
    cols = T.history_columns(hist)
    out = {k: cols[k] for k in ("epoch", "train_loss", "train_acc", "test_acc", *HISTORY_KEYS)}
    out.update(mir_nc=nc_mir(C), n_train=len(train))
    return out


def terminal_values(history: dict[str, Any]) -> dict[str, float]:
    """The last record of a run ({prf:ref}`thm-nc-mir`): the MIR gaps :math:`|\\mathrm{MIR} - \\mathrm{MIR}_{NC}(C)|` and the HDRs.

    Parameters
    ----------
    history : dict
        Output of :func:`train_ufm` or :func:`train_terminal_network` (needs ``MIR``, ``HDR``,
        ``MIR_class``, ``HDR_class`` and ``mir_nc``).

    Returns
    -------
    dict
        ``gap`` and ``hdr`` (sample level), ``gap_class`` and ``hdr_class`` (class level), floats.

    Raises
    ------
    ValueError
        If a key is missing or a history is empty.
    """
    for k in ("MIR", "HDR", "MIR_class", "HDR_class", "mir_nc"):
        if k not in history:
            raise ValueError(f"history has no {k!r}")
    if len(history["MIR"]) == 0:
        raise ValueError("history is empty")
    ref = float(history["mir_nc"])
    return {"gap": abs(float(history["MIR"][-1]) - ref), "hdr": float(history["HDR"][-1]),
            "gap_class": abs(float(history["MIR_class"][-1]) - ref), "hdr_class": float(history["HDR_class"][-1])}
