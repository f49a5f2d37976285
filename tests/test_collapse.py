"""Tests of mylib.information: simplex ETF, the closed form of thm-nc-mir (class and sample level), NC1-NC4."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mylib
from mylib.information import collapse as nc
from mylib.information import matrix_info as mi

CLASS_LEVEL_C = list(range(3, 41)) + [50, 64, 100, 128, 200, 333, 500, 1000]


# ----------------------------------------------------------------------------- simplex ETF
@pytest.mark.parametrize("C,d,seed", [(2, 1, 0), (3, 2, None), (3, 2, 1), (5, 4, 2), (10, 64, 3), (37, 36, 4),
                                      (100, 150, None)])
def test_simplex_etf_properties(C, d, seed):
    M = nc.simplex_etf(C, d, seed=seed)
    assert M.shape == (C, d)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(M.sum(axis=0), 0.0, atol=1e-12)
    G = M @ M.T
    off = G[~np.eye(C, dtype=bool)]
    np.testing.assert_allclose(off, -1.0 / (C - 1), atol=1e-12)
    np.testing.assert_allclose(G, nc.etf_gram(C), atol=1e-12)
    assert nc.etf_distance(M) == pytest.approx(0.0, abs=1e-12)


def test_etf_gram_spectrum():
    for C in (3, 7, 20):
        ev = np.linalg.eigvalsh(nc.etf_gram(C))
        np.testing.assert_allclose(ev[0], 0.0, atol=1e-12)
        np.testing.assert_allclose(ev[1:], C / (C - 1), atol=1e-12)


def test_simplex_etf_seeds_rotate():
    A, B = nc.simplex_etf(6, 10, seed=0), nc.simplex_etf(6, 10, seed=1)
    assert np.abs(A - B).max() > 0.1
    np.testing.assert_array_equal(A, nc.simplex_etf(6, 10, seed=0))


# ----------------------------------------------------------------------------- closed forms
def test_closed_form_small_cases_by_hand():
    assert nc.nc_mir(3) == 0.5                        # 1/2 + 0
    # C = 4: 1/3 + 2 log 2 / (3 log 3)
    assert nc.nc_mir(4) == pytest.approx(1 / 3 + 2 * math.log(2) / (3 * math.log(3)), abs=1e-15)
    assert nc.nc_entropy(4) == pytest.approx(math.log(3), abs=1e-15)
    assert nc.nc_hdr(17) == 0.0
    # spectrum of (G o G)/C for C = 4: 1/3 once, 2/9 three times
    lam = np.linalg.eigvalsh(nc.etf_gram(4) ** 2 / 4)
    np.testing.assert_allclose(sorted(lam), [2 / 9, 2 / 9, 2 / 9, 1 / 3], atol=1e-14)
    assert nc.nc_joint_entropy(4) == pytest.approx(-(1 / 3) * math.log(1 / 3) - 3 * (2 / 9) * math.log(2 / 9),
                                                   abs=1e-14)


def test_closed_form_consistency_and_rate():
    C = np.arange(3, 5001)
    mir = nc.nc_mir(C)
    np.testing.assert_allclose(mir, nc.nc_mutual_information(C) / nc.nc_entropy(C), atol=1e-14)
    np.testing.assert_allclose(nc.nc_mutual_information(C),
                               2 * nc.nc_entropy(C) - nc.nc_joint_entropy(C), atol=1e-12)
    np.testing.assert_allclose(1 - mir, nc.nc_one_minus_mir(C), atol=1e-14)
    assert np.all(np.diff(mir) > 0) and np.all(mir < 1)
    # cor-nc-mir-rate: (1 - 1/(2(C-2))) / ((C-1) log(C-1)) <= 1 - MIR <= 1 / ((C-1) log(C-1))
    scale = (C - 1) * np.log(C - 1)
    one_minus = nc.nc_one_minus_mir(C)
    assert np.all(one_minus * scale <= 1 + 1e-15)
    assert np.all(one_minus * scale >= 1 - 1 / (2 * (C - 2)) - 1e-15)
    assert nc.nc_one_minus_mir(10**9) * (10**9 - 1) * math.log(10**9 - 1) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("C", CLASS_LEVEL_C)
def test_theorem_class_level(C):
    """Heads W and centred class means M form the same simplex ETF (up to rotation and scale)."""
    d = C - 1 if C > 200 else C + 5
    M = nc.simplex_etf(C, d, seed=C)
    # The matrix quantities only see cosine Gram matrices, so heads proportional to M up to an orthogonal
    # map of R^d (here: an independently rotated ETF, scaled) are as good as W = M (self-duality).
    W = 2.5 * M if C > 200 else 0.3 * nc.simplex_etf(C, d, seed=C + 1)
    s = mi.information_summary(W, M)
    assert abs(s["MIR"] - nc.nc_mir(C)) <= 1e-9
    assert abs(s["HDR"] - nc.nc_hdr(C)) <= 1e-9
    assert abs(s["H1"] - nc.nc_entropy(C)) <= 1e-9
    assert abs(s["H12"] - nc.nc_joint_entropy(C)) <= 1e-9


@pytest.mark.filterwarnings("ignore::mylib.information.matrix_info.SlowPathWarning")  # exactness at every size
@pytest.mark.parametrize("C,k", [(3, 1), (3, 2), (3, 7), (4, 5), (5, 3), (10, 2), (10, 10), (16, 20), (25, 4),
                                 (50, 3), (80, 12)])
def test_theorem_sample_level(C, k):
    """Features collapsed to balanced class means, paired with the (self-dual) head of their label."""
    H, y, M = nc.collapsed_features(C, k, C + 2, noise=0.0, seed=k)
    rng = np.random.default_rng(C)
    H = H * rng.uniform(0.5, 2.0, size=(H.shape[0], 1))  # features may have any positive norm
    W = 1.7 * M                                          # heads proportional to the class means
    methods = ("gram", "fast", "auto") if (C - 1) ** 2 <= 600 else ("gram", "auto")
    for method in methods:
        s = mi.information_summary(H, W[y], method=method)
        assert abs(s["MIR"] - nc.nc_mir(C)) <= 1e-9, method
        assert abs(s["HDR"]) <= 1e-9, method


def test_theorem_sample_level_torch():
    H, y, M = nc.collapsed_features(12, 6, 20, noise=0.0, seed=0)
    Ht, Wt = torch.as_tensor(H), torch.as_tensor(M[y])
    assert abs(float(mi.mir(Ht, Wt)) - nc.nc_mir(12)) <= 1e-9
    assert abs(float(mi.hdr(Ht, Wt))) <= 1e-9


def test_unbalanced_batch_breaks_closed_form():
    """rem-nc-batch: with unequal class counts the sample-level MIR differs from the theorem."""
    C, d = 5, 8
    M = nc.simplex_etf(C, d, seed=0)
    y = np.repeat(np.arange(C), [1, 2, 3, 4, 10])
    s = mi.information_summary(M[y], M[y])
    assert abs(s["MIR"] - nc.nc_mir(C)) > 1e-2
    # ... and a full balanced pool recovers it, while random sub-batches scatter around it
    H, y, M = nc.collapsed_features(C, 40, d, seed=1)
    full = nc.batch_information(H, M[y], batch_size=H.shape[0], n_batches=1, seed=0)
    assert abs(full["MIR"][0] - nc.nc_mir(C)) < 1e-9
    small = nc.batch_information(H, M[y], batch_size=20, n_batches=8, seed=0)
    assert np.max(np.abs(small["MIR"] - nc.nc_mir(C))) > 1e-3
    np.testing.assert_allclose(small["HDR"], 0.0, atol=1e-9)  # Z1 and Z2 have the same Gram matrix
    again = nc.batch_information(H, M[y], batch_size=20, n_batches=8, seed=0)
    np.testing.assert_array_equal(small["MIR"], again["MIR"])


def test_uncentred_features_inflate_hdr():
    """rem-nc-centring: a global mean orthogonal to the ETF span, closed form of the spectrum."""
    C, k = 6, 10
    M = nc.simplex_etf(C, C, seed=None)  # spans the first C - 1 coordinates
    y = np.repeat(np.arange(C), k)
    for s in (0.1, 0.5, 2.0, 10.0):
        mu = np.zeros(C)
        mu[-1] = s
        Hs = M[y] + mu
        assert mi.matrix_entropy(Hs) == pytest.approx(nc.nc_shifted_entropy(C, s), abs=1e-10)
        assert mi.hdr(Hs, M[y]) == pytest.approx(nc.nc_shifted_hdr(C, s), abs=1e-10)
        assert mi.hdr(nc.center_rows(Hs), M[y]) == pytest.approx(0.0, abs=1e-9)
        np.testing.assert_allclose(nc.centered_class_means(Hs, y), M, atol=1e-12)
    assert nc.nc_shifted_hdr(C, 2.0) > 0.4
    for CC in (3, 6, 10, 100):
        s_star = nc.nc_shift_crossing(CC)
        assert s_star > 0 and nc.nc_shifted_hdr(CC, s_star) == pytest.approx(0.0, abs=1e-12)
        assert nc.nc_shifted_hdr(CC, 0.5 * s_star) > 0 and nc.nc_shifted_hdr(CC, 2 * s_star) > 0
    assert nc.nc_shifted_entropy(C, 0.0) == pytest.approx(math.log(C - 1), abs=1e-15)
    assert nc.nc_shifted_entropy(C, 1e9) == pytest.approx(0.0, abs=1e-12)
    # a generic (not orthogonal) shift also moves HDR away from 0
    H, y, M = nc.collapsed_features(C, k, 12, seed=2)
    assert mi.hdr(H + 2.0 / math.sqrt(12), M[y]) > 0.05
    with pytest.raises(ValueError, match="shift"):
        nc.nc_shifted_entropy(C, -1.0)


def test_orthogonal_rows_counterexample():
    Z1, Z2 = nc.orthogonal_rows(30, 64, seed=0), nc.orthogonal_rows(30, 64, seed=1)
    np.testing.assert_allclose(Z1 @ Z1.T, np.eye(30), atol=1e-12)
    assert mi.mir(Z1, Z2) == pytest.approx(1.0, abs=1e-10)
    assert mi.hdr(Z1, Z2) == pytest.approx(0.0, abs=1e-10)


# ----------------------------------------------------------------------------- NC1-NC4
def test_nc_metrics_zero_at_collapse():
    H, y, M = nc.collapsed_features(7, 5, 10, seed=3)
    m = nc.nc_metrics(H, y, 4.0 * M)
    for k, v in m.items():
        assert v == pytest.approx(0.0, abs=1e-10), k


def test_nc1_hand_computed():
    H = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    y = np.array([0, 0, 1, 1])
    # Sigma_W = I/2, Sigma_B = [[1,-1],[-1,1]], Sigma_B^+ = Sigma_B / 4: tr = 1/4, / C = 1/8
    assert nc.nc1(H, y) == pytest.approx(0.125, abs=1e-14)


def test_nc1_monte_carlo():
    """E[NC1] ~ (sigma^2/d) (k-1)/k (C-1)^2 / C for ETF + N(0, sigma^2/d I); MC tolerance from the chi-square sd."""
    C, k, d, sigma = 10, 200, 32, 0.2
    H, y, M = nc.collapsed_features(C, k, d, noise=sigma, seed=4)
    expected = sigma**2 / d * (k - 1) / k * (C - 1) ** 2 / C
    rel_sd = math.sqrt(2 / (C * k * (C - 1)))
    assert abs(nc.nc1(H, y) / expected - 1) < 5 * rel_sd + 2 * sigma**2 / k


def test_nc2_nc3_nc4_values():
    # NC2 of orthonormal rows: ||I/sqrt(C) - P/sqrt(C-1)||_F^2 = 2 - 2 sqrt((C-1)/C)
    for C in (3, 5, 10):
        assert nc.nc2(np.eye(C)) == pytest.approx(math.sqrt(2 - 2 * math.sqrt((C - 1) / C)), abs=1e-12)
    H, y, M = nc.collapsed_features(5, 4, 6, seed=5)
    assert nc.nc3(-M, H, y) == pytest.approx(4.0, abs=1e-12)    # anti-dual heads
    assert nc.nc3(3 * M, H, y) == pytest.approx(0.0, abs=1e-12)
    b = np.zeros(5)
    b[0] = 100.0  # every sample is classified as class 0; the nearest centre is its own class
    assert nc.nc4(H, M, b, y=y) == pytest.approx(4 / 5, abs=1e-15)
    assert nc.nc4(H, M, means=M) == 0.0


def test_nc_metrics_grow_with_noise():
    vals = [nc.nc_metrics(*nc.collapsed_features(6, 30, 16, noise=s, seed=6)[:2],
                          nc.simplex_etf(6, 16, seed=0)) for s in (0.01, 0.1, 1.0)]
    assert vals[0]["nc1"] < vals[1]["nc1"] < vals[2]["nc1"]
    assert vals[0]["nc2_means"] < vals[1]["nc2_means"] < vals[2]["nc2_means"]


def test_torch_inputs_match_numpy():
    H, y, M = nc.collapsed_features(5, 8, 7, noise=0.3, seed=7)
    mt = nc.nc_metrics(torch.as_tensor(H), torch.as_tensor(y), torch.as_tensor(M))
    mn = nc.nc_metrics(H, y, M)
    for k in mn:
        assert isinstance(mt[k], torch.Tensor)
        assert float(mt[k]) == pytest.approx(mn[k], abs=1e-12)
    cm = nc.class_means(torch.as_tensor(H, dtype=torch.float32), y)
    assert cm.dtype == torch.float32 and cm.shape == (5, 7)


def test_class_means_and_centring():
    H = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    np.testing.assert_allclose(nc.class_means(H, [0, 0, 1]), [[2.0, 3.0], [10.0, 0.0]])
    np.testing.assert_allclose(nc.center_rows(H).mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(nc.center_rows(H, mean=[1.0, 1.0]), H - 1.0)


def test_collapsed_features_layout():
    H, y, M = nc.collapsed_features(4, 3, 5, noise=0.0, seed=0)
    assert H.shape == (12, 5) and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    np.testing.assert_array_equal(H, M[y])
    H2, _, M2 = nc.collapsed_features(4, 3, 5, noise=0.5, seed=0)
    np.testing.assert_array_equal(M, M2)
    assert np.abs(H2 - H).max() > 0


# ----------------------------------------------------------------------------- errors and profiles
def test_closed_form_errors():
    with pytest.raises(ValueError, match="C = 2 is degenerate"):
        nc.nc_mir(2)
    for bad in (0, 1, -4, 2.5, "x", [3, 2]):
        with pytest.raises(ValueError):
            nc.nc_mir(bad)
    with pytest.raises(ValueError, match="empty"):
        nc.nc_mir([])
    with pytest.raises(ValueError, match="d >= C - 1"):
        nc.simplex_etf(5, 3)
    with pytest.raises(ValueError, match="C >= 2"):
        nc.simplex_etf(1, 3)


def test_metric_errors():
    H, y, M = nc.collapsed_features(3, 2, 4, seed=0)
    with pytest.raises(ValueError, match="same number of rows"):
        nc.nc1(H, y[:-1])
    with pytest.raises(ValueError, match="no sample"):
        nc.class_means(H, y, C=4)
    with pytest.raises(ValueError, match=">= 0"):
        nc.class_means(H, -y)
    with pytest.raises(ValueError, match="integer"):
        nc.class_means(H, y + 0.5)
    with pytest.raises(ValueError, match="NaN or inf"):
        nc.nc1(np.where(H == H[0, 0], np.nan, H), y)
    with pytest.raises(ValueError, match="coincide"):
        nc.nc1(np.ones((6, 4)), y)
    with pytest.raises(ValueError, match="labels go up to 2 but C = 2"):
        nc.nc3(M[:2], H, y)
    with pytest.raises(ValueError, match="shape"):
        nc.nc3(M[:, :2], H, y)
    with pytest.raises(ValueError, match="class centres"):
        nc.nc4(H, M)
    with pytest.raises(ValueError, match="all zeros"):
        nc.etf_distance(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="noise"):
        nc.collapsed_features(3, 2, 4, noise=-1.0)
    with pytest.raises(ValueError, match="exceeds"):
        nc.batch_information(H, M[y], batch_size=7, n_batches=1)


def test_full_profile_sizes_are_consistent():
    """The full profile cannot run here; check that its sizes are valid inputs for the notebook's calls."""
    for profile in ("smoke", "full"):
        cfg = mylib.get_config("part1_nc_verification", profile)
        grid = nc.class_grid(cfg.n_C, cfg.C_max)
        assert grid[0] == 3 and grid[-1] == cfg.C_max
        assert cfg.d >= max(cfg.noise_C, cfg.batch_C, 50) - 1          # ETF fits (explorer slider up to 50)
        assert max(cfg.batch_sizes) <= cfg.batch_C * cfg.batch_per_class
        assert max(cfg.ortho_n) <= cfg.ortho_d
    assert len(nc.class_grid(998, 1000)) == 998  # full: every C from 3 to 1000


