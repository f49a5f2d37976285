"""Shared training machinery for the Part I experiments.

Models expose the same two-stage interface so that the information quantities of
{prf:ref}`thm-nc-mir` can be computed between representations and classifier heads:

* ``model.features(x)`` returns the penultimate representation :math:`z(x) \\in \\mathbb{R}^d`;
* ``model.fc`` is the linear head :math:`W \\in \\mathbb{R}^{C \\times d}`, so ``model(x) == model.fc(model.features(x))``.

The models are a small MLP and a small CNN (smoke profile, scikit-learn digits), the
Wide ResNets WRN-28-2 / WRN-28-8 of Zagoruyko & Komodakis (CIFAR-10/100, full profile)
and the one-layer ReLU transformer used for grokking on modular addition.

:func:`fit` is the training loop used by every experiment: mini-batch SGD/AdamW with a
per-step learning-rate schedule, per-epoch evaluation and metric hooks, a tqdm
progress bar (:func:`mylib.progress`), optional bf16 autocast and channels-last on
CUDA, and exact checkpoint/resume through :class:`mylib.runtime.Checkpointer`. The data
order of epoch ``e`` comes from a generator seeded by ``(data_seed, e)``, so a run that
is killed and restarted from its last checkpoint ends with bit-identical weights and
metrics on a CPU with a fixed thread count.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import seeds
from .._checks import check_nonnegative, check_positive_int
from ..data import TensorData
from ..runtime import Checkpointer, TrainingInterrupted, cosine_lr, dry_run_cap, get_device, progress, training_step
from .augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalise
from .models import contrastive_mlp, contrastive_resnet18, kaiming_init
from .probe import batched_outputs

__all__ = [
    "MLP", "SmallCNN", "WideResNet", "ModularTransformer", "build_model", "MODELS",
    "TrainConfig", "EpochContext", "fit", "evaluate", "collect_outputs", "head_rows",
    "cross_entropy_loss", "lr_at", "epoch_permutation", "history_columns",
    "interpolate_state_dicts", "reset_bn_stats", "cifar_transform", "TrainingInterrupted",
]


# --------------------------------------------------------------------------- models
class MLP(nn.Module):
    """Fully connected ReLU network ``in_dim -> width x depth -> num_classes``.

    ``features(x)`` is the output of the last hidden ReLU layer (dimension ``width``);
    ``fc`` is the linear head. Inputs are flattened from the second dimension on.

    Parameters
    ----------
    in_dim : int
        Input dimension (after flattening), at least 1.
    num_classes : int
        At least 2.
    width : int, default 128
        Width of every hidden layer.
    depth : int, default 2
        Number of hidden ``Linear + ReLU`` layers, at least 1.
    bias : bool, default True
        Biases in every linear layer, the head included.

    Raises
    ------
    ValueError
        If a size is not a positive integer or ``num_classes < 2``.
    """

    def __init__(self, in_dim: int, num_classes: int, width: int = 128, depth: int = 2, bias: bool = True):
        super().__init__()
        in_dim = check_positive_int(in_dim, "in_dim")
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        width = check_positive_int(width, "width")
        depth = check_positive_int(depth, "depth")
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(depth):
            layers += [nn.Linear(d, width, bias=bias), nn.ReLU()]
            d = width
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(width, num_classes, bias=bias)
        self.feature_dim = width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class SmallCNN(nn.Module):
    """Two 3x3 conv + BatchNorm + ReLU stages and global average pooling (for 8x8 digits).

    ``features(x)`` is the pooled representation of dimension ``2 * width`` (the second stage has stride 2).

    Parameters
    ----------
    in_channels : int, default 1
    num_classes : int, default 10
        At least 2.
    width : int, default 16
        Channels of the first stage (the second has ``2 * width``).

    Raises
    ------
    ValueError
        If a size is not a positive integer or ``num_classes < 2``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16):
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        width = check_positive_int(width, "width")
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width, num_classes)
        self.feature_dim = 2 * width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class _WideBasic(nn.Module):
    """Pre-activation wide residual block (BN-ReLU-conv3x3-BN-ReLU-dropout-conv3x3)."""

    def __init__(self, in_planes: int, planes: int, stride: int, dropout: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = F.relu(self.bn1(x))
        y = self.conv1(o)
        y = self.conv2(self.dropout(F.relu(self.bn2(y))))
        return y + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor`` of Zagoruyko & Komodakis (2016) for 32x32 images.

    ``depth = 6 n + 4`` (28 gives n = 4 blocks per stage); stage widths are
    ``16, 16k, 32k, 64k`` for ``k = widen_factor``. ``features(x)`` is the globally
    pooled output of the final BN-ReLU (dimension ``64 k``), ``fc`` the linear head.
    WRN-28-2 (1.5 M parameters) and WRN-28-8 (23.4 M) are the paper's CIFAR-10/100 models
    ({ref}`sec-nce-full-recipe`). Convolutions get :func:`mylib.nn.models.kaiming_init`, the head's bias 0.

    Parameters
    ----------
    depth : int, default 28
        :math:`6 n + 4` with :math:`n \\ge 1`.
    widen_factor : int, default 2
        :math:`k \\ge 1`.
    num_classes : int, default 10
        At least 2.
    dropout : float, default 0.0
        Dropout probability between the two convolutions of each block.
    in_channels : int, default 3

    Raises
    ------
    ValueError
        If ``depth`` is not of the form :math:`6 n + 4` (at least 10), ``widen_factor`` is not a positive integer,
        ``num_classes < 2`` or ``dropout`` is negative.
    """

    def __init__(self, depth: int = 28, widen_factor: int = 2, num_classes: int = 10,
                 dropout: float = 0.0, in_channels: int = 3):
        super().__init__()
        depth = check_positive_int(depth, "depth", minimum=10)
        if (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n + 4 (10, 16, 22, 28, ...), got {depth}")
        k = check_positive_int(widen_factor, "widen_factor")
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        dropout = check_nonnegative(dropout, "dropout")
        n = (depth - 4) // 6
        widths = [16, 16 * k, 32 * k, 64 * k]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        in_planes = widths[0]
        for stage, stride in zip(range(3), (1, 2, 2)):
            for i in range(n):
                blocks.append(_WideBasic(in_planes, widths[stage + 1], stride if i == 0 else 1, dropout))
                in_planes = widths[stage + 1]
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, num_classes)
        self.feature_dim = in_planes
        kaiming_init(self)
        nn.init.zeros_(self.fc.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn(self.blocks(self.conv1(x))))
        return F.adaptive_avg_pool2d(y, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class ModularTransformer(nn.Module):
    """One-layer ReLU transformer for ``(a + b) mod p`` (the grokking model of Nanda et al.).

    Input: integer tokens of shape ``(n, 3)`` holding ``a, b, p`` (token ``p`` is "=").
    Learned token and position embeddings, one causal multi-head attention layer and one
    ReLU MLP, both residual, no LayerNorm. ``features(x)`` is the residual stream at the
    last position (the final hidden representation, dimension ``d_model``); ``fc`` is the
    unembedding (no bias), whose rows are the class heads.

    Parameters
    ----------
    p : int
        The modulus, at least 2 (vocabulary :math:`p + 1`, :math:`p` classes).
    d_model : int, default 128
        Width of the residual stream; a multiple of ``n_heads``.
    n_heads : int, default 4
        Attention heads.
    d_mlp : int, default 512
        Hidden width of the MLP.
    n_ctx : int, default 3
        Sequence length (the position embeddings).

    Raises
    ------
    ValueError
        If ``p < 2``, a size is not a positive integer, or ``d_model`` is not divisible by ``n_heads``; ``features``
        raises it for tokens not of shape ``(n, n_ctx)``.
    """

    def __init__(self, p: int, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512, n_ctx: int = 3):
        super().__init__()
        p = check_positive_int(p, "p", minimum=2)
        d_model = check_positive_int(d_model, "d_model")
        n_heads = check_positive_int(n_heads, "n_heads")
        d_mlp = check_positive_int(d_mlp, "d_mlp")
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.p, self.n_heads, self.d_head = p, n_heads, d_model // n_heads
        self.embed = nn.Embedding(p + 1, d_model)
        self.pos = nn.Parameter(torch.randn(n_ctx, d_model) / math.sqrt(d_model))
        nn.init.normal_(self.embed.weight, std=1 / math.sqrt(d_model))
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_mlp), nn.ReLU(), nn.Linear(d_mlp, d_model))
        self.fc = nn.Linear(d_model, p, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)), persistent=False)
        self.feature_dim = d_model

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.pos.shape[0]:
            raise ValueError(f"tokens must have shape (n, {self.pos.shape[0]}), got {tuple(x.shape)}")
        h = self.embed(x) + self.pos
        n, t, d = h.shape
        # One layer: only the last position reaches the output, so attention is evaluated for the
        # last query only (keys/values of all positions; the causal mask is then all-true) and the
        # MLP on the last position only. Identical to the full computation and about 3x cheaper;
        # the tiny (1 x t) attention products are done elementwise, faster than batched matmul.
        q, k, v = self.qkv(h).view(n, t, 3, self.n_heads, self.d_head).unbind(2)  # (n, t, heads, dh)
        scores = (q[:, -1:] * k).sum(-1) / math.sqrt(self.d_head)  # (n, t, heads)
        mixed = (scores.softmax(1).unsqueeze(-1) * v).sum(1)  # (n, heads, dh)
        last = h[:, -1] + self.out(mixed.reshape(n, d))
        return last + self.mlp(last)

    def features_all_positions(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream after the layer at every position, shape (n, t, d) (reference computation)."""
        h = self.embed(x) + self.pos
        n, t, d = h.shape
        q, k, v = self.qkv(h).view(n, t, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        h = h + self.out((att @ v).transpose(1, 2).reshape(n, t, d))
        return h + self.mlp(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "cnn": SmallCNN,
    "wrn": WideResNet,
    "wrn-28-2": lambda num_classes=10, **kw: WideResNet(28, 2, num_classes, **kw),
    "wrn-28-8": lambda num_classes=100, **kw: WideResNet(28, 8, num_classes, **kw),
    "transformer": ModularTransformer,
    "contrastive-mlp": contrastive_mlp,
    "contrastive-resnet18": contrastive_resnet18,
}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a model by name (one of :data:`MODELS`) with keyword arguments.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`: ``"mlp"``, ``"cnn"``, ``"wrn"``, ``"wrn-28-2"``, ``"wrn-28-8"``, ``"transformer"``,
        ``"contrastive-mlp"``, ``"contrastive-resnet18"``.
    **kwargs
        The model's constructor arguments (e.g. ``num_classes``, ``width``).

    Returns
    -------
    torch.nn.Module
        A fresh model exposing ``features(x)`` and a linear head ``fc`` (the contrastive ones: see
        :class:`mylib.nn.models.ContrastiveNet`).

    Raises
    ------
    ValueError
        For an unknown name (the model's own checks apply to ``kwargs``).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid: {sorted(MODELS)}")
    return MODELS[name](**kwargs)


def head_rows(model: nn.Module, labels: torch.Tensor) -> torch.Tensor:
    """The classifier head of each sample's label: rows ``W[y_i]`` of ``model.fc.weight``.

    Parameters
    ----------
    model : torch.nn.Module
        Has a linear head ``fc``.
    labels : torch.Tensor
        Integer labels :math:`y_i`.

    Returns
    -------
    torch.Tensor
        ``(n, d)``, the rows :math:`w_{y_i}` (differentiable, on the head's device).

    Raises
    ------
    ValueError
        If ``model`` has no ``fc``.
    """
    if not hasattr(model, "fc"):
        raise ValueError("model has no linear head `fc`")
    return model.fc.weight[labels.long()]


# --------------------------------------------------------------------------- config
_OPTIMIZERS = ("sgd", "adamw")
_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`fit`.

    Attributes
    ----------
    epochs : int
        Number of passes over the training data (with ``batch_size=None``, one
        full-batch step per "epoch", as in grokking).
    batch_size : int or None
        Mini-batch size; ``None`` means full batch.
    optimizer : {"sgd", "adamw"}
    lr, momentum, weight_decay, betas, nesterov :
        Optimiser settings (``momentum``/``nesterov`` for SGD, ``betas`` for AdamW).
    schedule : {"constant", "cosine"}
        Per-step schedule :math:`\\eta_t = \\eta` or :math:`\\eta_t = \\eta\\,\\tfrac12(1+\\cos(\\pi t/T))`,
        after a linear warm-up of ``warmup_steps``.
    label_smoothing : float
        :math:`\\varepsilon` of label smoothing in the default cross-entropy (Müller et al., 2019).
    data_seed : int
        Seed of the data order (epoch ``e`` uses generator seed ``(data_seed, e)``).
    eval_every : int
        Evaluate and call hooks every ``eval_every`` epochs (and after the last).
    eval_batch_size : int
    eval_train : bool
        Also evaluate the training set in eval mode (otherwise the running average of the epoch).
    eval_at_start : bool
        Also evaluate (and call the hooks) before the first step, as epoch 0.
    checkpoint_every : int
        Save a checkpoint every so many epochs (when a checkpoint directory is given).
    amp : bool
        bf16 autocast on CUDA (ignored on CPU).
    channels_last : bool
        Use the channels-last memory format for 4-D inputs on CUDA.
    """

    epochs: int = 10
    batch_size: int | None = 64
    optimizer: str = "sgd"
    lr: float = 0.03
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "cosine"
    warmup_steps: int = 0
    label_smoothing: float = 0.0
    data_seed: int = 0
    eval_every: int = 1
    eval_batch_size: int = 1024
    eval_train: bool = False
    eval_at_start: bool = False
    checkpoint_every: int = 1
    amp: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        self.epochs = check_positive_int(self.epochs, "epochs")
        if self.batch_size is not None:
            self.batch_size = check_positive_int(self.batch_size, "batch_size")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: {_OPTIMIZERS}")
        if self.schedule not in _SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; valid: {_SCHEDULES}")
        self.lr = check_nonnegative(self.lr, "lr")
        if self.lr == 0:
            raise ValueError("lr must be > 0")
        self.momentum = check_nonnegative(self.momentum, "momentum")
        self.weight_decay = check_nonnegative(self.weight_decay, "weight_decay")
        self.warmup_steps = check_positive_int(self.warmup_steps, "warmup_steps", minimum=0)
        self.label_smoothing = check_nonnegative(self.label_smoothing, "label_smoothing")
        if self.label_smoothing >= 1:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        self.data_seed = check_positive_int(self.data_seed, "data_seed", minimum=0)
        self.eval_every = check_positive_int(self.eval_every, "eval_every")
        self.eval_batch_size = check_positive_int(self.eval_batch_size, "eval_batch_size")
        self.checkpoint_every = check_positive_int(self.checkpoint_every, "checkpoint_every")
        self.betas = tuple(float(b) for b in self.betas)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Build from a dictionary, ignoring keys that are not fields (e.g. a profile's model sizes)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_at(step: int, total_steps: int, config: TrainConfig) -> float:
    """Learning rate at optimisation step ``step`` (0-based) of ``total_steps``.

    Linear warm-up over ``warmup_steps``, then constant or half-cosine decay
    :math:`\\eta\\,\\tfrac12\\bigl(1+\\cos(\\pi\\,(t-t_w)/(T-t_w))\\bigr)` (:func:`mylib.runtime.cosine_lr`).

    Parameters
    ----------
    step : int
        :math:`t`, 0-based.
    total_steps : int
        :math:`T`.
    config : TrainConfig
        Its ``lr`` (:math:`\\eta`), ``warmup_steps`` (:math:`t_w`) and ``schedule`` (``"constant"`` or ``"cosine"``).

    Returns
    -------
    float
    """
    if config.schedule == "constant" and not (config.warmup_steps and step < config.warmup_steps):
        return config.lr
    return cosine_lr(step, total_steps, config.lr, config.warmup_steps)


def epoch_permutation(n: int, epoch: int, data_seed: int) -> torch.Tensor:
    """The data order of ``epoch``: a permutation from the stream ``("fit-data-order", data_seed, epoch)``.

    Depending only on ``(data_seed, epoch)`` (through :func:`mylib.seeds.torch_generator`), it is reproduced
    exactly after a resume.

    Parameters
    ----------
    n : int
        Number of training samples.
    epoch : int
        0-based epoch.
    data_seed : int
        ``TrainConfig.data_seed``.

    Returns
    -------
    torch.Tensor
        A permutation of ``0..n-1`` (int64, on the CPU).
    """
    g = seeds.torch_generator("fit-data-order", int(data_seed), int(epoch))
    return torch.randperm(n, generator=g)


def _epoch_generator(epoch: int, data_seed: int) -> torch.Generator:
    return seeds.torch_generator("fit-augment", int(data_seed), int(epoch))


# --------------------------------------------------------------------------- transforms
def cifar_transform(augment: bool, mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD):
    """Batch transform for uint8 CIFAR tensors ``(n, 3, 32, 32)`` held on any device.

    Scales to [0, 1], then (``augment=True``) :func:`mylib.nn.augment.crop_flip` (a random 32x32 crop of the
    4-pixel reflection-padded image and a random horizontal flip, drawn from the epoch's generator, so
    augmentation is reproduced after a resume), then normalises (:func:`mylib.nn.augment.normalise`).

    Parameters
    ----------
    augment : bool
        Crop and flip (training) or only scale and normalise (evaluation).
    mean, std : sequences of 3 floats
        Normalisation constants (default: CIFAR-10's, :data:`mylib.nn.augment.CIFAR10_MEAN` and
        :data:`mylib.nn.augment.CIFAR10_STD`).

    Returns
    -------
    callable
        ``transform(x, generator=None)`` returning a contiguous float32 batch; ``fit`` passes the epoch's generator.
    """

    def transform(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = x.float().div_(255.0)
        if augment:
            x = crop_flip(x, 4, 0.5, generator, padding_mode="reflect")
        return normalise(x, mean, std).contiguous()

    return transform


# --------------------------------------------------------------------------- losses
def cross_entropy_loss(label_smoothing: float = 0.0):
    """Cross-entropy with label smoothing :math:`\\varepsilon` ({prf:ref}`def-nce-label-smoothing`), with the loss
    signature of :func:`fit`.

    :math:`\\ell = -\\sum_c q_c \\log p_c` with :math:`q = (1-\\varepsilon)\\,e_y + \\varepsilon/C`.

    Parameters
    ----------
    label_smoothing : float, default 0.0
        :math:`\\varepsilon \\in [0, 1)` (0: plain cross-entropy).

    Returns
    -------
    callable
        ``loss(logits, y, features=None, model=None)``: the batch mean of :math:`\\ell` (logits cast to float32).

    Raises
    ------
    ValueError
        If ``label_smoothing`` is negative, not finite or at least 1.
    """
    eps = check_nonnegative(label_smoothing, "label_smoothing")
    if eps >= 1:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {eps}")

    def loss(logits, y, features=None, model=None):
        return F.cross_entropy(logits.float(), y, label_smoothing=eps)

    return loss


# --------------------------------------------------------------------------- evaluation
def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correct predictions as an exact ratio of counts (float64, no float32 averaging)."""
    return int((logits.argmax(1) == y).sum()) / int(y.shape[0])


def collect_outputs(model: nn.Module, data: TensorData, batch_size: int = 1024,
                    transform: Callable | None = None, device: torch.device | None = None,
                    amp: bool = False, channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and logits of every sample of ``data`` in eval mode (float32, on ``device``;
    :func:`mylib.nn.batched_outputs`).

    Parameters
    ----------
    model : torch.nn.Module
        Exposes ``features(x)`` and a linear head ``fc``.
    data : TensorData
    batch_size : int, default 1024
    transform : callable, optional
        ``transform(x, None)`` applied to each batch on the device (e.g. :func:`cifar_transform` ``(False)``).
    device : torch.device, optional
        Default: the device of the model's parameters.
    amp : bool, default False
        bfloat16 autocast on CUDA.
    channels_last : bool, default False
        Channels-last memory format for 4-D batches.

    Returns
    -------
    features, logits : torch.Tensor
        ``(n, d)`` and ``(n, C)``, float32, in the order of ``data``.
    """
    device = device or next(model.parameters()).device

    def fn(m, x):
        z = m.features(x)
        return z, m.fc(z)

    feats, logits = batched_outputs(model, data.x, fn, None if transform is None else (lambda x: transform(x, None)),
                                    device, batch_size, amp, channels_last)
    return feats, logits


def evaluate(model: nn.Module, data: TensorData, batch_size: int = 1024, transform: Callable | None = None,
             device: torch.device | None = None) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and accuracy ``acc`` of ``model`` on ``data`` (eval mode).

    Parameters
    ----------
    model, data, batch_size, transform, device
        As in :func:`collect_outputs`, which computes the logits.

    Returns
    -------
    dict
        ``loss`` (mean cross-entropy, no label smoothing) and ``acc`` (fraction correct, in [0, 1]), floats.
    """
    device = device or next(model.parameters()).device
    _, logits = collect_outputs(model, data, batch_size, transform, device)
    y = data.y.to(device)
    return {"loss": float(F.cross_entropy(logits, y)), "acc": _accuracy(logits, y)}


@dataclass
class EpochContext:
    """What a metric hook sees after an evaluated epoch.

    ``test_features``/``test_logits`` are the eval-mode outputs on the test data
    (float32, on the training device), ``test_labels`` its labels; ``record`` holds the
    metrics collected so far this epoch (hooks may read it); ``train_features`` are the
    eval-mode training features when the loop evaluated the training set (else None).

    Attributes
    ----------
    model : torch.nn.Module
        The model being trained (in eval mode while the hooks run).
    epoch : int
        Epochs completed (0: the evaluation before training).
    train, test : TensorData
        The training data and the test data (None without test data), on the training device.
    test_features, test_logits, test_labels : torch.Tensor or None
        Eval-mode features, logits and labels of the test data.
    record : dict
        The epoch's record so far (``epoch``, ``step``, ``lr``, losses, accuracies).
    train_features : torch.Tensor or None
        Eval-mode training features, when the loop evaluated the training set.
    """

    model: nn.Module
    epoch: int
    train: TensorData
    test: TensorData | None
    test_features: torch.Tensor | None
    test_logits: torch.Tensor | None
    test_labels: torch.Tensor | None
    record: dict[str, Any] = field(default_factory=dict)
    train_features: torch.Tensor | None = None  # eval-mode training features, when evaluated (``eval_train``)




def _check_data(data: TensorData, name: str) -> None:
    if not isinstance(data, TensorData):
        raise ValueError(f"{name} must be a mylib.data.TensorData, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{name} is empty")
    if torch.is_floating_point(data.x) and not bool(torch.isfinite(data.x).all()):
        raise ValueError(f"{name}.x contains NaN or inf")


# --------------------------------------------------------------------------- training loop
#: Samples a dry run (:func:`mylib.runtime.is_dry_run`) evaluates per set; its trainings run 2 epochs of 1 step of 4 samples.
DRY_RUN_EVAL = 8


def fit(model: nn.Module, train: TensorData, test: TensorData | None = None,
        config: TrainConfig | None = None, *, loss_fn: Callable | None = None,
        hooks: Iterable[Callable[[EpochContext], dict[str, Any] | None]] = (),
        checkpoint_dir=None, device: torch.device | None = None,
        train_transform: Callable | None = None, eval_transform: Callable | None = None,
        desc: str = "train", show_progress: bool = True) -> list[dict[str, Any]]:
    """Train ``model`` in place and return its history (one record per evaluated epoch).

    Each step minimises ``loss_fn(logits, y, features, model)`` (default: cross-entropy
    with ``config.label_smoothing``, {prf:ref}`def-nce-label-smoothing`) on a mini-batch drawn in the order
    :func:`epoch_permutation` ``(n, epoch, config.data_seed)``; the learning rate follows
    :func:`lr_at`. After every ``eval_every`` epochs the test set is evaluated once
    (features and logits), then each hook is called with an :class:`EpochContext` and
    may return a dict of extra metrics for the record.

    With ``checkpoint_dir`` (see :func:`mylib.run_dir`) the model, optimiser, history and
    RNG states are saved every ``checkpoint_every`` epochs; calling :func:`fit` again with
    the same directory resumes after the last saved epoch, and ends with exactly the
    weights and history of an uninterrupted run.

    Parameters
    ----------
    model : torch.nn.Module
        Exposes ``features(x)`` and a linear head ``fc`` (e.g. :func:`build_model`); moved to ``device``.
    train : TensorData
        Training data (kept on the device for the whole run).
    test : TensorData, optional
        Evaluated with the training data after every ``eval_every`` epochs.
    config : TrainConfig, optional
        Optimiser, schedule, sizes and seeds (default: ``TrainConfig()``).
    loss_fn : callable, optional
        ``loss_fn(logits, y, features, model)`` returning a scalar tensor (default: :func:`cross_entropy_loss`).
    hooks : iterable of callables
        ``hook(ctx: EpochContext)`` returning a dict of extra metrics, or None.
    checkpoint_dir : path-like, optional
        Folder for checkpoints and resume (None: no checkpoints).
    device : torch.device, optional
        Default: :func:`mylib.runtime.get_device`.
    train_transform : callable, optional
        ``train_transform(x, generator)`` applied to each training batch with the epoch's generator.
    eval_transform : callable, optional
        ``eval_transform(x, None)`` applied to evaluated batches.
    desc : str, default "train"
        Label of the progress bar.
    show_progress : bool, default True

    Returns
    -------
    list of dict
        Records with keys ``epoch`` (1-based), ``step``, ``lr``, ``train_loss``,
        ``train_acc``, ``test_loss``, ``test_acc`` and whatever the hooks add.

    Raises
    ------
    ValueError
        If ``config`` is not a :class:`TrainConfig`, ``train`` or ``test`` is not a non-empty
        :class:`~mylib.data.TensorData` with finite features, ``model`` lacks ``features``/``fc``, or a checkpoint in
        ``checkpoint_dir`` was written with another configuration.
    FloatingPointError
        If an epoch's training loss is not finite.
    """
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    _check_data(train, "train")
    if test is not None:
        _check_data(test, "test")
    if not (hasattr(model, "features") and hasattr(model, "fc")):
        raise ValueError("model must expose features(x) and a linear head fc")
    device = device or get_device()
    model.to(device)
    use_cl = config.channels_last and device.type == "cuda" and train.x.ndim == 4
    if use_cl:
        model.to(memory_format=torch.channels_last)
    amp = config.amp and device.type == "cuda"
    loss_fn = loss_fn or cross_entropy_loss(config.label_smoothing)
    hooks = list(hooks)

    if config.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay, nesterov=config.nesterov)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas,
                                weight_decay=config.weight_decay)

    n = len(train)
    bs = n if config.batch_size is None else min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = steps_per_epoch * config.epochs
    # a dry run (runtime.is_dry_run) keeps the configuration and schedule, and runs 2 epochs of 1 step of 4 samples
    epochs, run_steps, bs = dry_run_cap(config.epochs), dry_run_cap(steps_per_epoch, 1), dry_run_cap(bs, 4)
    # data resident on the device (the experiments' datasets fit; CIFAR is kept as uint8)
    train = train.to(device)
    xtr, ytr = train.x, train.y
    test = test.to(device) if test is not None else None
    if dry_run_cap(n, DRY_RUN_EVAL) < n:  # a dry run evaluates (and hooks see) the first few samples only
        train = TensorData(xtr[:DRY_RUN_EVAL], ytr[:DRY_RUN_EVAL])
        test = test if test is None else TensorData(test.x[:DRY_RUN_EVAL], test.y[:DRY_RUN_EVAL])

    ck = Checkpointer(checkpoint_dir, every=config.checkpoint_every)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    state = ck.load(map_location=device)
    if state is not None:
        if state.get("config") != config.as_dict():
            raise ValueError("checkpoint was written with a different TrainConfig; use a fresh run_dir")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history = state["history"]
        start_epoch = state["epoch"]

    def evaluate_now(epoch: int, step: int, lr: float, train_loss: float | None, train_acc: float | None):
        rec: dict[str, Any] = {"epoch": epoch, "step": step, "lr": lr,
                               "train_loss": train_loss, "train_acc": train_acc}
        train_feats = None
        if config.eval_train or train_loss is None:
            train_feats, lg = collect_outputs(model, train, config.eval_batch_size, eval_transform, device, amp,
                                              use_cl)
            rec["train_loss"] = float(F.cross_entropy(lg, train.y))
            rec["train_acc"] = _accuracy(lg, train.y)
        feats = logits_te = yte = None
        if test is not None:
            feats, logits_te = collect_outputs(model, test, config.eval_batch_size, eval_transform,
                                               device, amp, use_cl)
            yte = test.y
            rec["test_loss"] = float(F.cross_entropy(logits_te, yte))
            rec["test_acc"] = _accuracy(logits_te, yte)
        ctx = EpochContext(model, epoch, train, test, feats, logits_te, yte, rec, train_feats)
        model.eval()
        for hook in hooks:
            extra = hook(ctx)
            if extra:
                rec.update(extra)
        model.train()
        history.append(rec)

    if start_epoch == 0 and config.eval_at_start:
        evaluate_now(0, 0, lr_at(0, total_steps, config), None, None)

    bar = progress(range(start_epoch, epochs), desc=desc, initial=start_epoch,
                   total=epochs, disable=not show_progress)
    for epoch in bar:
        model.train()
        perm = epoch_permutation(n, epoch, config.data_seed).to(device)
        gen = _epoch_generator(epoch, config.data_seed)
        tot_loss = torch.zeros((), device=device)
        tot_correct = torch.zeros((), device=device)
        for b in range(run_steps):
            with training_step():  # checks for host syncs when a test arms runtime.forbid_host_sync
                step = epoch * steps_per_epoch + b
                lr = lr_at(step, total_steps, config)
                for group in opt.param_groups:
                    group["lr"] = lr
                idx = perm[b * bs:(b + 1) * bs]
                x, y = xtr[idx], ytr[idx]
                if train_transform is not None:
                    x = train_transform(x, gen)
                if use_cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    z = model.features(x)
                    logits = model.fc(z)
                loss = loss_fn(logits.float(), y, z.float(), model)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot_loss += loss.detach() * len(idx)
                tot_correct += (logits.detach().argmax(1) == y).sum()

        if not bool(torch.isfinite(tot_loss)):  # one host sync per epoch, not per step
            raise FloatingPointError(f"non-finite training loss in epoch {epoch + 1}")
        last = epoch + 1 == epochs
        seen = min(n, run_steps * bs)  # n, except in a dry run
        if (epoch + 1) % config.eval_every == 0 or last:
            evaluate_now(epoch + 1, (epoch + 1) * steps_per_epoch, lr, float(tot_loss) / seen,
                         float(tot_correct) / seen)
        if ck.path is not None:
            ck.maybe_save(epoch + 1, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                      "history": history, "epoch": epoch + 1, "config": config.as_dict()},
                          final=last)
    model.eval()
    return history


def history_columns(history: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Turn a list of records into ``{key: np.ndarray}`` (missing entries become NaN).

    Parameters
    ----------
    history : sequence of dict
        E.g. :func:`fit`'s result.

    Returns
    -------
    dict of numpy.ndarray
        One float array per key (in order of first appearance), one entry per record.

    Raises
    ------
    ValueError
        If ``history`` is empty.
    """
    if len(history) == 0:
        raise ValueError("history is empty")
    keys: list[str] = []
    for r in history:
        keys += [k for k in r if k not in keys]
    return {k: np.array([r.get(k, np.nan) for r in history], dtype=float) for k in keys}


# --------------------------------------------------------------------------- interpolation
def interpolate_state_dicts(sd_a: dict[str, torch.Tensor], sd_b: dict[str, torch.Tensor],
                            alpha: float) -> dict[str, torch.Tensor]:
    """Linear interpolation :math:`(1-\\alpha)\\,\\theta_A + \\alpha\\,\\theta_B` of two state dicts.

    Floating tensors (weights, BN running statistics) are interpolated; integer buffers
    (e.g. BN ``num_batches_tracked``) are taken from ``sd_a``. ``alpha`` outside [0, 1]
    extrapolates and is allowed.

    Parameters
    ----------
    sd_a, sd_b : dict of torch.Tensor
        State dicts :math:`\\theta_A`, :math:`\\theta_B` with the same keys and shapes.
    alpha : float
        :math:`\\alpha` (0 gives ``sd_a``, 1 gives ``sd_b``).

    Returns
    -------
    dict of torch.Tensor
        New tensors, on the device and dtype of ``sd_a``.

    Raises
    ------
    ValueError
        If the keys or shapes differ, or ``alpha`` is not finite.
    """
    alpha = float(alpha)
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha}")
    if set(sd_a) != set(sd_b):
        raise ValueError(f"state dicts have different keys: {sorted(set(sd_a) ^ set(sd_b))[:5]}")
    out = {}
    for k, a in sd_a.items():
        b = sd_b[k]
        if a.shape != b.shape:
            raise ValueError(f"shape mismatch for {k}: {tuple(a.shape)} vs {tuple(b.shape)}")
        out[k] = torch.lerp(a, b.to(a.device, a.dtype), alpha) if torch.is_floating_point(a) else a.clone()
    return out


@torch.no_grad()
def reset_bn_stats(model: nn.Module, data: TensorData, batch_size: int = 256,
                   transform: Callable | None = None, device: torch.device | None = None) -> nn.Module:
    """Recompute BatchNorm running statistics of ``model`` on ``data``.

    The statistics become the plain average of the per-batch statistics over one pass
    (PyTorch's cumulative moving average, ``momentum=None``); with equal batches the running
    mean is the exact data mean.

    Interpolated networks need this: the average of two networks' BN statistics is not
    the statistics of the averaged network. Models without BatchNorm are returned unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        Exposes ``features(x)``; modified in place.
    data : TensorData
        The data whose statistics are taken (training mode, no gradients).
    batch_size : int, default 256
    transform : callable, optional
        ``transform(x, None)`` applied to each batch.
    device : torch.device, optional
        Default: the device of the model's parameters.

    Returns
    -------
    torch.nn.Module
        ``model``: with BatchNorm, in eval mode with its momenta restored; without, untouched.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return model
    device = device or next(model.parameters()).device
    moms = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    n = dry_run_cap(len(data), DRY_RUN_EVAL)  # a dry run estimates the statistics on a few samples
    for i in range(0, n, batch_size):
        x = data.x[i:min(i + batch_size, n)].to(device)
        model.features(transform(x, None) if transform is not None else x)
    for m, mom in zip(bns, moms):
        m.momentum = mom
    model.eval()
    return model
