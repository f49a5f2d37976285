"""Tests of mylib.information: closed forms, invariants, fast path == n x n path, autograd, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mylib.information import matrix_info as mi

TOL = 1e-8  # required agreement of the fast path with the n x n eigendecomposition


def _binary_entropy(p):
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def _reference(Z1, Z2):
    """Independent n x n reference in numpy (eigvalsh in float64)."""
    def H(G):
        lam = np.clip(np.linalg.eigvalsh(G / G.shape[0]), 0, None)
        lam = lam[lam > 0]
        return float(-(lam * np.log(lam)).sum())
    A = Z1 / np.linalg.norm(Z1, axis=1, keepdims=True)
    B = Z2 / np.linalg.norm(Z2, axis=1, keepdims=True)
    G1, G2 = A @ A.T, B @ B.T
    return H(G1), H(G2), H(G1 * G2)


# ----------------------------------------------------------------------------- closed forms
def test_entropy_identity_and_orthonormal_rows():
    for n in (1, 2, 5, 17):
        assert mi.matrix_entropy(np.eye(n)) == pytest.approx(math.log(n), abs=1e-12)
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((30, 7)))
    assert mi.matrix_entropy(3.0 * Q.T) == pytest.approx(math.log(7), abs=1e-12)
    assert mi.effective_rank(Q.T) == pytest.approx(7.0, abs=1e-10)


def test_entropy_hand_computed_clusters():
    # rows e1, e1, e2: G/3 has eigenvalues 2/3 and 1/3
    Z = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 5.0]])
    expected = _binary_entropy(1 / 3)
    for method in mi.METHODS:
        assert mi.matrix_entropy(Z, method=method) == pytest.approx(expected, abs=1e-12)
    # k orthogonal balanced clusters -> log k, effective rank k
    Z = np.repeat(np.eye(4), 5, axis=0)
    assert mi.matrix_entropy(Z) == pytest.approx(math.log(4), abs=1e-12)
    assert mi.effective_rank(Z) == pytest.approx(4.0, abs=1e-10)


def test_entropy_two_vectors_at_angle():
    # two unit rows with cosine c: G/2 has eigenvalues (1 +- c)/2
    for c in (-0.9, -0.3, 0.0, 0.5, 0.99):
        Z = np.array([[1.0, 0.0], [c, math.sqrt(1 - c * c)]])
        assert mi.matrix_entropy(Z) == pytest.approx(_binary_entropy((1 + c) / 2), abs=1e-12)


def test_parallel_rows_have_zero_entropy_and_zero_mi():
    Z1 = np.random.default_rng(1).standard_normal((12, 4))
    Z2 = np.outer(np.abs(np.arange(1, 13.0)), [1.0, 2.0, -1.0])  # all rows parallel: G2 = 11^T
    assert mi.matrix_entropy(Z2) == pytest.approx(0.0, abs=1e-12)
    assert mi.mutual_information(Z1, Z2) == pytest.approx(0.0, abs=1e-12)
    assert mi.hdr(Z1, Z2) == pytest.approx(1.0, abs=1e-12)


def test_block_gram_mi_equals_entropy():
    # G is a 0/1 block matrix, so G o G = G and I(Z; Z) = H(Z)
    Z = np.repeat(np.eye(3), [2, 3, 5], axis=0)
    H = -sum(p * math.log(p) for p in (0.2, 0.3, 0.5))
    assert mi.mutual_information(Z, Z) == pytest.approx(H, abs=1e-12)
    assert mi.mir(Z, Z) == pytest.approx(1.0, abs=1e-12)
    assert mi.hdr(Z, Z) == pytest.approx(0.0, abs=1e-12)


def test_entropy_of_spectrum():
    assert mi.entropy_of_spectrum([0.5, 0.5, 0.0]) == pytest.approx(math.log(2), abs=1e-15)
    assert mi.entropy_of_spectrum(np.ones(8) / 8) == pytest.approx(math.log(8), abs=1e-14)
    with pytest.raises(ValueError, match="sum to 1"):
        mi.entropy_of_spectrum([0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative"):
        mi.entropy_of_spectrum([1.1, -0.1])


# ----------------------------------------------------------------------------- fast path == n x n
SHAPES = [(5, 3, 2), (40, 3, 4), (64, 8, 8), (100, 10, 10), (200, 16, 5), (30, 50, 2), (25, 60, 70),
          (300, 64, 3), (12, 1, 5)]


@pytest.mark.filterwarnings("ignore::mylib.information.matrix_info.SlowPathWarning")  # exactness at every size
@pytest.mark.parametrize("n,d1,d2", SHAPES)
def test_fast_equals_gram_numpy(n, d1, d2):
    rng = np.random.default_rng(n * 1000 + d1 * 10 + d2)
    Z1 = rng.standard_normal((n, d1))
    Z2 = rng.standard_normal((n, d2)) + 0.5  # not centred
    ref = _reference(Z1, Z2)
    for method in mi.METHODS:
        s = mi.information_summary(Z1, Z2, method=method)
        assert isinstance(s["MI"], float)
        assert abs(s["H1"] - ref[0]) < TOL and abs(s["H2"] - ref[1]) < TOL and abs(s["H12"] - ref[2]) < TOL
        assert abs(s["MI"] - (ref[0] + ref[1] - ref[2])) < TOL
        if d1 == 1:  # all rows parallel up to sign: H1 = 0 and MIR is undefined
            assert abs(s["H1"]) < TOL and math.isnan(s["MIR"])
            with pytest.raises(ValueError, match="MIR is undefined"):
                mi.mir(Z1, Z2, method=method)
        else:
            assert abs(s["MIR"] - mi.mir(Z1, Z2, method="gram")) < TOL
        assert abs(s["HDR"] - mi.hdr(Z1, Z2, method="gram")) < TOL


@pytest.mark.parametrize("n,r1,r2", [(400, 3, 7), (150, 12, 2), (90, 5, 5)])
def test_fast_equals_gram_rank_deficient(n, r1, r2):
    """Low-rank inputs in high dimension: the rank reduction makes r1 r2 < n."""
    rng = np.random.default_rng(7)
    Z1 = rng.standard_normal((n, r1)) @ rng.standard_normal((r1, 40))
    Z2 = rng.standard_normal((n, r2)) @ rng.standard_normal((r2, 30))
    g = mi.information_summary(Z1, Z2, method="gram")
    for method in ("fast", "auto"):
        f = mi.information_summary(Z1, Z2, method=method)
        for k in g:
            assert abs(f[k] - g[k]) < TOL, (method, k)


@pytest.mark.parametrize("grouping", [True, False])
def test_grouped_kronecker_path(monkeypatch, grouping):
    """Heads of labels have C distinct rows: the grouped sum, the streamed sum and the n x n path agree."""
    monkeypatch.setattr(mi, "_GROUPING", grouping)
    rng = np.random.default_rng(21)
    n, C = 240, 6
    y = rng.integers(0, C, n)
    W = rng.standard_normal((C, 9))
    Z1 = W[y] @ rng.standard_normal((9, 9)) + 0.3 * rng.standard_normal((n, 9))
    Z2 = W[y]
    ref = _reference(Z1, Z2)
    for A, B in [(Z1, Z2), (Z2, Z1), (Z2, 2.0 * Z2)]:  # grouped on the second side, the first side, both
        s = mi.information_summary(A, B, method="fast")
        r = _reference(A, B)
        assert abs(s["H12"] - r[2]) < TOL and abs(s["MI"] - (r[0] + r[1] - r[2])) < TOL
    assert abs(mi.joint_entropy(torch.as_tensor(Z1), torch.as_tensor(Z2), method="fast").item() - ref[2]) < TOL
    groups = mi._groups(torch.as_tensor(Z2))
    assert (groups is not None) == grouping
    if grouping:
        assert groups[0].shape[0] == C


@pytest.mark.filterwarnings("ignore::mylib.information.matrix_info.SlowPathWarning")
def test_fast_equals_gram_torch_float64():
    g = torch.Generator().manual_seed(3)
    for n, d1, d2 in [(80, 6, 3), (50, 70, 4), (120, 10, 10)]:
        Z1 = torch.randn(n, d1, generator=g, dtype=torch.float64)
        Z2 = torch.randn(n, d2, generator=g, dtype=torch.float64)
        ref = _reference(Z1.numpy(), Z2.numpy())
        for method in mi.METHODS:
            out = mi.joint_entropy(Z1, Z2, method=method)
            assert isinstance(out, torch.Tensor) and out.ndim == 0 and out.dtype == torch.float64
            assert abs(float(out) - ref[2]) < TOL
            assert abs(float(mi.matrix_entropy(Z1, method=method)) - ref[0]) < TOL


def test_torch_float32_close_to_float64():
    g = torch.Generator().manual_seed(4)
    Z1, Z2 = torch.randn(200, 12, generator=g), torch.randn(200, 4, generator=g)
    for method in mi.METHODS:
        v32 = mi.mir(Z1, Z2, method=method)
        assert v32.dtype == torch.float32
        v64 = mi.mir(Z1.double().numpy(), Z2.double().numpy())
        assert abs(float(v32) - v64) < 1e-4


def test_auto_never_forms_large_gram():
    """n = 20000 would need a 3.2 GB Gram matrix and an O(n^3) eigensolve; auto must avoid it."""
    rng = np.random.default_rng(5)
    n = 20000
    y = rng.integers(0, 4, n)
    Z1 = rng.standard_normal((n, 6))
    Z2 = rng.standard_normal((4, 3))[y]
    s = mi.information_summary(Z1, Z2)
    assert 0 < s["MIR"] < 1 and 0 < s["H12"] <= math.log(18) + 1e-12


def test_use_kronecker_rule():
    assert not mi._use_kronecker(100, 10, 10, 10, 10)       # k = n
    assert not mi._use_kronecker(100, 20, 10, 20, 10)       # k > n
    assert mi._use_kronecker(4096, 64, 10, 64, 64)          # the paper's setting
    assert not mi._use_kronecker(1000, 30, 30, 30, 30)      # k = 900 < n but costlier


# ----------------------------------------------------------------------------- invariants
def test_invariances():
    rng = np.random.default_rng(8)
    Z1, Z2 = rng.standard_normal((60, 5)), rng.standard_normal((60, 4))
    base = mi.information_summary(Z1, Z2)
    scale = rng.uniform(0.1, 10, size=(60, 1)) * rng.choice([-1.0, 1.0], size=(60, 1))  # row scaling and signs
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))  # rotation of the feature space
    perm = rng.permutation(60)                          # same permutation of the samples
    for A, B in [(Z1 * scale, Z2), (Z1 @ Q, Z2), (Z1[perm], Z2[perm])]:
        s = mi.information_summary(A, B)
        for k in base:
            assert s[k] == pytest.approx(base[k], abs=1e-10)
    # symmetry of MI, MIR, HDR
    s = mi.information_summary(Z2, Z1)
    for k in ("MI", "MIR", "HDR", "H12"):
        assert s[k] == pytest.approx(base[k], abs=1e-12)


def test_bounds_on_random_inputs():
    """0 <= H <= log min(n, d); max(H1, H2) <= H12 <= H1 + H2, hence 0 <= MIR <= 1 and 0 <= HDR <= 1."""
    rng = np.random.default_rng(9)
    for _ in range(25):
        n, d1, d2 = rng.integers(2, 60), rng.integers(1, 12), rng.integers(1, 12)
        Z1 = rng.standard_normal((n, d1)) + rng.standard_normal(d1)
        Z2 = rng.standard_normal((n, d2)) * rng.uniform(0.1, 3, d2)
        s = mi.information_summary(Z1, Z2)
        assert -1e-12 <= s["H1"] <= math.log(min(n, d1)) + 1e-12
        assert max(s["H1"], s["H2"]) - 1e-10 <= s["H12"] <= s["H1"] + s["H2"] + 1e-10
        if min(s["H1"], s["H2"]) > 1e-9:
            assert -1e-9 <= s["MIR"] <= 1 + 1e-9
        assert -1e-12 <= s["HDR"] <= 1 + 1e-12


def test_spectrum_sums_to_one_and_matches():
    Z = np.random.default_rng(10).standard_normal((50, 6))
    fast = mi.gram_spectrum(Z)
    full = mi.gram_spectrum(Z, method="gram")
    assert fast.shape == (6,) and full.shape == (50,)
    assert fast.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(fast, full[:6], atol=1e-12)
    np.testing.assert_allclose(full[6:], 0, atol=1e-12)
    assert np.all(np.diff(fast) <= 1e-15)


# ----------------------------------------------------------------------------- torch and autograd
def test_output_types():
    Z = np.random.default_rng(11).standard_normal((10, 3))
    assert isinstance(mi.matrix_entropy(Z), float)
    t = torch.as_tensor(Z)
    out = mi.mir(t, Z)  # mixed numpy / torch -> tensor
    assert isinstance(out, torch.Tensor) and out.ndim == 0
    assert float(out) == pytest.approx(mi.mir(Z, Z), abs=1e-12)
    assert isinstance(mi.normalize_rows(Z), np.ndarray)
    half = mi.matrix_entropy(t.to(torch.bfloat16))
    assert half.dtype == torch.float32


@pytest.mark.parametrize("method", mi.METHODS)
def test_gradients_finite_and_correct(method):
    g = torch.Generator().manual_seed(12)
    Z1 = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Z2 = torch.randn(9, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: mi.mutual_information(a, b, method=method), (Z1, Z2),
                                    eps=1e-6, atol=1e-6)
    assert torch.autograd.gradcheck(lambda a, b: mi.mir(a, b, method=method), (Z1, Z2), eps=1e-6, atol=1e-6)


def test_gradients_finite_with_zero_eigenvalues():
    """Duplicate rows give exactly zero eigenvalues of the n x n Gram: 0 log 0 must not give NaN."""
    base = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    Z = base.repeat(4, 1).clone().requires_grad_(True)
    W = torch.eye(3, dtype=torch.float64).repeat(4, 1)
    for method in mi.METHODS:
        Z.grad = None
        loss = mi.mir(Z, W, method=method) + mi.matrix_entropy(Z, method=method) + mi.hdr(Z, W, method=method)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(Z.grad).all()
    Zf = base.float().repeat(4, 1).requires_grad_(True)
    mi.mutual_information(Zf, W.float()).backward()
    assert torch.isfinite(Zf.grad).all()


# ----------------------------------------------------------------------------- errors
BAD = [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN or inf"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or inf"),
    (np.ones(3), "2-D"),
    (np.ones((2, 2, 2)), "2-D"),
    (np.zeros((0, 3)), "empty"),
    (np.zeros((3, 0)), "empty"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), "all-zero row"),
    ("abc", "numeric"),
]


@pytest.mark.parametrize("Z,msg", BAD)
def test_bad_input_raises(Z, msg):
    good = np.ones((2, 2)) + np.eye(2)
    with pytest.raises(ValueError, match=msg):
        mi.matrix_entropy(Z)
    if np.ndim(Z) == 2 and np.shape(Z)[0] == 2:
        for f in (mi.mutual_information, mi.mir, mi.hdr, mi.joint_entropy, mi.information_summary):
            with pytest.raises(ValueError, match=msg):
                f(good, Z)
            with pytest.raises(ValueError, match=msg):
                f(Z, good)


def test_other_errors():
    Z = np.random.default_rng(14).standard_normal((5, 3))
    with pytest.raises(ValueError, match="same number of rows"):
        mi.mutual_information(Z, Z[:4])
    with pytest.raises(ValueError, match="unknown method"):
        mi.matrix_entropy(Z, method="svd")
    with pytest.raises(ValueError, match="unknown method"):
        mi.mir(Z, Z, method=None)
    with pytest.raises(ValueError, match="all-zero row"):
        mi.mir(torch.zeros(5, 3), Z)
    parallel = np.ones((5, 2))
    with pytest.raises(ValueError, match="MIR is undefined"):
        mi.mir(Z, parallel)
    with pytest.raises(ValueError, match="HDR is undefined"):
        mi.hdr(parallel, 2 * parallel)
    s = mi.information_summary(Z, parallel)
    assert math.isnan(s["MIR"]) and s["HDR"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        mi.matrix_entropy(torch.tensor([[1.0, float("nan")]]))


# ----------------------------------------------------------------------------- float32 fast path, guards
def _power_law_relu(n=3000, d=128, C=10, alpha=1.5, seed=0):
    """ReLU features with a power-law spectrum (the case where a max(n, d) eps cutoff lost 97 of 128 directions)."""
    from mylib.linalg import haar_orthonormal
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (np.arange(1, d + 1) ** -alpha)[None, :]
    X = np.maximum(X @ haar_orthonormal(d, d, seed + 1).T, 0.0)
    y = rng.integers(0, C, n)
    return X, rng.standard_normal((C, d))[y]


def test_float32_fast_path_on_power_law_spectrum():
    Z1, Z2 = _power_law_relu()
    ref = mi.information_summary(Z1, Z2, method="fast")  # float64
    s = mi.information_summary(torch.tensor(Z1, dtype=torch.float32), torch.tensor(Z2, dtype=torch.float32),
                               method="fast")
    assert s["MIR"].dtype == torch.float32
    assert abs(float(s["MIR"]) - ref["MIR"]) <= 1e-4
    assert abs(float(s["H12"]) - ref["H12"]) <= 1e-4
    # the float32 d x d spectrum keeps every real direction here (the old cutoff kept 31 of 128)
    red = mi._Reduced.of(torch.tensor(Z1, dtype=torch.float32), "Z1", "fast")
    assert red.rank == 128


def test_float32_power_law_fails_with_old_cutoff(monkeypatch):
    """The mutation: the old cutoff lambda_max max(n, d) eps drops the tail and misses 1e-4 by far."""
    Z1, Z2 = _power_law_relu()
    ref = mi.information_summary(Z1, Z2, method="fast")
    old = mi._rank_tol
    monkeypatch.setattr(mi, "_rank_tol", lambda ev, size: old(ev, max(size, 3000)))
    s = mi.information_summary(torch.tensor(Z1, dtype=torch.float32), torch.tensor(Z2, dtype=torch.float32),
                               method="fast")
    assert abs(float(s["MIR"]) - ref["MIR"]) > 1e-3


def test_fast_warns_when_costlier_than_gram():
    rng = np.random.default_rng(0)
    Z1, Z2 = rng.standard_normal((60, 80)), rng.standard_normal((60, 30))  # k = 60 x 30 = 1800 >> n = 60
    with pytest.warns(mi.SlowPathWarning, match="Kronecker dimension"):
        mi.information_summary(Z1, Z2, method="fast")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cheap case and auto stay silent
        mi.information_summary(Z1, Z2, method="auto")
        y = rng.integers(0, 5, 2000)
        mi.information_summary(rng.standard_normal((2000, 16)), rng.standard_normal((5, 8))[y], method="fast")


def _forbid_host_sync(monkeypatch):
    """Make every tensor -> Python conversion raise (a stand-in for a GPU host synchronisation)."""
    def boom(*args, **kwargs):
        raise AssertionError("host synchronisation")
    for name in ("item", "__float__", "__int__", "__bool__", "tolist", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, boom)


def test_information_loss_path_has_no_host_sync(monkeypatch):
    g = torch.Generator().manual_seed(0)
    Z = torch.relu(torch.randn(64, 16, generator=g, dtype=torch.float64))
    Z[3] = 0.0  # a dead ReLU row
    W = torch.randn(10, 16, generator=g, dtype=torch.float64)[torch.arange(64) % 10]
    Z.requires_grad_(True)
    W.requires_grad_(True)
    keep = torch.linalg.vector_norm(Z.detach(), dim=1) > 0
    ref = mi.information_summary(Z.detach()[keep], W.detach()[keep], method="gram")
    _forbid_host_sync(monkeypatch)
    s = mi.information_summary(Z, W, method="gram", zero_rows="drop", check_finite=False)
    (s["MI"] - s["H1"] + s["MIR"] + s["HDR"]).backward()
    monkeypatch.undo()
    for k in ref:
        assert abs(float(s[k].detach()) - float(ref[k])) < 1e-10, k
    assert bool(torch.isfinite(Z.grad).all()) and float(Z.grad[3].abs().sum()) == 0.0


def test_host_sync_guard_catches_default_path(monkeypatch):
    """The guard can fail: the default (validated) path scans for NaN and zero rows on the host."""
    Z = torch.randn(20, 4, dtype=torch.float64)
    _forbid_host_sync(monkeypatch)
    with pytest.raises(AssertionError, match="host synchronisation"):
        mi.information_summary(Z, Z + 1.0, method="gram")


@pytest.mark.parametrize("dtype,scale", [(np.float32, 1e20), (np.float64, 1e155), (np.float32, 1e-25),
                                         (np.float64, 1e-160)])
def test_extreme_row_norms(dtype, scale):
    rng = np.random.default_rng(2)
    Z1, Z2 = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    ref = mi.information_summary(Z1, Z2)
    for numpy_in in (True, False):
        A = (Z1 * scale).astype(dtype)
        B = Z2.astype(dtype)
        if not numpy_in:
            A, B = torch.from_numpy(A), torch.from_numpy(B)
        s = mi.information_summary(A, B)
        tol = 1e-4 if dtype == np.float32 else 1e-10
        for k in ("H1", "H12", "MI", "MIR", "HDR"):
            assert abs(float(s[k]) - ref[k]) < tol, (k, scale)
        assert abs(float(mi.matrix_entropy(A)) - ref["H1"]) < tol


@pytest.mark.parametrize("fn", [mi.matrix_entropy, mi.effective_rank, mi.gram_spectrum, mi.normalize_rows])
def test_complex_input_is_type_error(fn):
    Z = np.ones((5, 3)) + 1j * np.arange(15.0).reshape(5, 3)
    with pytest.raises(TypeError, match="Z is complex"):
        fn(Z)
    with pytest.raises(TypeError, match="Z is complex"):
        fn(torch.as_tensor(Z))


def test_complex_pair_names_the_argument():
    Z = np.random.default_rng(0).standard_normal((6, 3))
    for f in (mi.mutual_information, mi.mir, mi.hdr, mi.joint_entropy, mi.information_summary):
        with pytest.raises(TypeError, match="Z2 is complex"):
            f(Z, Z + 1j)
        with pytest.raises(TypeError, match="Z1 is complex"):
            f(torch.as_tensor(Z + 0j), torch.as_tensor(Z))


def test_zero_rows_option():
    Z = np.random.default_rng(1).standard_normal((10, 3))
    Z[0] = 0
    with pytest.raises(ValueError, match="all-zero row"):
        mi.information_summary(Z, Z + 1)
    with pytest.raises(ValueError, match="zero_rows"):
        mi.information_summary(Z, Z + 1, zero_rows="skip")
    s = mi.information_summary(Z, Z + 1, zero_rows="drop")
    r = mi.information_summary(Z[1:], Z[1:] + 1)
    assert all(abs(s[k] - r[k]) < 1e-12 for k in r)


def test_elementwise_product_variant_is_basis_dependent():
    from mylib.information import collapse as nc
    vals = [mi.elementwise_product_mir(nc.simplex_etf(10, 10, seed=r), nc.simplex_etf(10, 10, seed=r))["MIR"]
            for r in range(5)]
    assert min(vals) > 1.0 and max(vals) - min(vals) > 1e-3  # above 1, and depends on the rotation
    M = nc.simplex_etf(10, 10, seed=0)
    assert abs(mi.mir(M, M) - nc.nc_mir(10)) < 1e-12  # the matrix MIR does not
    # with the joint entropy of G1 o G2 it would be the matrix MIR: the variant differs from it
    s = mi.elementwise_product_mir(M, M)
    assert abs(s["H12"] - mi.joint_entropy(M, M)) > 1e-3
    with pytest.raises(ValueError, match="same shape"):
        mi.elementwise_product_mir(np.ones((3, 2)), np.ones((3, 3)))
