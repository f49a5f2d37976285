"""Tests of Part II's training side: Co2L's exact objective, the continual trainer, the linear probe and the
encoders (mylib.contrastive.co2l, mylib.contrastive.continual, mylib.nn)."""
import math

import numpy as np
import pytest
import torch

import mylib
from mylib.contrastive import co2l
from mylib.contrastive import losses as cc
from mylib.nn import augment as na


# --------------------------------------------------------------------------- Co2L's objective
def _unit(rng, n, d):
    z = rng.normal(size=(n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _co2l_reference(z, labels, anchors, zt, w, tau=0.5, tau_b=0.07, ks=0.2, kt=0.01):
    """Co2L's objective by explicit loops over rows, from the formulas of the issue:
    (tau / tau_b) * (1 / M) * sum_{i in A} l_i  +  w * (1 / M) * sum_i CE_i."""
    M = len(z)
    con = 0.0
    for i in range(M):
        if not anchors[i]:
            continue
        others = [k for k in range(M) if k != i]
        log_den = math.log(sum(math.exp(z[i] @ z[k] / tau) for k in others))
        pos = [p for p in others if labels[p] == labels[i]]
        if pos:
            con += -sum(z[i] @ z[p] / tau - log_den for p in pos) / len(pos)
    total = (tau / tau_b) * con / M
    if zt is not None:
        dis = 0.0
        for i in range(M):
            others = [k for k in range(M) if k != i]
            s_t = np.array([zt[i] @ zt[k] / kt for k in others])
            pi = np.exp(s_t - s_t.max())
            pi /= pi.sum()
            s_s = np.array([z[i] @ z[k] / ks for k in others])
            logq = s_s - s_s.max() - math.log(np.exp(s_s - s_s.max()).sum())
            dis += -(pi * logq).sum()
        total += w * dis / M
    return total


def _co2l_code_layout(f_views, labels_n, current_classes, f_teacher, w, tau=0.5, tau_b=0.07, ks=0.2, kt=0.01):
    """The same objective organised as Co2L's code organises it: features (N, 2, d) unbound view by view into
    2N rows, a label-equality mask tiled 2x2 with the diagonal removed, every row an anchor, its loss scaled by
    tau / tau_b, multiplied by a current-class indicator and averaged over all 2N rows; the distillation is the
    cross-entropy of the teacher's softmax at kt against the student's at ks over the off-diagonal entries of
    each row, averaged over all 2N rows."""
    N = f_views.shape[0]
    F_ = np.concatenate([f_views[:, 0], f_views[:, 1]])
    S = F_ @ F_.T / tau
    S = S - S.max(1, keepdims=True)
    off = 1 - np.eye(2 * N)
    mask = np.tile((labels_n[:, None] == labels_n[None, :]).astype(float), (2, 2)) * off
    log_prob = S - np.log((np.exp(S) * off).sum(1, keepdims=True))
    per_row = -(tau / tau_b) * (mask * log_prob).sum(1) / mask.sum(1)
    cur = np.isin(labels_n, current_classes).astype(float)
    loss = (per_row.reshape(2, N) * cur).mean()
    if f_teacher is not None:
        T_ = np.concatenate([f_teacher[:, 0], f_teacher[:, 1]])
        def soft(A, temp):
            L = A @ A.T / temp
            L = L - (L * off).max(1, keepdims=True)
            E = np.exp(L)[off.astype(bool)].reshape(2 * N, -1)
            return E / E.sum(1, keepdims=True)
        loss += w * (-soft(T_, kt) * np.log(soft(F_, ks))).sum(1).mean()
    return loss


@pytest.mark.parametrize("n,buffer_frac,seed", [(8, 0.25, 0), (20, 1 / 3, 1), (33, 0.5, 2), (50, 0.0, 3)])
def test_co2l_loss_matches_formula_and_code_layout(n, buffer_frac, seed):
    rng = np.random.default_rng(seed)
    d = 6
    n_buf = int(round(buffer_frac * n))
    cur = [4, 5]
    lab_n = np.r_[rng.choice(cur, n - n_buf), rng.integers(0, 4, n_buf)]
    views = np.stack([_unit(rng, n, d), _unit(rng, n, d)], axis=1)  # (N, 2, d)
    t_views = np.stack([_unit(rng, n, d), _unit(rng, n, d)], axis=1)
    z = np.concatenate([views[:, 0], views[:, 1]])
    zt = np.concatenate([t_views[:, 0], t_views[:, 1]])
    lab = np.r_[lab_n, lab_n]
    anchors = np.isin(lab, cur)
    for w, teacher in ((0.0, None), (1.0, zt), (0.3, zt)):
        got = mylib.co2l_loss(z, lab, anchors, z_teacher=teacher, distill_weight=w)
        ref = _co2l_reference(z, lab, anchors, teacher, w)
        code = _co2l_code_layout(views, lab_n, cur, None if teacher is None else t_views, w)
        assert got == pytest.approx(ref, rel=1e-12, abs=1e-12)
        assert got == pytest.approx(code, rel=1e-10, abs=1e-12)
    # torch input: the same value, autograd intact, float32 within float32 precision
    zt_t = torch.tensor(z, requires_grad=True)
    out = mylib.co2l_loss(zt_t, torch.as_tensor(lab), torch.as_tensor(anchors), z_teacher=torch.tensor(zt))
    out.backward()
    assert float(out.detach()) == pytest.approx(_co2l_reference(z, lab, anchors, zt, 1.0), rel=1e-12)
    assert torch.isfinite(zt_t.grad).all() and zt_t.grad.abs().sum() > 0


def test_co2l_loss_relation_to_theory_loss():
    """(tau / tau_b) * (|A| / M) * asym_supcon_loss = Co2L's contrastive term (every anchor has a positive); a
    mutation that drops the scale, or averages over anchors instead of all rows, is detected."""
    rng = np.random.default_rng(5)
    z = _unit(rng, 24, 5)
    lab = np.r_[np.arange(12) % 4, np.arange(12) % 4]
    anchors = lab >= 2
    theory = cc.asym_supcon_loss(z, lab, anchors, temperature=0.5)
    got = mylib.co2l_loss(z, lab, anchors)
    assert got == pytest.approx(0.5 / 0.07 * anchors.sum() / 24 * theory, rel=1e-12)
    assert abs(got - theory) > 0.1 and abs(got - 0.5 / 0.07 * theory) > 0.1
    # no anchor: zero contrastive term; teacher equal to the student at kt = ks: distillation = entropy
    assert mylib.co2l_loss(z, lab, np.zeros(24, bool)) == 0.0
    ent = cc.distillation_per_anchor(z, z, 0.2, 0.2).mean()
    assert mylib.co2l_loss(z, lab, np.zeros(24, bool), z, 2.0, teacher_temperature=0.2) == pytest.approx(2 * ent)


@pytest.mark.parametrize("kw,err", [
    (dict(distill_weight=-1.0), ValueError), (dict(distill_weight="1"), TypeError), (dict(temperature=0.0), ValueError),
    (dict(base_temperature=True), TypeError), (dict(student_temperature=-0.2), ValueError),
    (dict(teacher_temperature=float("nan")), ValueError), (dict(distill_weight=float("inf")), ValueError)])
def test_co2l_loss_rejects_bad_arguments(kw, err):
    rng = np.random.default_rng(0)
    z = _unit(rng, 6, 3)
    with pytest.raises(err):
        mylib.co2l_loss(z, [0, 0, 1, 1, 2, 2], [True] * 6, z, **kw)


def test_co2l_loss_rejects_bad_shapes():
    rng = np.random.default_rng(0)
    z = _unit(rng, 6, 3)
    with pytest.raises(ValueError, match="labels"):
        mylib.co2l_loss(z, [0, 1], [True] * 6)
    with pytest.raises(ValueError, match="anchor_mask"):
        mylib.co2l_loss(z, [0] * 6, [True] * 5)
    with pytest.raises(ValueError, match="same number of rows"):
        mylib.co2l_loss(z, [0] * 6, [True] * 6, z[:4])
    with pytest.raises(ValueError, match="NaN|inf|finite"):
        mylib.co2l_loss(np.full((6, 3), np.nan), [0] * 6, [True] * 6)


# --------------------------------------------------------------------------- trainer, probe, encoders
from mylib.contrastive import continual as ct  # noqa: E402
from mylib.data import TensorData  # noqa: E402

CPU = torch.device("cpu")


def _tiny_data(n_per=24, d=16, classes=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(classes, d, generator=g)
    y = torch.arange(classes).repeat_interleave(n_per)
    x = centers[y] + torch.randn(len(y), d, generator=g)
    return TensorData(x.view(-1, 1, 4, 4).float(), y)


def _tiny_config(**kw):
    base = dict(tasks=[[0, 1], [2, 3], [4, 5]], method="co2l", buffer_size=8, epochs=2, first_epochs=2,
                batch_size=16, lr=0.05, probe_per_class=4, pool_eval_size=32, seed=0)
    base.update(kw)
    return ct.ContinualConfig(**base)


def _tiny_model():
    torch.manual_seed(0)
    return mylib.nn.build_model("contrastive-mlp", proj_dim=8, in_dim=16, hidden=16, feat_dim=8)


def test_run_continual_logs_and_bound():
    data = _tiny_data()
    cfg = _tiny_config(method="cila", cila_kappa=5.0)
    res = ct.run_continual(_tiny_model(), data, cfg, na.Augment(noise_std=0.1), device=CPU)
    assert len(res.probe_embeddings) == 3 and res.dis_avg[0] == 0.0
    assert np.all(res.con_avg > 0) and np.all(res.dis_avg[1:] > 0)
    np.testing.assert_allclose(res.lambdas, cc.cila_lambdas(res.con_avg, res.dis_avg, 5.0))
    assert len(res.descent) == 2 and all("drift" in d for d in res.descent)
    assert len(res.phi_train) == 3 and np.all(res.phi_train > 0)
    assert [len(b) for b in res.train_buffers] == [0, 8, 8] and len(res.buffer_indices) == 8
    ev = ct.evaluate_run(res, data, data, cfg, na.Augment(noise_std=0.1), device=CPU, probe_epochs=20)
    assert ev["bound"]["holds"] and ev["bound"]["lemma_holds"]
    assert 0 <= ev["class_il"] <= ev["task_il"] <= 100


def test_trainer_minimises_co2l_loss_exactly(monkeypatch):
    """The step's loss is co2l_loss on the two views (anchors: current task) with the run's lambda."""
    seen = []
    orig = ct.co2l_terms

    def spy(z, y, anchors, zt, *args):
        con, dis = orig(z, y, anchors, zt, *args)
        ref = mylib.co2l_loss(z.detach(), y, anchors, None if zt is None else zt, 1.0)
        seen.append((float(con.detach() + (0 if zt is None else dis.detach())), float(ref),
                     bool(anchors.all()), zt is not None))
        return con, dis

    monkeypatch.setattr(ct, "co2l_terms", spy)
    ct.run_continual(_tiny_model(), _tiny_data(), _tiny_config(epochs=1, first_epochs=1), na.Augment(), device=CPU)
    assert len(seen) > 10
    for got, ref, _, _ in seen:
        assert got == pytest.approx(ref, rel=1e-5)
    assert any(not all_anchor for _, _, all_anchor, teacher in seen if teacher)  # buffer rows are not anchors


def test_training_step_has_no_host_sync(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("host synchronisation inside the training step")

    orig = ct.train_step
    calls = []

    def guarded(*args, **kwargs):
        with monkeypatch.context() as m:
            for name in ("item", "__float__", "__int__", "__bool__", "tolist", "cpu", "numpy"):
                m.setattr(torch.Tensor, name, boom)
            out = orig(*args, **kwargs)
        calls.append(1)
        return out

    monkeypatch.setattr(ct, "train_step", guarded)
    for aug in (na.Augment(noise_std=0.1, crop_padding=1), ct.image_augment()):
        data = _tiny_data() if aug.mean is None else TensorData(
            (torch.rand(72, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8),
            torch.arange(6).repeat_interleave(12))
        ct.run_continual(_tiny_model() if aug.mean is None else mylib.nn.build_model(
            "contrastive-resnet18", proj_dim=4, width=2), data, _tiny_config(epochs=1, first_epochs=1), aug,
            device=CPU)
    assert len(calls) > 10
    # the guard can fail: a step that syncs is caught
    with monkeypatch.context() as m:
        m.setattr(torch.Tensor, "item", boom)
        with pytest.raises(AssertionError, match="host synchronisation"):
            torch.ones(()).item()


def test_teacher_batchnorm_mode():
    """Co2L's teacher (train mode) normalises with the batch: at the first step of task 2 the student's and
    the teacher's embeddings agree exactly; an eval-mode teacher differs from the student."""
    model = mylib.nn.build_model("contrastive-resnet18", proj_dim=4, width=2)
    x = torch.rand(16, 3, 8, 8)
    model.train()
    model(x)  # move the running statistics away from their initial values
    for mode, equal in (("train", True), ("eval", False)):
        teacher = __import__("copy").deepcopy(model)
        teacher.train(mode == "train")
        with torch.no_grad():
            same = torch.equal(model(x), teacher(x))
        assert same is equal
    with pytest.raises(ValueError, match="teacher_bn"):
        _tiny_config(teacher_bn="frozen")


def test_run_continual_resume_is_exact(tmp_path):
    data = _tiny_data()
    cfg = _tiny_config()
    aug = na.Augment(noise_std=0.1)
    ref = ct.run_continual(_tiny_model(), data, cfg, aug, device=CPU)
    for stop in (1, 2, 3):
        d = tmp_path / f"run{stop}"
        with pytest.raises(ct.TrainingInterrupted):
            ct.run_continual(_tiny_model(), data, cfg, aug, device=CPU, checkpoint_dir=d,
                             interrupt_after_epochs=stop)
        res = ct.run_continual(_tiny_model(), data, cfg, aug, device=CPU, checkpoint_dir=d)
        np.testing.assert_array_equal(res.con_avg, ref.con_avg)
        np.testing.assert_array_equal(res.dis_avg, ref.dis_avg)
        for a, b in zip(res.probe_embeddings, ref.probe_embeddings):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="different ContinualConfig"):
        ct.run_continual(_tiny_model(), data, _tiny_config(lr=0.01), aug, device=CPU, checkpoint_dir=tmp_path / "run1")


def test_task_cache_shares_prefixes_exactly():
    """Co2L and CILA share tasks 1-2, the no-distillation run task 1; restored prefixes give the same runs."""
    data = _tiny_data()
    aug = na.Augment(noise_std=0.1)
    cache = ct.TaskCache()
    cfgs = [_tiny_config(method="co2l"), _tiny_config(method="cila", cila_kappa=100.0), _tiny_config(method="replay")]
    shared = [ct.run_continual(_tiny_model(), data, c, aug, device=CPU, cache=cache) for c in cfgs]
    assert shared[1].lambdas[2] > 1  # CILA's third task differs from Co2L's
    assert cache.hits == 3  # CILA: tasks 1 and 2; replay: task 1
    for c, r in zip(cfgs, shared):
        alone = ct.run_continual(_tiny_model(), data, c, aug, device=CPU)
        np.testing.assert_array_equal(r.con_avg, alone.con_avg)
        np.testing.assert_array_equal(r.lambdas, alone.lambdas)
        for a, b in zip(r.probe_embeddings, alone.probe_embeddings):
            np.testing.assert_array_equal(a, b)
    # a different first task (another seed or length) is not shared
    ct.run_continual(_tiny_model(), data, _tiny_config(first_epochs=1), aug, device=CPU, cache=cache)
    assert cache.hits == 3


def test_seed_streams_are_distinct_over_full_ranges():
    """The collision of issue 10 (task 0, epoch 98 + e = probe epoch e) cannot happen: every stream of the
    trainer and the probe over the full profile's ranges has its own seed."""
    from mylib import seeds
    seen = set()
    for s in range(3):
        for t in range(10):
            for e in range(500 if t == 0 else 100):
                seen.add(seeds.derive_seed("continual-epoch", s, t, e))
            seen.add(seeds.derive_seed("buffer", s, t))
            seen.add(seeds.derive_seed("pool-eval", s, t))
        for e in range(100):
            seen.add(seeds.derive_seed("probe-epoch", s, e))
        seen.add(seeds.derive_seed("probe-init", s))
    assert len(seen) == 3 * (500 + 9 * 100 + 20 + 101)


def test_method_lambdas_and_config_errors():
    data = _tiny_data()
    aug = na.Augment()
    r = ct.run_continual(_tiny_model(), data, _tiny_config(method="replay", epochs=1, first_epochs=1), aug, device=CPU)
    assert r.lambdas.tolist() == [0.0, 0.0, 0.0]
    r = ct.run_continual(_tiny_model(), data, _tiny_config(epochs=1, first_epochs=1, lam=0.5), aug, device=CPU)
    assert r.lambdas.tolist() == [0.0, 0.5, 0.5]
    r = ct.run_continual(_tiny_model(), data, _tiny_config(method="replay", buffer_size=0, epochs=1, first_epochs=1),
                         aug, device=CPU)
    assert [len(b) for b in r.train_buffers] == [0, 0, 0]  # fine-tuning without a buffer
    with pytest.raises(ValueError, match="unknown method"):
        _tiny_config(method="lwf")
    with pytest.raises(ValueError, match="more than one task"):
        _tiny_config(tasks=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="no training sample"):
        ct.run_continual(_tiny_model(), data, _tiny_config(tasks=[[0, 1], [6, 7]]), aug, device=CPU)
    with pytest.raises(ValueError, match="ContrastiveNet"):
        ct.run_continual(torch.nn.Linear(2, 2), data, _tiny_config(), aug)


def test_full_profile_path_resnet_one_epoch():
    """The Seq-CIFAR-10 code path (ResNet-18, Co2L views, CILA) on tiny synthetic uint8 images."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(4).repeat_interleave(6)
    x = (torch.rand(len(y), 3, 8, 8, generator=g) * 255).to(torch.uint8)
    data = TensorData(x, y)
    cfg = ct.ContinualConfig(tasks=[[0, 1], [2, 3]], method="cila", cila_kappa=4.0, buffer_size=4, epochs=1,
                             first_epochs=1, batch_size=8, lr=0.05, warmup_epochs=1, probe_per_class=3,
                             pool_eval_size=16)
    torch.manual_seed(0)
    model = mylib.nn.build_model("contrastive-resnet18", proj_dim=8, width=2, in_channels=3)
    res = ct.run_continual(model, data, cfg, ct.image_augment(), device=CPU)
    ev = ct.evaluate_run(res, data, data, cfg, ct.image_augment(), device=CPU, probe_epochs=2, probe_augment=True)
    assert ev["bound"]["holds"] and 0 <= ev["class_il"] <= 100
    big = mylib.nn.build_model("contrastive-resnet18", proj_dim=128, width=64)
    assert big.feature_dim == 512
    out = big(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 128) and torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    for name in ("part2_seq_digits", "part2_seq_cifar10", "part2_seq_tinyimagenet", "part2_rotated_digits"):
        assert set(vars(mylib.get_config(name, "smoke"))) == set(vars(mylib.get_config(name, "full")))
    tiny = mylib.get_config("part2_seq_tinyimagenet", "full")
    assert len(cc.task_classes(tiny.num_classes, tiny.classes_per_task)) == 10 and tiny.image_size == 64
    assert ct.image_augment(min_crop=0.1).resized_crop == (0.1, 1.0)
    with pytest.raises(ValueError, match="min_crop"):
        ct.image_augment(min_crop=0.0)


def test_resnet_kaiming_init():
    torch.manual_seed(0)
    k = mylib.nn.ResNet18(width=16, init="kaiming")
    torch.manual_seed(0)
    d = mylib.nn.ResNet18(width=16, init="torch")
    conv_k, conv_d = k.layers[2].conv1.weight, d.layers[2].conv1.weight  # 16 -> 16 channels, 3x3
    fan_out = conv_k.shape[0] * 9
    assert conv_k.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.1)
    assert abs(conv_d.std().item() - math.sqrt(2 / fan_out)) > 0.2 * math.sqrt(2 / fan_out)
    with pytest.raises(ValueError, match="init"):
        mylib.nn.ResNet18(init="xavier")


def test_linear_probe_on_separable_features():
    class Ident(torch.nn.Module):
        feature_dim = 16

        def forward(self, x):
            return x.flatten(1)

    data = _tiny_data(n_per=30)
    model = mylib.nn.ContrastiveNet(Ident(), proj_dim=4)
    tasks = [[0, 1], [2, 3], [4, 5]]
    for schedule, balance in (("step", "sampler"), ("cosine", "loss")):
        acc = mylib.nn.linear_probe(model, data, data, tasks, np.arange(len(data)), na.Augment(), device=CPU,
                                    epochs=100, lr=0.1, batch_size=512, schedule=schedule, balance=balance)
        assert acc["class_il"] > 95 and acc["task_il"] >= acc["class_il"]
    part = mylib.nn.linear_probe(model, data, data, tasks, np.arange(len(data)), na.Augment(), device=CPU,
                                 epochs=20, test_tasks=[0, 1])
    assert len(part["class_il_per_task"]) == 2
    with pytest.raises(ValueError):
        mylib.nn.linear_probe(model, data, data, tasks, [], na.Augment())
    with pytest.raises(ValueError, match="schedule"):
        mylib.nn.linear_probe(model, data, data, tasks, [0, 1], na.Augment(), schedule="poly")


def test_probe_lr_schedule_is_co2ls():
    lrs = [mylib.nn.probe_lr(e, 0, 1, 100, 1.0, "step") for e in range(100)]
    assert lrs[59] == 1.0 and lrs[60] == pytest.approx(0.2) and lrs[75] == pytest.approx(0.04)
    assert lrs[89] == pytest.approx(0.04) and lrs[90] == pytest.approx(0.008) and lrs[99] == pytest.approx(0.008)


def test_probe_sampler_is_class_balanced():
    """The sampler draws classes equally often whatever their sizes (the buffer's few old samples included)."""
    p = torch.tensor([1 / 90] * 90 + [1 / 10] * 10, dtype=torch.float64)
    draws = torch.multinomial(p, 20000, replacement=True, generator=torch.Generator().manual_seed(0))
    frac_small = (draws >= 90).double().mean().item()
    assert abs(frac_small - 0.5) < 0.02


def test_forgetting_and_backward_transfer():
    A = np.array([[90.0, np.nan, np.nan], [70.0, 80.0, np.nan], [60.0, 85.0, 75.0]])
    # forgetting: task 1: max(90, 70) - 60 = 30; task 2: 80 - 85 = -5  -> 12.5
    assert ct.forgetting(A) == pytest.approx(12.5)
    # BWT: (60 - 90 + 85 - 80) / 2 = -12.5
    assert ct.backward_transfer(A) == pytest.approx(-12.5)
    B = A.copy()
    B[1, 0] = 95.0  # forgetting uses the best earlier accuracy, BWT only the diagonal
    assert ct.forgetting(B) == pytest.approx(15.0) and ct.backward_transfer(B) == ct.backward_transfer(A)
    with pytest.raises(ValueError):
        ct.forgetting(np.ones((2, 3)))
    with pytest.raises(ValueError):
        ct.backward_transfer([[1.0]])
    bad = A.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ct.forgetting(bad)


def test_per_task_probe_accuracy_matrix():
    data = _tiny_data()
    cfg = _tiny_config(epochs=1, first_epochs=1)
    recs = ct.run_grid(data, data, _tiny_model, cfg, {"Co2L": {}}, [0], na.Augment(noise_std=0.1), device=CPU,
                       probe_epochs=10, per_task_probe=True)
    A = recs[0]["acc_matrix"]
    assert A.shape == (3, 3) and np.isnan(A[0, 1]) and np.all(np.isfinite(A[np.tril_indices(3)]))
    assert recs[0]["forgetting"] == ct.forgetting(A)
    assert recs[0]["class_il_per_task"] == A[2].tolist()


def test_standin_data_and_probe_indices():
    tr, te = ct.digits_rgb_standin(12)
    assert tr.x.dtype == torch.uint8 and tr.x.shape[1:] == (3, 12, 12) and len(tr) + len(te) == 1797
    idx = ct.probe_indices(tr.y, 5, seed=0)
    assert len(idx) == 50 and np.all(np.bincount(tr.y[idx].numpy()) == 5)
    assert np.array_equal(idx, ct.probe_indices(tr.y, 5, seed=0))
    with pytest.raises(ValueError):
        ct.probe_indices(tr.y, 10_000)


def test_crop_flip_exact_and_modes():
    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.float32).view(2, 1, 3, 3)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(mylib.nn.crop_flip(x, 0, 0.0, g), x)
    assert torch.equal(mylib.nn.crop_flip(x, 0, 1.0, g), x.flip(-1))
    out = {m: mylib.nn.crop_flip(x, 1, 0.0, torch.Generator().manual_seed(3), padding_mode=m)
           for m in ("constant", "reflect")}
    assert not torch.equal(out["constant"], out["reflect"]) or torch.equal(out["reflect"], x)
    assert (out["constant"] == 0).any() or torch.equal(out["constant"], x)
    with pytest.raises(ValueError, match="padding_mode"):
        mylib.nn.crop_flip(x, 1, 0.5, g, padding_mode="wrap")


# --------------------------------------------------------------------------- benchmark loaders
def test_tiny_imagenet_loader_on_generated_files(tmp_path):
    from PIL import Image
    base = tmp_path / "tiny-imagenet-200"
    wnids = ["n001", "n002", "n003"]
    (base).mkdir()
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    rng = np.random.default_rng(0)
    pix = {}
    for i, w in enumerate(wnids):
        d = base / "train" / w / "images"
        d.mkdir(parents=True)
        for j in range(2):
            a = np.full((64, 64, 3), 40 * i + j, dtype=np.uint8)
            Image.fromarray(a).save(d / f"{w}_{j}.JPEG", format="PNG")  # lossless content, JPEG name
            pix[(w, j)] = a
    (base / "val" / "images").mkdir(parents=True)
    lines = []
    for k, w in enumerate(["n003", "n001"]):
        Image.fromarray(np.full((64, 64, 3), 7 * k, dtype=np.uint8)).save(base / "val" / "images" / f"val_{k}.JPEG",
                                                                          format="PNG")
        lines.append(f"val_{k}.JPEG\t{w}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines))
    tr, va, names = mylib.data.load_tiny_imagenet_tensors(tmp_path)
    assert names == wnids and tr.x.shape == (6, 3, 64, 64) and tr.x.dtype == torch.uint8
    assert tr.y.tolist() == [0, 0, 1, 1, 2, 2] and va.y.tolist() == [2, 0]
    assert int(tr.x[3, 0, 5, 5]) == 41 and int(va.x[1, 2, 0, 0]) == 7
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(base / "train" / "n002" / "images" / "n002_9.JPEG",
                                                          format="PNG")
    with pytest.raises(ValueError, match="64x64"):
        mylib.data.load_tiny_imagenet_tensors(tmp_path)
    with pytest.raises(FileNotFoundError, match="wnids"):
        mylib.data.load_tiny_imagenet_tensors(tmp_path / "nowhere")


def test_rotated_digits_domains():
    tr, te, dtr, dte = mylib.data.rotated_digits([0.0, 90.0, 180.0])
    base, _ = mylib.data.load_digits_split(seed=0, image=True)
    n = len(base)
    assert len(tr) == 3 * n and np.bincount(dtr).tolist() == [n] * 3 and len(te) == len(dte)
    torch.testing.assert_close(tr.x[:n], base.x, atol=1e-5, rtol=0)  # angle 0: the digits themselves
    torch.testing.assert_close(tr.x[2 * n:], base.x.flip(-1).flip(-2), atol=1e-5, rtol=0)  # 180 degrees
    assert not torch.allclose(tr.x[n:2 * n], base.x, atol=1e-3)
    with pytest.raises(ValueError, match="angles"):
        mylib.data.rotated_digits([])


def test_domain_incremental_rotated_digits():
    """R-MNIST's protocol on rotated digits: three rotations, every class in every task; anchors are the current
    domain's rows, the buffer spans (domain, class) pairs, and the per-task probe tests each rotation."""
    tr, te, dtr, dte = mylib.data.rotated_digits([0.0, 60.0, 120.0])
    keep_tr = np.isin(tr.y.numpy(), [0, 1, 2]) & (np.arange(len(tr)) % 3 == 0)
    keep_te = np.isin(te.y.numpy(), [0, 1, 2])
    tr, dtr = TensorData(tr.x[keep_tr], tr.y[keep_tr]), dtr[keep_tr]
    te, dte = TensorData(te.x[keep_te], te.y[keep_te]), dte[keep_te]
    cfg = ct.ContinualConfig(tasks=[[0, 1, 2]] * 3, incremental="domain", buffer_size=18, epochs=1, first_epochs=1,
                             batch_size=32, lr=0.05, probe_per_class=3, pool_eval_size=32)
    seen = []
    orig = ct.co2l_terms

    def spy(z, y, anchors, zt, *args):
        seen.append(anchors.clone())
        return orig(z, y, anchors, zt, *args)

    model_fn = lambda: mylib.nn.build_model("contrastive-mlp", proj_dim=8, in_dim=64, hidden=16, feat_dim=8)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ct, "co2l_terms", spy)
        recs = ct.run_grid(tr, te, model_fn, cfg, {"Co2L": {}}, [0], na.Augment(), device=CPU, probe_epochs=10,
                           per_task_probe=True, train_domains=dtr, test_domains=dte)
    r = recs[0]
    assert r["acc_matrix"].shape == (3, 3) and r["class_il"] == r["task_il"]
    assert set(np.unique(r["probe_tasks"])) == {0, 1, 2}
    assert any(not bool(a.all()) for a in seen[-5:])  # later tasks: buffer rows of the same classes, not anchors
    with pytest.raises(ValueError, match="needs domains"):
        ct.run_continual(model_fn(), tr, cfg, na.Augment(), device=CPU)
    with pytest.raises(ValueError, match="more than one task"):
        ct.ContinualConfig(tasks=[[0, 1, 2]] * 3)
    with pytest.raises(ValueError, match="incremental"):
        ct.ContinualConfig(tasks=[[0]], incremental="task")


def test_dry_run_caps_seeds_and_probe_samples(monkeypatch):
    """A dry run of the full profile (issue 14): run_grid runs the first seed only, and the linear probe embeds at
    most 8 training samples per epoch (not the whole task and buffer); outside a dry run neither is capped."""
    import mylib.nn.probe as probe_mod

    sizes = []
    embed = probe_mod.embed

    def spy(model, x, *args, **kw):
        sizes.append(len(x))
        return embed(model, x, *args, **kw)

    monkeypatch.setattr(probe_mod, "embed", spy)
    data = _tiny_data()
    cfg = _tiny_config(epochs=1, first_epochs=1)
    for dry, seeds_run, train_sizes in (("1", [0], [8, 8]), ("0", [0, 1], [len(data)] * 2)):
        monkeypatch.setenv(mylib.runtime.DRYRUN_ENV, dry)
        recs = ct.run_grid(data, data, _tiny_model, cfg, {"Co2L": {}}, [0, 1], na.Augment(noise_std=0.1),
                           device=CPU, probe_epochs=2)
        assert [r["seed"] for r in recs] == seeds_run
        sizes.clear()
        mylib.nn.linear_probe(_tiny_model(), data, data, cfg.tasks, np.arange(len(data)), na.Augment(noise_std=0.1),
                              device=CPU, epochs=2, probe_augment=True)
        assert sizes[:-1] == train_sizes  # one embedding of the training samples per epoch, then the test set
