import numpy as np
import pytest
import torch

import mylib
from mylib import runtime
from mylib._checks import as_tensor, check_positive_int, check_finite_array, to_output


def test_seed_everything_reproduces_all_generators():
    mylib.seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item())
    mylib.seed_everything(3)
    assert a == (np.random.rand(), torch.rand(1).item())
    with pytest.raises(ValueError):
        mylib.seed_everything(-1)


def test_get_device_falls_back_and_rejects_missing_cuda():
    assert mylib.get_device().type in {"cpu", "cuda"}
    if not torch.cuda.is_available():
        assert mylib.get_device().type == "cpu"
        with pytest.raises(ValueError, match="cuda"):
            mylib.get_device("cuda")


def _train(steps, ck, stop_at=None):
    """A tiny SGD run that draws fresh randomness every step (so RNG restore matters)."""
    torch.manual_seed(0)
    w = torch.zeros(3)
    start = 0
    state = ck.load()
    if state is not None:
        w, start = state["w"], state["step"]
    for step in range(start, steps):
        if stop_at is not None and step == stop_at:
            return None  # simulated kill
        x = torch.randn(3)
        w = w - 0.1 * (w - x)
        ck.save({"w": w, "step": step + 1})
    return w


def test_checkpoint_resume_is_exact(tmp_path):
    full = _train(20, runtime.Checkpointer(None))
    ck = runtime.Checkpointer(tmp_path / "run")
    assert _train(20, ck, stop_at=7) is None
    resumed = _train(20, runtime.Checkpointer(tmp_path / "run"))
    assert torch.equal(full, resumed)


def test_run_dir_off_for_smoke_and_hashes_config(tmp_path, monkeypatch):
    monkeypatch.delenv("MYLIB_RUNS", raising=False)
    assert runtime.run_dir("e", "smoke", 0) is None
    a = runtime.run_dir("e", "smoke", 0, {"lr": 0.1}, root=tmp_path)
    b = runtime.run_dir("e", "smoke", 0, {"lr": 0.2}, root=tmp_path)
    assert a != b and a.exists()


def test_as_tensor_validation():
    with pytest.raises(ValueError, match="NaN"):
        as_tensor(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        as_tensor(np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        as_tensor(np.ones((0, 3)))
    with pytest.raises(ValueError, match="numeric"):
        as_tensor([["a", "b"]])
    t = torch.ones(2, 2, requires_grad=True)
    assert as_tensor(t) is t
    assert to_output(torch.tensor(2.0), True) == 2.0


def test_scalar_checks():
    assert check_positive_int(3.0, "n") == 3
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(ValueError):
            check_positive_int(bad, "n")
    with pytest.raises(ValueError, match="non-negative"):
        check_finite_array([1.0, -1.0], "x", nonnegative=True)


def test_unit_interval_check():
    from mylib._checks import check_unit_interval

    assert check_unit_interval(0.25, "p") == 0.25
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError):
            check_unit_interval(bad, "p")


def test_seed_check_is_shared():
    from mylib._checks import check_seed

    assert check_seed(np.int64(3)) == 3
    for bad in (-1, 1.0, True, "0"):
        with pytest.raises(ValueError, match="non-negative integer"):
            check_seed(bad)


def test_cosine_lr_closed_form():
    from mylib.runtime import cosine_lr

    assert cosine_lr(0, 100, 0.2, warmup_steps=4) == pytest.approx(0.05)  # linear warm-up
    assert cosine_lr(4, 100, 0.2, warmup_steps=4) == pytest.approx(0.2)   # peak after warm-up
    assert cosine_lr(52, 100, 0.2, warmup_steps=4) == pytest.approx(0.1)  # half-way: half the rate
    assert cosine_lr(100, 100, 0.2, eta_min=0.01) == pytest.approx(0.01)  # floor at the end
