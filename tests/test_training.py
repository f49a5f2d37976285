"""Tests of mylib.nn: models, schedules, the training loop, exact checkpoint/resume."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mylib
from mylib.nn import training as T
from mylib.data import TensorData

CPU = torch.device("cpu")


def blobs(n_per_class=20, C=3, d=5, seed=0, sep=4.0):
    """Well separated Gaussian blobs (linearly separable with overwhelming probability)."""
    g = torch.Generator().manual_seed(seed)
    centres = sep * torch.randn(C, d, generator=g)
    y = torch.arange(C).repeat_interleave(n_per_class)
    x = centres[y] + 0.3 * torch.randn(len(y), d, generator=g)
    return TensorData(x.float(), y)


def fake_cifar(n=8, C=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return TensorData(x, torch.arange(n) % C)


# ----------------------------------------------------------------------------- models
@pytest.mark.parametrize("model,x", [
    (lambda: T.MLP(5, 3, width=7, depth=2), torch.randn(4, 5)),
    (lambda: T.SmallCNN(1, 10, width=4), torch.randn(4, 1, 8, 8)),
    (lambda: T.WideResNet(10, 1, 10), torch.randn(2, 3, 32, 32)),
    (lambda: T.ModularTransformer(7, 16, 4, 32), torch.tensor([[1, 2, 7], [3, 6, 7]])),
])
def test_forward_is_head_of_features(model, x):
    torch.manual_seed(0)
    m = model().eval()
    z = m.features(x)
    assert z.shape == (x.shape[0], m.feature_dim)
    torch.testing.assert_close(m(x), m.fc(z))
    assert m.fc.weight.shape[1] == m.feature_dim


def test_wrn_parameter_counts_match_the_papers():
    # WRN-28-2 on CIFAR-10 has 1.47 M parameters, WRN-28-8 on CIFAR-100 23.4 M (FixMatch/USB tables).
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(T.build_model("wrn-28-2", num_classes=10)) == 1_467_610
    assert abs(count(T.build_model("wrn-28-8", num_classes=100)) - 23.4e6) < 0.05e6


def test_model_validation():
    with pytest.raises(ValueError, match="6n \\+ 4"):
        T.WideResNet(depth=27)
    with pytest.raises(ValueError, match="unknown model"):
        T.build_model("resnet")
    with pytest.raises(ValueError, match="divisible"):
        T.ModularTransformer(7, d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="num_classes"):
        T.MLP(4, 1)
    with pytest.raises(ValueError, match="tokens"):
        T.ModularTransformer(7, 16, 4, 32).features(torch.zeros(3, 2, dtype=torch.long))


def test_transformer_last_position_equals_full_causal_computation():
    torch.manual_seed(1)
    m = T.ModularTransformer(11, 32, 4, 64)
    x = torch.randint(0, 11, (50, 3))
    x[:, 2] = 11
    full = m.features_all_positions(x)
    torch.testing.assert_close(m.features(x), full[:, -1], atol=1e-6, rtol=1e-5)
    # causality: position 0 does not see positions 1 and 2
    x2 = x.clone()
    x2[:, 1] = (x2[:, 1] + 1) % 11
    torch.testing.assert_close(m.features_all_positions(x2)[:, 0], full[:, 0])
    assert not torch.allclose(m.features_all_positions(x2)[:, 1], full[:, 1])


def test_head_rows():
    m = T.MLP(4, 3, width=5)
    y = torch.tensor([2, 0, 2])
    torch.testing.assert_close(T.head_rows(m, y), m.fc.weight[[2, 0, 2]])
    with pytest.raises(ValueError, match="head"):
        T.head_rows(torch.nn.Linear(2, 2), y)


# ----------------------------------------------------------------------------- config and schedules
@pytest.mark.parametrize("kwargs,match", [
    (dict(optimizer="adam"), "optimizer"), (dict(schedule="step"), "schedule"), (dict(lr=0.0), "lr"),
    (dict(lr=-1.0), "lr"), (dict(label_smoothing=1.0), "label_smoothing"), (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size"), (dict(weight_decay=float("nan")), "weight_decay"),
    (dict(eval_every=1.5), "eval_every"),
])
def test_train_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        T.TrainConfig(**kwargs)


def test_train_config_from_dict_ignores_other_keys():
    c = T.TrainConfig.from_dict({"epochs": 3, "model": "cnn", "runs": []})
    assert c.epochs == 3 and c.as_dict()["lr"] == 0.03


def test_lr_schedules():
    c = T.TrainConfig(lr=0.1, schedule="cosine")
    assert T.lr_at(0, 100, c) == pytest.approx(0.1)
    assert T.lr_at(50, 100, c) == pytest.approx(0.05)
    assert T.lr_at(100, 100, c) == pytest.approx(0.0, abs=1e-15)
    w = T.TrainConfig(lr=0.1, schedule="constant", warmup_steps=4)
    assert [T.lr_at(s, 100, w) for s in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])


def test_epoch_permutation_is_seeded_permutation():
    p = T.epoch_permutation(50, 3, 7)
    assert sorted(p.tolist()) == list(range(50))
    assert torch.equal(p, T.epoch_permutation(50, 3, 7))
    assert not torch.equal(p, T.epoch_permutation(50, 4, 7))
    assert not torch.equal(p, T.epoch_permutation(50, 3, 8))


def test_cross_entropy_label_smoothing_closed_form():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    y = torch.tensor([0])
    logp = F.log_softmax(logits, 1)[0]
    for eps in (0.0, 0.1, 0.3):
        q = torch.full((3,), eps / 3)
        q[0] += 1 - eps
        assert float(T.cross_entropy_loss(eps)(logits, y)) == pytest.approx(float(-(q * logp).sum()), rel=1e-6)
    # uniform logits: loss log C for every eps
    assert float(T.cross_entropy_loss(0.2)(torch.zeros(4, 5), torch.arange(4))) == pytest.approx(math.log(5))
    with pytest.raises(ValueError):
        T.cross_entropy_loss(1.2)


# ----------------------------------------------------------------------------- transforms
def test_cifar_transform_normalises_and_crops_consistently():
    data = fake_cifar(6)
    plain = T.cifar_transform(augment=False)(data.x)
    mean = torch.tensor(mylib.nn.CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(mylib.nn.CIFAR10_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, (data.x.float() / 255 - mean) / std)
    aug = T.cifar_transform(augment=True)
    a = aug(data.x, torch.Generator().manual_seed(3))
    b = aug(data.x, torch.Generator().manual_seed(3))
    assert a.shape == data.x.shape and torch.equal(a, b)
    # each augmented image is a (possibly flipped) 32x32 window of the reflect-padded image
    padded = F.pad(data.x.float() / 255, (4, 4, 4, 4), mode="reflect")
    target = (a * std + mean)
    for i in range(len(data)):
        found = False
        for dy in range(9):
            for dx in range(9):
                win = padded[i, :, dy:dy + 32, dx:dx + 32]
                if torch.allclose(win, target[i], atol=1e-5) or torch.allclose(win.flip(-1), target[i], atol=1e-5):
                    found = True
        assert found


# ----------------------------------------------------------------------------- training loop
def test_fit_learns_separable_data_and_records_history():
    torch.manual_seed(0)
    data = blobs()
    m = T.MLP(5, 3, width=16)
    seen = []
    hist = T.fit(m, data, data, T.TrainConfig(epochs=15, batch_size=16, lr=0.05, eval_at_start=True,
                                              eval_every=5),
                 hooks=[lambda ctx: seen.append(ctx.epoch) or {"n_feat": ctx.test_features.shape[0]}],
                 device=CPU, show_progress=False)
    assert [r["epoch"] for r in hist] == [0, 5, 10, 15] == seen
    assert hist[0]["test_acc"] < 0.9 and hist[-1]["test_acc"] == 1.0
    assert hist[-1]["test_loss"] < hist[0]["test_loss"]
    assert all(r["n_feat"] == len(data) for r in hist)
    cols = T.history_columns(hist)
    assert cols["epoch"].tolist() == [0, 5, 10, 15]
    ev = T.evaluate(m, data)
    assert ev["acc"] == hist[-1]["test_acc"] and ev["loss"] == pytest.approx(hist[-1]["test_loss"])


def test_fit_validates_inputs():
    data = blobs()
    m = T.MLP(5, 3)
    with pytest.raises(ValueError, match="TensorData"):
        T.fit(m, (data.x, data.y), device=CPU, show_progress=False)
    with pytest.raises(ValueError, match="features"):
        T.fit(torch.nn.Linear(5, 3), data, device=CPU, show_progress=False)
    bad = TensorData(data.x.clone(), data.y)
    bad.x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        T.fit(m, bad, device=CPU, show_progress=False)
    with pytest.raises(ValueError, match="TrainConfig"):
        T.fit(m, data, config={"epochs": 1}, device=CPU, show_progress=False)
    with pytest.raises(ValueError, match="empty"):
        T.history_columns([])


def _run(make, data, cfg, ckdir=None, stop_at=None, seed=0, **kw):
    torch.manual_seed(seed)
    model = make()

    def killer(ctx):
        if stop_at is not None and ctx.epoch == stop_at:
            raise T.TrainingInterrupted(f"simulated kill in epoch {stop_at}")
        return {"w_norm": float(sum(p.detach().norm() ** 2 for p in ctx.model.parameters()))}

    hist = T.fit(model, data, data, cfg, hooks=[killer], checkpoint_dir=ckdir, device=CPU,
                 show_progress=False, **kw)
    return model, hist


@pytest.mark.parametrize("case", ["cnn-sgd", "transformer-adamw", "wrn-dropout-augment"])
def test_checkpoint_resume_is_exact(tmp_path, case):
    if case == "cnn-sgd":
        data = TensorData(torch.randn(40, 1, 8, 8), torch.arange(40) % 4)
        make = lambda: T.SmallCNN(1, 4, width=4)
        cfg = T.TrainConfig(epochs=5, batch_size=8, lr=0.05, eval_at_start=True)
        kw = {}
    elif case == "transformer-adamw":
        tr, _ = mylib.data.modular_addition_split(7, 0.6, seed=0)
        data = tr
        make = lambda: T.ModularTransformer(7, 16, 4, 32)
        cfg = T.TrainConfig(epochs=5, batch_size=None, optimizer="adamw", lr=1e-2, weight_decay=1.0,
                            schedule="constant", warmup_steps=2)
        kw = {}
    else:
        data = fake_cifar(8)
        make = lambda: T.WideResNet(10, 1, 10, dropout=0.3)
        cfg = T.TrainConfig(epochs=4, batch_size=4, lr=0.05, amp=True, channels_last=True)
        kw = dict(train_transform=T.cifar_transform(True), eval_transform=T.cifar_transform(False))
    ref_model, ref_hist = _run(make, data, cfg, **kw)
    # killed in epoch 3 (after its training, before its checkpoint): the file holds epoch 2
    with pytest.raises(T.TrainingInterrupted):
        _run(make, data, cfg, ckdir=tmp_path, stop_at=3, **kw)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2
    # the rerun starts from a different initialisation and RNG state: everything must come from the file
    torch.manual_seed(123)
    model, hist = _run(make, data, cfg, ckdir=tmp_path, seed=99, **kw)
    assert hist == ref_hist
    for (k, a), (_, b) in zip(ref_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), k
    # a finished run resumes to the same end without training
    model2, hist2 = _run(make, data, cfg, ckdir=tmp_path, seed=5, **kw)
    assert hist2 == ref_hist


def test_checkpoint_with_other_config_is_refused(tmp_path):
    data = blobs()
    T.fit(T.MLP(5, 3), data, None, T.TrainConfig(epochs=1), checkpoint_dir=tmp_path, device=CPU,
          show_progress=False)
    with pytest.raises(ValueError, match="different TrainConfig"):
        T.fit(T.MLP(5, 3), data, None, T.TrainConfig(epochs=2), checkpoint_dir=tmp_path, device=CPU,
              show_progress=False)


def test_full_profile_model_takes_one_step_with_gpu_options():
    """WRN-28-2 on CIFAR-shaped uint8 data, with bf16/channels-last flags (no-ops on the CPU)."""
    torch.manual_seed(0)
    data = fake_cifar(4)
    m = T.build_model("wrn-28-2", num_classes=10)
    before = m.fc.weight.detach().clone()
    cfg = T.TrainConfig(epochs=1, batch_size=4, lr=0.03, momentum=0.9, weight_decay=5e-4, amp=True,
                        channels_last=True)
    hist = T.fit(m, data, data, cfg, device=CPU, train_transform=T.cifar_transform(True),
                 eval_transform=T.cifar_transform(False), show_progress=False)
    assert len(hist) == 1 and np.isfinite(hist[0]["test_loss"])
    assert not torch.equal(before, m.fc.weight)


# ----------------------------------------------------------------------------- interpolation and BN
def test_interpolate_state_dicts():
    a, b = T.SmallCNN(1, 3, 4).state_dict(), T.SmallCNN(1, 3, 4).state_dict()
    b = {k: (v + 1 if v.is_floating_point() else v + 5) for k, v in b.items()}
    for alpha in (0.0, 0.25, 1.0, 1.5):
        mid = T.interpolate_state_dicts(a, b, alpha)
        for k in a:
            if a[k].is_floating_point():
                torch.testing.assert_close(mid[k], (1 - alpha) * a[k] + alpha * b[k])
            else:
                assert torch.equal(mid[k], a[k])
    with pytest.raises(ValueError, match="keys"):
        T.interpolate_state_dicts(a, {k: v for k, v in list(b.items())[1:]}, 0.5)
    with pytest.raises(ValueError, match="finite"):
        T.interpolate_state_dicts(a, b, float("nan"))
    c = dict(b)
    c["fc.weight"] = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="shape"):
        T.interpolate_state_dicts(a, c, 0.5)


def test_reset_bn_stats_recomputes_exact_means():
    torch.manual_seed(0)
    m = T.SmallCNN(1, 3, 4)
    data = TensorData(torch.randn(30, 1, 8, 8), torch.arange(30) % 3)
    m.body[1].running_mean.fill_(123.0)
    T.reset_bn_stats(m, data, batch_size=10)  # 3 equal batches: the average of batch means is the mean
    with torch.no_grad():
        pre = m.body[0](data.x)
    torch.testing.assert_close(m.body[1].running_mean, pre.mean((0, 2, 3)), atol=1e-5, rtol=1e-5)
    assert not m.training and m.body[1].momentum == 0.1
    mlp = T.MLP(4, 3)
    assert T.reset_bn_stats(mlp, TensorData(torch.randn(5, 4), torch.zeros(5).long())) is mlp
