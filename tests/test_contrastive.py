"""Tests of mylib.contrastive and mylib.contrastive (Part II: Co2L, CILA and the continual bound)."""
import math

import numpy as np
import pytest
import torch

import mylib
from mylib.contrastive import losses as cc
from mylib.contrastive import continual as ct
from mylib.data import TensorData


def _unit(rng, n, d):
    z = rng.normal(size=(n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _softmax_rows(S):
    S = S - S.max(1, keepdims=True)
    E = np.exp(S)
    return E / E.sum(1, keepdims=True)


def _q(z, i, T):
    """Reference softmax over candidates j != i (dict j -> prob)."""
    s = np.array([z[i] @ z[j] / T for j in range(len(z)) if j != i])
    p = np.exp(s - s.max())
    p /= p.sum()
    cand = [j for j in range(len(z)) if j != i]
    return dict(zip(cand, p))


# --------------------------------------------------------------------------- losses: closed forms
def test_supcon_matches_hand_computation():
    z = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    T = 0.5
    loss, valid = cc.supcon_per_anchor(z, y, T)
    assert valid.all()
    for i in range(4):
        q = _q(z, i, T)
        pos = [j for j in range(4) if j != i and y[j] == y[i]]
        ref = -np.mean([math.log(q[p]) for p in pos])
        assert loss[i] == pytest.approx(ref, rel=1e-12)
    # anchor 0 by hand: candidates s = 0.6, 0, -1
    ref0 = -math.log(math.exp(1.2) / (math.exp(1.2) + 1 + math.exp(-2)))
    assert loss[0] == pytest.approx(ref0, rel=1e-12)


def test_supcon_scale_invariance_and_bounds():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, 30)
    a, _ = cc.supcon_per_anchor(z, y, 0.3)
    b, _ = cc.supcon_per_anchor(z * rng.uniform(0.1, 10, size=(30, 1)), y, 0.3)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    # log|P| <= loss <= 2/T + log n  (Jensen; unit sphere)
    npos = np.array([(y == y[i]).sum() - 1 for i in range(30)])
    assert np.all(a >= np.log(npos) - 1e-12)
    assert np.all(a <= cc.max_contrastive_loss(29, 0.3) + 1e-12)


def test_asym_supcon_anchor_mask_and_negatives():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(12, 4))
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5])
    loss, valid = cc.supcon_per_anchor(z, y, 0.5)
    mask = y <= 1
    assert cc.asym_supcon_loss(z, y, mask, 0.5) == pytest.approx(loss[mask].mean())
    # anchors 10, 11 have no positive: excluded even when selected
    assert not valid[10] and not valid[11]
    assert cc.asym_supcon_loss(z, y, None, 0.5) == pytest.approx(loss[valid].mean())
    # an extra buffer sample (another class) only adds a term to the denominators: loss increases
    z2 = np.vstack([z, rng.normal(size=(1, 4))])
    y2 = np.r_[y, 9]
    assert cc.asym_supcon_loss(z2, y2, np.r_[mask, False], 0.5) > cc.asym_supcon_loss(z, y, mask, 0.5)
    # no valid anchor -> 0
    assert cc.asym_supcon_loss(z, y, y == 4, 0.5) == 0.0


def test_losses_torch_autograd_and_numpy_types():
    rng = np.random.default_rng(2)
    z = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    out = cc.asym_supcon_loss(z, y) + cc.relation_distillation_loss(z, z.detach() + 0.1)
    assert isinstance(out, torch.Tensor) and out.ndim == 0
    out.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert isinstance(cc.asym_supcon_loss(z.detach().numpy(), y.numpy()), float)
    # teacher gets no gradient
    zt = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    cc.relation_distillation_loss(z, zt).backward()
    assert zt.grad is None