def test_profiles_registered():
    smoke = mylib.get_config("part1_nc_verification", "smoke")
    full = mylib.get_config("part1_nc_verification", "full")
    assert smoke.C_max == full.C_max == 1000 and full.n_C >= smoke.n_C
    with pytest.raises(ValueError, match="unknown profile"):
        mylib.get_config("part1_nc_verification", "huge")


# ----------------------------------------------------------------------------- issue 11/15 additions
def test_simplex_etf_seed_validation_and_bit_identity():
    with pytest.raises(ValueError, match="seed"):
        nc.simplex_etf(4, 5, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        nc.orthogonal_rows(3, 5, seed=-2)
    # same arithmetic as before the shared Haar sampler: QR of a Gaussian with the signs of diag(R)
    rng = np.random.default_rng(7)
    Q, R = np.linalg.qr(rng.standard_normal((6, 3)))
    Q = Q * np.sign(np.diag(R))[None, :]
    M = nc.simplex_etf(4, 6, seed=7)
    assert np.array_equal(M, nc.simplex_etf(4, 6, seed=None)[:, :3] @ Q.T)
    Q2, R2 = np.linalg.qr(np.random.default_rng(3).standard_normal((8, 5)))
    assert np.array_equal(nc.orthogonal_rows(5, 8, seed=3), (Q2 * np.sign(np.diag(R2))[None, :]).T)


def test_complex_features_and_labels_are_type_errors():
    H, y, M = nc.collapsed_features(3, 2, 3)
    with pytest.raises(TypeError, match="H is complex"):
        nc.nc1(H + 1j, y)
    with pytest.raises(TypeError, match="W is complex"):
        nc.nc3(M + 0j, H, y)
    with pytest.raises(TypeError, match="y is complex"):
        nc.class_means(H, y + 0j)


def test_nc_metrics_validates_labels_once(monkeypatch):
    H, y, M = nc.collapsed_features(4, 3, 5, noise=0.1)
    calls = []
    orig = nc._labels

    def counting(yy, *a, **k):
        calls.append(isinstance(yy, nc._Labels))
        return orig(yy, *a, **k)

    monkeypatch.setattr(nc, "_labels", counting)
    m = nc.nc_metrics(H, y, M)
    assert calls.count(False) == 1  # the raw labels are checked once, the rest reuse them
    monkeypatch.undo()
    assert m == pytest.approx(nc.nc_metrics(H, y, M))


def test_fannes_audenaert_is_a_valid_modulus():
    rng = np.random.default_rng(0)
    for _ in range(200):
        D = int(rng.integers(2, 7))
        A, B = rng.standard_normal((D, D)), rng.standard_normal((D, D)) * rng.uniform(0, 1)
        rho = A @ A.T / np.trace(A @ A.T)
        sig = rho + 0.1 * (B @ B.T / np.trace(B @ B.T) - rho) * rng.uniform(0, 1)
        T = 0.5 * np.abs(np.linalg.eigvalsh(rho - sig)).sum()
        S = lambda r: float(-sum(p * np.log(p) for p in np.linalg.eigvalsh(r) if p > 0))
        assert abs(S(rho) - S(sig)) <= nc.fannes_audenaert(T, D) + 1e-12
    f = nc.fannes_audenaert(np.linspace(0, 1, 50), 5)
    assert np.all(np.diff(f) >= -1e-15) and f[-1] == pytest.approx(np.log(5))
    with pytest.raises(ValueError, match="T must be"):
        nc.fannes_audenaert(-0.1, 3)


@pytest.mark.parametrize("sigma", [0.0, 0.01, 0.05, 0.2])
def test_perturbation_bound_holds_on_noisy_etfs(sigma):
    for rep in range(3):
        H, y, M = nc.collapsed_features(6, 8, 10, noise=sigma, seed=rep)
        W = M + sigma * np.random.default_rng(50 + rep).standard_normal(M.shape) / 4
        dev = nc.collapse_deviations(H, y, W)
        sc = mi.information_summary(nc.centered_class_means(H, y), W)
        ss = mi.information_summary(nc.center_rows(H), W[y])
        bc = nc.mir_perturbation_bound(dev["eps_W"], dev["eps_M"], 6)
        bs = nc.mir_perturbation_bound(dev["eps_W"], dev["eps_M"], 6, nu=dev["nu"], D=len(y))
        assert abs(sc["MIR"] - nc.nc_mir(6)) <= bc["mir"] + 1e-12 and sc["HDR"] <= bc["hdr"] + 1e-12
        assert abs(ss["MIR"] - nc.nc_mir(6)) <= bs["mir"] + 1e-12 and ss["HDR"] <= bs["hdr"] + 1e-12
        if sigma == 0:
            assert bc["mir"] < 1e-12 and bs["hdr"] < 1e-12


def test_perturbation_bound_needs_its_log_term():
    """Sharpness, and the mutation that fails: mass t moved onto the ETF's null direction (uncentred means,
    Gram (1 - t) G* + t 11^T, trace distance t) changes the entropy by h(t) - t log(C - 1), which a linear
    modulus t log(C - 1) without the binary-entropy term h(t) does not bound."""
    C = 5
    Gs = (C / (C - 1)) * (np.eye(C) - 1.0 / C)
    for t in (1e-4, 1e-3, 1e-2, 0.05):
        G = (1 - t) * Gs + t * np.ones((C, C))
        Z = np.linalg.cholesky(G)
        eps = 0.5 * np.abs(np.linalg.eigvalsh((G - Gs) / C)).sum()
        assert eps == pytest.approx(t, rel=1e-9)
        dev = abs(mi.matrix_entropy(Z) - np.log(C - 1))
        assert dev <= nc.fannes_audenaert(eps, C) + 1e-12
        assert dev > eps * np.log(C - 1)  # the mutated (linear) modulus is violated
        s = mi.information_summary(Z, nc.simplex_etf(C, C - 1, seed=None))
        b = nc.mir_perturbation_bound(0.0, eps, C)
        assert abs(s["MIR"] - nc.nc_mir(C)) <= b["mir"] and s["HDR"] <= b["hdr"]


def test_perturbation_bound_errors():
    with pytest.raises(ValueError, match="eps_W"):
        nc.mir_perturbation_bound(-1.0, 0.0, 5)
    with pytest.raises(ValueError, match="C"):
        nc.mir_perturbation_bound(0.0, 0.0, 2)
    H, y, M = nc.collapsed_features(3, 2, 3)
    with pytest.raises(ValueError, match="head is zero"):
        nc.collapse_deviations(H, y, np.vstack([M[:2], np.zeros(3)]))