def test_distillation_closed_form_and_gibbs():
    rng = np.random.default_rng(3)
    zs, zt = _unit(rng, 7, 3), _unit(rng, 7, 3)
    ce = cc.distillation_per_anchor(zs, zt, 0.2, 0.05)
    for i in range(7):
        pi, q = _q(zt, i, 0.05), _q(zs, i, 0.2)
        assert ce[i] == pytest.approx(-sum(pi[j] * math.log(q[j]) for j in pi), rel=1e-10)
    # CE(pi, q) >= H(pi), with equality when the student equals the teacher at the same temperature
    same = cc.distillation_per_anchor(zt, zt, 0.05, 0.05)
    ent = np.array([-sum(p * math.log(p) for p in _q(zt, i, 0.05).values()) for i in range(7)])
    np.testing.assert_allclose(same, ent, rtol=1e-9)
    assert np.all(cc.distillation_per_anchor(zs, zt, 0.05, 0.05) >= ent - 1e-12)


# --------------------------------------------------------------------------- the inequalities of the chapter
def test_one_negative_equal_temperature_inequality_every_sample():
    """lem-ccl-transfer, special case: l(new) <= exp(l(old)) * CE(old -> new) for every random sample."""
    rng = np.random.default_rng(4)
    tight = []
    for _ in range(600):
        T = rng.uniform(0.05, 2.0)
        d = int(rng.integers(2, 6))
        z_old, z_new = _unit(rng, 3, d), _unit(rng, 3, d)  # anchor 0, positive 1, negative 2
        y = np.array([0, 0, 1])
        l_old = cc.supcon_per_anchor(z_old, y, T)[0][0]
        l_new = cc.supcon_per_anchor(z_new, y, T)[0][0]
        ce = cc.distillation_per_anchor(z_new, z_old, T, T)[0]
        assert l_new <= math.exp(l_old) * ce * (1 + 1e-10) + 1e-12
        tight.append(l_new / ce)
    # the factor exp(l_old) is needed: without it the inequality fails on some samples
    assert max(tight) > 1.0


def test_temperature_convexity_lemma():
    rng = np.random.default_rng(5)
    for _ in range(200):
        z = _unit(rng, 15, 4)
        y = rng.integers(0, 3, 15)
        tau = rng.uniform(0.1, 1.0)
        kappa = tau * rng.uniform(0.05, 1.0)
        lt, v = cc.supcon_per_anchor(z, y, tau)
        lk, _ = cc.supcon_per_anchor(z, y, kappa)
        rhs = (1 - kappa / tau) * math.log(14) + (kappa / tau) * lk
        assert np.all(lt[v] <= rhs[v] + 1e-10)


def test_self_distillation_lemma():
    """CE(pi^{k*}(g), q^k(g)) <= l^tau(g; i) + (k*/k) log n  for kappa <= tau."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        z = _unit(rng, 12, 3)
        y = rng.integers(0, 3, 12)
        tau = rng.uniform(0.2, 1.0)
        kappa = tau * rng.uniform(0.1, 1.0)
        ks = rng.uniform(0.005, 1.0)
        ce = cc.distillation_per_anchor(z, z, kappa, ks)
        lt, v = cc.supcon_per_anchor(z, y, tau)
        assert np.all(ce[v] <= lt[v] + (ks / kappa) * math.log(11) + 1e-10)


def test_consecutive_lemma_per_anchor_random_models():
    rng = np.random.default_rng(7)
    for _ in range(100):
        m, d = 20, 4
        z_old = _unit(rng, m, d)
        z_new = _unit(rng, m, d) if rng.random() < 0.5 else z_old + 0.3 * rng.normal(size=(m, d))
        y = rng.integers(0, 4, m)
        tau, kappa, ks = 0.5, 0.2, float(rng.choice([0.01, 0.1, 0.2]))
        rhs = cc.consecutive_bound_per_anchor(z_new, z_old, y, tau, kappa, ks)
        lhs, v = cc.supcon_per_anchor(z_new, y, tau)
        assert np.all(lhs[v] <= rhs[v] * (1 + 1e-9))


def test_transfer_weights_closed_form():
    rng = np.random.default_rng(8)
    z = _unit(rng, 9, 3)
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3])
    lw, v = cc.transfer_log_weights(z, y, 0.1)
    assert not v[8] and np.isnan(lw[8])
    for i in range(8):
        q = _q(z, i, 0.1)
        pos = [j for j in range(9) if j != i and y[j] == y[i]]
        assert math.exp(lw[i]) == pytest.approx(1 / (len(pos) * min(q[p] for p in pos)), rel=1e-9)
        assert lw[i] >= -1e-12  # omega >= 1


# --------------------------------------------------------------------------- the theorem
def _random_run(rng, T=4, per=6, d=5, step=0.4):
    y = np.repeat(np.arange(2 * T), per)
    task = y // 2
    Z = [_unit(rng, len(y), d) + 2.0 * np.eye(2 * T, d)[y % d]]
    for _ in range(T - 1):
        Z.append(Z[-1] + step * rng.normal(size=Z[-1].shape))
    return Z, y, task


def test_theorem_holds_on_random_runs_and_formula():
    rng = np.random.default_rng(9)
    for trial in range(20):
        Z, y, task = _random_run(rng, T=int(rng.integers(2, 5)))
        for (tau, kappa, ks) in [(0.5, 0.2, 0.01), (0.5, 0.5, 0.5), (1.0, 0.5, 0.2)]:
            terms = cc.bound_terms(Z, y, task, tau, kappa, ks)
            out = cc.continual_bound(terms)
            assert out["holds"] and out["lemma_holds"] and out["holds_samplewise"]
            assert out["log10_rhs_product"] <= out["log10_rhs"] + 1e-9
            assert out["lhs"] <= out["ceiling"]
            assert out["rhs_samplewise"] <= out["ceiling"] + 1e-9
    # explicit formula of thm-ccl-bound (moderate alpha, no overflow)
    Z, y, task = _random_run(np.random.default_rng(10), T=3, step=0.05)
    terms = cc.bound_terms(Z, y, task, 0.5, 0.5, 0.5)
    out = cc.continual_bound(terms)
    T, n = 3, terms.n_candidates
    alpha = 10 ** out["log10_alpha"]
    c0, eps = 0.0, math.log(n)
    rhs = 0.0
    for t in range(T):
        inner = terms.phi[t, t] + sum(c0 + alpha * eps + alpha * (terms.dis[t, s] - terms.self_dis[t, s])
                                      for s in range(t))
        rhs += alpha ** (T - 1 - t) * inner
    assert out["rhs"] == pytest.approx(rhs, rel=1e-9)
    assert out["weights_log10"] == pytest.approx([2 * out["log10_alpha"], out["log10_alpha"], 0.0])


def test_theorem_single_task_is_equality():
    rng = np.random.default_rng(11)
    Z, y, task = _random_run(rng, T=1)
    out = cc.continual_bound(cc.bound_terms(Z, y, task))
    assert out["rhs"] == pytest.approx(out["lhs"], rel=1e-12)


def test_bound_terms_validation():
    rng = np.random.default_rng(12)
    Z, y, task = _random_run(rng, T=2)
    with pytest.raises(ValueError, match="kappa <= tau"):
        cc.bound_terms(Z, y, task, tau=0.2, kappa=0.5)
    with pytest.raises(ValueError, match="rows"):
        cc.bound_terms([Z[0], Z[1][:-1]], y, task)
    with pytest.raises(ValueError, match="task_of_anchor"):
        cc.bound_terms(Z, y, task + 5)
    with pytest.raises(ValueError, match="empty"):
        cc.bound_terms([], y, task)
    bad = Z[0].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cc.bound_terms([bad, Z[1]], y, task)
    with pytest.raises(ValueError):
        cc.continual_bound({"phi": 1})


def test_descent_check():
    d = cc.descent_check(5.0, 4.0, 2.0, 2.5, 1.0)
    assert d["descent"] and d["drift"] == pytest.approx(0.5) and d["drift_bound"] == pytest.approx(1.0)
    assert not cc.descent_check(5.0, 4.9, 2.0, 2.5, 1.0)["descent"]
    assert cc.descent_check(5.0, 4.0, 2.0, 2.5, 0.0)["drift_bound"] == math.inf


# --------------------------------------------------------------------------- CILA
def test_cila_lambdas_hand_example():
    con = [9.0, 2.0, 4.0, 1.0, 3.0]
    dis = [0.0, 3.0, 1.0, 2.0, 5.0]
    lam = cc.cila_lambdas(con, dis, 2.0)
    # t=3: 2*3/2 = 3; t=4: 2*(3+1)/(2+4) = 4/3; t=5: 2*(3+1+2)/(2+4+1) = 12/7
    np.testing.assert_allclose(lam, [0.0, 1.0, 3.0, 4 / 3, 12 / 7])
    assert cc.cila_lambdas(con, dis, 0.1).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]  # floor at 1
    assert cc.cila_lambdas([1.0], [0.0], 1.0).tolist() == [0.0]
    # lambda_t ignores tasks >= t (placeholders during training)
    lam2 = cc.cila_lambdas(con[:3] + [99.0, 0.0], dis[:3] + [0.0, 42.0], 2.0)
    assert lam2[:4].tolist() == pytest.approx(lam[:4].tolist())
    # monotone in kappa
    assert np.all(cc.cila_lambdas(con, dis, 3.0) >= cc.cila_lambdas(con, dis, 2.0))


@pytest.mark.parametrize("con,dis,kappa", [
    ([1.0, -1.0, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, np.nan, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, 1.0, 2.0], [0.0, np.inf, 1.0], 1.0),
    ([1.0, 1.0], [0.0, 1.0, 1.0], 1.0),
    ([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], 0.0),
    ([1.0, 1.0, 2.0], [0.0, 1.0, 1.0], -1.0),
    ([1.0, 0.0, 2.0], [0.0, 1.0, 1.0], 1.0),
    ([], [], 1.0),
])
def test_cila_lambdas_errors(con, dis, kappa):
    with pytest.raises(ValueError):
        cc.cila_lambdas(con, dis, kappa)


# --------------------------------------------------------------------------- input validation
@pytest.mark.parametrize("call", [
    lambda: cc.supcon_per_anchor(np.full((4, 2), np.nan), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0.5, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((4, 2)), [0, 0, 1, 1], temperature=0.0),
    lambda: cc.supcon_per_anchor(np.ones(4), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.zeros((4, 2)), [0, 0, 1, 1]),
    lambda: cc.supcon_per_anchor(np.ones((1, 2)), [0]),
    lambda: cc.relation_distillation_loss(np.ones((4, 2)), np.ones((5, 2))),
    lambda: cc.relation_distillation_loss(np.ones((4, 2)), np.ones((4, 2)), teacher_temperature=-1),
    lambda: cc.asym_supcon_loss(np.ones((4, 2)), [0, 0, 1, 1], anchor_mask=[True, False]),
    lambda: cc.consecutive_bound_per_anchor(np.ones((4, 2)), np.ones((4, 2)), [0, 0, 1, 1], tau=0.1, kappa=0.2),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- buffer
def test_buffer_class_balanced_and_nested():
    g = torch.Generator().manual_seed(0)
    buf = cc.ClassBalancedBuffer(23)
    labels = torch.arange(100) // 10  # classes 0..9, 10 samples each
    history = []
    for t in range(5):
        idx = torch.arange(20 * t, 20 * t + 20)
        buf.update(idx, labels[idx], generator=g)
        counts = buf.class_counts()
        assert len(buf) == min(23, 20 * (t + 1))
        assert set(counts) == set(range(2 * t + 2))
        assert max(counts.values()) - min(counts.values()) <= 1
        assert torch.equal(labels[buf.indices], buf.labels)
        history.append(set(buf.indices.tolist()))
    # old classes only shrink: the final buffer's old samples were in every earlier buffer
    for t in range(4):
        old = {i for i in history[-1] if labels[i] < 2 * (t + 1)}
        assert old <= history[t]
    # deterministic under the generator
    b1, b2 = cc.ClassBalancedBuffer(7), cc.ClassBalancedBuffer(7)
    for b in (b1, b2):
        b.update(torch.arange(30), labels[:30], generator=torch.Generator().manual_seed(3))
    assert torch.equal(b1.indices, b2.indices)
    with pytest.raises(ValueError):
        cc.ClassBalancedBuffer(-1)
    with pytest.raises(ValueError):
        b1.update(torch.arange(3), [0, 1])


# --------------------------------------------------------------------------- augmentations
AUGS = [
    lambda x, g: cc.random_crop(x, 2, generator=g),
    lambda x, g: cc.random_resized_crop(x, generator=g),
    lambda x, g: cc.random_hflip(x, 0.5, generator=g),
    lambda x, g: cc.color_jitter(x, generator=g),
    lambda x, g: cc.random_grayscale(x, 0.5, generator=g),
]


@pytest.mark.parametrize("aug", AUGS)
def test_augmentations_shape_range_determinism(aug):
    x = torch.rand(16, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


def test_augmentation_exact_cases():
    x = torch.rand(6, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cc.random_hflip(x, 1.0), x.flip(-1))
    assert torch.equal(cc.random_hflip(x, 0.0), x)
    assert torch.equal(cc.random_crop(x, 0), x)
    g = cc.random_grayscale(x, 1.0)
    assert torch.allclose(g[:, 0], g[:, 1]) and torch.allclose(g[:, 1], g[:, 2])
    assert torch.equal(cc.color_jitter(x, p=0.0), x)
    # crop: every output pixel is an input pixel or padding 0, and content is shifted by <= padding
    y = cc.random_crop(x, 1, generator=torch.Generator().manual_seed(0))
    assert torch.isin(y, torch.cat([x.flatten(), torch.zeros(1)])).all()
    # full-area resized crop is (almost) the identity
    r = cc.random_resized_crop(x, scale=(1.0, 1.0), ratio=(7 / 5, 7 / 5))
    assert torch.allclose(r, x, atol=1e-5)
    # noise: mean and standard deviation within 5 standard errors
    z = torch.zeros(200, 1, 10, 10)
    e = cc.gaussian_noise(z, 0.5, generator=torch.Generator().manual_seed(0)).flatten()
    n = e.numel()
    assert abs(e.mean().item()) < 5 * 0.5 / math.sqrt(n)
    assert abs(e.std().item() - 0.5) < 5 * 0.5 / math.sqrt(2 * n)


def test_augment_composition_and_validation():
    x8 = (torch.rand(4, 3, 8, 8) * 255).to(torch.uint8)
    aug = ct.image_augment()
    v = aug(x8, torch.Generator().manual_seed(0))
    assert v.shape == (4, 3, 8, 8) and v.dtype == torch.float32
    p = aug.plain(x8)
    m = torch.tensor(ct.CIFAR_MEAN)[None, :, None, None]
    s = torch.tensor(ct.CIFAR_STD)[None, :, None, None]
    assert torch.allclose(p * s + m, x8.float() / 255, atol=1e-6)
    with pytest.raises(ValueError):
        cc.random_crop(torch.rand(3, 8, 8))
    with pytest.raises(ValueError):
        cc.random_hflip(torch.rand(2, 3, 8, 8), p=1.5)
    with pytest.raises(ValueError):
        cc.color_jitter(torch.full((2, 3, 4, 4), float("nan")))
    with pytest.raises(ValueError):
        cc.random_grayscale(x8)
    with pytest.raises(ValueError):
        cc.random_resized_crop(torch.rand(2, 3, 8, 8), scale=(0.5, 1.5))


# --------------------------------------------------------------------------- trainer, probe, full-profile path
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
    return ct.build_model("mlp", proj_dim=8, in_dim=16, hidden=16, feat_dim=8)


def test_run_continual_logs_and_bound():
    data = _tiny_data()
    cfg = _tiny_config(method="cila", cila_kappa=5.0)
    res = ct.run_continual(_tiny_model(), data, cfg, cc.Augment(noise_std=0.1), device=torch.device("cpu"))
    assert len(res.probe_embeddings) == 3 and res.dis_avg[0] == 0.0
    assert np.all(res.con_avg > 0) and np.all(res.dis_avg[1:] > 0)
    np.testing.assert_allclose(res.lambdas, cc.cila_lambdas(res.con_avg, res.dis_avg, 5.0))
    assert len(res.descent) == 2 and all("drift" in d for d in res.descent)
    assert len(res.buffer_indices) == 8
    ev = ct.evaluate_run(res, data, data, cfg, cc.Augment(noise_std=0.1), device=torch.device("cpu"),
                         probe_epochs=20)
    assert ev["bound"]["holds"] and ev["bound"]["lemma_holds"]
    assert 0 <= ev["class_il"] <= ev["task_il"] <= 100


def test_run_continual_resume_is_exact(tmp_path):
    data = _tiny_data()
    cfg = _tiny_config()
    aug = cc.Augment(noise_std=0.1)
    ref = ct.run_continual(_tiny_model(), data, cfg, aug, device=torch.device("cpu"))
    for stop in (1, 2, 3):
        d = tmp_path / f"run{stop}"
        with pytest.raises(ct.TrainingInterrupted):
            ct.run_continual(_tiny_model(), data, cfg, aug, device=torch.device("cpu"), checkpoint_dir=d,
                             interrupt_after_epochs=stop)
        res = ct.run_continual(_tiny_model(), data, cfg, aug, device=torch.device("cpu"), checkpoint_dir=d)
        np.testing.assert_array_equal(res.con_avg, ref.con_avg)
        np.testing.assert_array_equal(res.dis_avg, ref.dis_avg)
        for a, b in zip(res.probe_embeddings, ref.probe_embeddings):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="different ContinualConfig"):
        ct.run_continual(_tiny_model(), data, _tiny_config(lr=0.01), aug, device=torch.device("cpu"),
                         checkpoint_dir=tmp_path / "run1")


def test_method_lambdas_and_config_errors():
    data = _tiny_data()
    aug = cc.Augment()
    r = ct.run_continual(_tiny_model(), data, _tiny_config(method="replay", epochs=1, first_epochs=1), aug,
                         device=torch.device("cpu"))
    assert r.lambdas.tolist() == [0.0, 0.0, 0.0]
    r = ct.run_continual(_tiny_model(), data, _tiny_config(epochs=1, first_epochs=1, lam=0.5), aug,
                         device=torch.device("cpu"))
    assert r.lambdas.tolist() == [0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="unknown method"):
        _tiny_config(method="lwf")
    with pytest.raises(ValueError, match="more than one task"):
        _tiny_config(tasks=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="no training sample"):
        ct.run_continual(_tiny_model(), data, _tiny_config(tasks=[[0, 1], [6, 7]]), aug, device=torch.device("cpu"))
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
    model = ct.build_model("resnet18", proj_dim=8, width=2, in_channels=3)
    res = ct.run_continual(model, data, cfg, ct.image_augment(), device=torch.device("cpu"))
    ev = ct.evaluate_run(res, data, data, cfg, ct.image_augment(), device=torch.device("cpu"), probe_epochs=2,
                         probe_augment=True)
    assert ev["bound"]["holds"] and 0 <= ev["class_il"] <= 100
    big = ct.build_model("resnet18", proj_dim=128, width=64)
    assert big.feature_dim == 512
    out = big(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 128) and torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    for name in ("part2_seq_digits", "part2_seq_cifar10"):
        assert set(vars(mylib.get_config(name, "smoke"))) == set(vars(mylib.get_config(name, "full")))


def test_linear_probe_on_separable_features():
    class Ident(torch.nn.Module):
        feature_dim = 16

        def forward(self, x):
            return x.flatten(1)

    data = _tiny_data(n_per=30)
    model = ct.ContrastiveNet(Ident(), proj_dim=4)
    tasks = [[0, 1], [2, 3], [4, 5]]
    acc = ct.linear_probe(model, data, data, tasks, np.arange(len(data)), cc.Augment(), device=torch.device("cpu"),
                          epochs=100, lr=0.1, batch_size=512)
    assert acc["class_il"] > 95 and acc["task_il"] >= acc["class_il"]
    with pytest.raises(ValueError):
        ct.linear_probe(model, data, data, tasks, [], cc.Augment())


def test_standin_data_and_probe_indices():
    tr, te = ct.digits_rgb_standin(12)
    assert tr.x.dtype == torch.uint8 and tr.x.shape[1:] == (3, 12, 12) and len(tr) + len(te) == 1797
    idx = ct.probe_indices(tr.y, 5, seed=0)
    assert len(idx) == 50 and np.all(np.bincount(tr.y[idx].numpy()) == 5)
    assert np.array_equal(idx, ct.probe_indices(tr.y, 5, seed=0))
    with pytest.raises(ValueError):
        ct.probe_indices(tr.y, 10_000)


def test_augment_checks_its_input_once_and_still_rejects_nan():
    aug = cc.Augment(crop_padding=1, hflip=0.5, noise_std=0.1)
    x = torch.rand(4, 3, 8, 8)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(aug(x, g1), aug(x, g2))
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        aug(bad)
    with pytest.raises(ValueError, match="NaN"):  # the public ops still check on their own
        cc.random_hflip(bad)
