from pathlib import Path

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


def test_get_device_follows_cuda_and_rejects_bad_names(monkeypatch):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert mylib.get_device().type == expected
    assert mylib.get_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert mylib.get_device().type == "cpu"
    with pytest.raises(ValueError, match="cuda"):
        mylib.get_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert mylib.get_device().type == "cuda"  # the CUDA branch is taken when CUDA is present
    for bad in ("gpu", "cuda:x", 3, "meta"):
        with pytest.raises(ValueError, match="prefer"):
            mylib.get_device(bad)


def test_seed_everything_rejects_seeds_numpy_would_wrap():
    with pytest.raises(ValueError, match="2\\*\\*32"):
        mylib.seed_everything(2**32 + 1)
    mylib.seed_everything(2**32 - 1)  # the largest accepted seed


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
    # arrays are hashed by their full content (numpy abbreviates reprs beyond 1000 elements)
    x = np.zeros(2000)
    y = x.copy()
    y[1000] = 1.0
    assert runtime.run_dir("e", "smoke", 0, {"w": x}, root=tmp_path) != runtime.run_dir("e", "smoke", 0, {"w": y},
                                                                                          root=tmp_path)
    assert runtime.run_dir("e", "smoke", 0, {"w": x}, root=tmp_path) == runtime.run_dir("e", "smoke", 0,
                                                                                         {"w": x.copy()},
                                                                                         root=tmp_path)
    assert runtime.run_dir("a/b", "smoke", 0, root=tmp_path).parent == tmp_path / "a" / "b"


def test_run_dir_validates_its_arguments(tmp_path):
    for bad in ("../..", "/etc", "a/../../b", "", "a//b", "a b"):
        with pytest.raises(ValueError, match="experiment"):
            runtime.run_dir(bad, "smoke", 0, root=tmp_path)
    with pytest.raises(ValueError, match="profile"):
        runtime.run_dir("e", "huge", 0, root=tmp_path)
    for seed in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="seed"):
            runtime.run_dir("e", "smoke", seed, root=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing created by a refused call


def test_run_dir_carries_the_code_version(tmp_path, monkeypatch):
    monkeypatch.setenv("MYLIB_CODE_VERSION", "v1")
    a = runtime.run_dir("e", "smoke", 0, root=tmp_path)
    monkeypatch.setenv("MYLIB_CODE_VERSION", "v2")
    b = runtime.run_dir("e", "smoke", 0, root=tmp_path)
    assert a != b and a.name.endswith("-v1") and b.name.endswith("-v2")  # other code never resumes a checkpoint
    monkeypatch.setenv("MYLIB_CODE_VERSION", "../x")
    with pytest.raises(ValueError, match="MYLIB_CODE_VERSION"):
        runtime.code_version()
    monkeypatch.delenv("MYLIB_CODE_VERSION")
    assert runtime.code_version() == "lib-" + runtime.library_hash()


def test_library_hash_changes_with_any_source_file(tmp_path, monkeypatch):
    import shutil

    lib = tmp_path / "mylib"
    shutil.copytree(Path(runtime.__file__).parent, lib, ignore=shutil.ignore_patterns("__pycache__"))
    fake = lib / "runtime.py"
    monkeypatch.setattr(runtime, "__file__", str(fake))
    before = runtime.library_hash()
    (lib / "sub").mkdir()
    (lib / "sub" / "new.py").write_text("x = 1\n")
    assert runtime.library_hash() != before


def test_runs_root_prefers_env_then_drive(tmp_path, monkeypatch):
    monkeypatch.setenv("MYLIB_RUNS", str(tmp_path))
    assert runtime.runs_root() == tmp_path
    monkeypatch.delenv("MYLIB_RUNS")
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    assert runtime.runs_root() is None


def test_checkpointer_rejects_bad_every_and_names_a_corrupt_file(tmp_path):
    for bad in (-3, 0, 1.5):
        with pytest.raises(ValueError, match="every"):
            runtime.Checkpointer(tmp_path, every=bad)
    ck = runtime.Checkpointer(tmp_path / "run")
    ck.save({"w": torch.ones(3), "step": 1})
    data = ck.path.read_bytes()
    ck.path.write_bytes(data[: len(data) // 2])  # truncated by a kill outside save()
    with pytest.raises(RuntimeError, match="checkpoint.pt.*(truncated|corrupt)"):
        ck.load()
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


def test_checkpointer_temporary_names_are_unique(tmp_path, monkeypatch):
    names = []
    real = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: (names.append(str(f)), real(obj, f)))
    ck = runtime.Checkpointer(tmp_path)
    ck.save({"step": 1})
    ck.save({"step": 2})
    assert len(set(names)) == 2 and all(Path(n).parent == tmp_path for n in names)


def test_resume_restores_rng_whatever_the_map_location(tmp_path):
    """A checkpoint loaded onto another device (meta stands in for CUDA) still restores the CPU RNG states."""
    ck = runtime.Checkpointer(tmp_path)
    torch.manual_seed(5)
    ck.save({"w": torch.arange(3.0), "step": 4})
    expected = torch.rand(4)
    torch.manual_seed(99)
    state = ck.load(map_location="meta")
    assert state["w"].device.type == "meta" and state["step"] == 4
    assert torch.equal(torch.rand(4), expected)  # the run continues with the saved RNG stream
    torch.manual_seed(99)
    state = ck.load(map_location=lambda storage, loc: storage)  # a callable is passed through to torch.load
    assert torch.equal(state["w"], torch.arange(3.0)) and torch.equal(torch.rand(4), expected)


def test_fit_killed_and_resumed_ends_like_an_uninterrupted_run(tmp_path):
    from mylib.nn import training
    from mylib.data import TensorData

    g = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g))
    cfg = training.TrainConfig(epochs=4, batch_size=16, lr=0.1, eval_every=2)

    def kill_at_epoch_2(ctx):
        if ctx.epoch == 2:
            raise runtime.TrainingInterrupted("simulated kill")

    def run(folder, hooks=()):
        torch.manual_seed(1)
        model = training.build_model("mlp", in_dim=5, num_classes=3, width=8)
        hist = training.fit(model, data, data, cfg, checkpoint_dir=folder, hooks=hooks, show_progress=False)
        return hist, model

    full_hist, full_model = run(None)
    with pytest.raises(runtime.TrainingInterrupted):
        run(tmp_path / "ck", hooks=[kill_at_epoch_2])
    assert runtime.Checkpointer(tmp_path / "ck").load(map_location="meta")["epoch"] == 1
    torch.manual_seed(123)  # whatever the global RNG state, the resumed run restores the saved one
    hist, model = run(tmp_path / "ck")
    assert hist == full_hist
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), full_model.state_dict().values()))


def test_require_device_for_refuses_full_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("MYLIB_ALLOW_CPU", raising=False)
    monkeypatch.delenv("MYLIB_DRYRUN", raising=False)
    assert runtime.require_device_for("smoke").type == "cpu"
    with pytest.raises(RuntimeError, match="needs a CUDA GPU.*allow_cpu=True"):
        runtime.require_device_for("full")
    assert runtime.require_device_for("full", allow_cpu=True).type == "cpu"
    monkeypatch.setenv("MYLIB_DRYRUN", "1")
    assert runtime.require_device_for("full").type == "cpu"
    monkeypatch.setenv("MYLIB_DRYRUN", "0")
    monkeypatch.setenv("MYLIB_ALLOW_CPU", "1")
    assert runtime.require_device_for("full").type == "cpu"
    with pytest.raises(ValueError, match="profile"):
        runtime.require_device_for("huge")


def test_dry_run_cap(monkeypatch):
    monkeypatch.delenv("MYLIB_DRYRUN", raising=False)
    assert runtime.dry_run_cap(100) == 100 and not runtime.is_dry_run()
    monkeypatch.setenv("MYLIB_DRYRUN", "1")
    assert runtime.dry_run_cap(100) == 2 and runtime.dry_run_cap(100, 8) == 8 and runtime.dry_run_cap(1) == 1


def test_forbid_host_sync_catches_every_conversion():
    t = torch.ones(2)
    conversions = [lambda: t.sum().item(), lambda: float(t.sum()), lambda: int(t.sum()), lambda: bool(t.sum()),
                   lambda: t.tolist(), lambda: t.cpu(), lambda: t.numpy(), lambda: np.asarray(t),
                   lambda: range(t.sum().long())]
    for convert in conversions:
        convert()  # fine outside the block
        with runtime.forbid_host_sync(), pytest.raises(runtime.HostSyncError):
            convert()
    with runtime.forbid_host_sync():
        torch.optim.AdamW([torch.nn.Parameter(t.clone())]).step()  # torch's own internals are not flagged
    assert float(t.sum()) == 2.0  # restored afterwards


def test_fit_step_has_no_host_sync(monkeypatch):
    """fit's training step must not convert a tensor to a Python number (one per step would stall a GPU)."""
    from mylib.nn import training
    from mylib.data import TensorData

    g = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(48, 5, generator=g), torch.randint(0, 3, (48,), generator=g))
    for opt in ("sgd", "adamw"):
        cfg = training.TrainConfig(epochs=2, batch_size=16, lr=0.1, optimizer=opt, schedule="cosine")
        with runtime.forbid_host_sync(in_steps=True):
            training.fit(training.build_model("mlp", in_dim=5, num_classes=3, width=8), data, data, cfg,
                         show_progress=False)

    def syncing_loss(logits, y, features=None, model=None):  # the mutation: one .item() per step
        loss = torch.nn.functional.cross_entropy(logits, y)
        return loss if loss.item() >= 0 else loss

    with runtime.forbid_host_sync(in_steps=True), pytest.raises(runtime.HostSyncError, match="item"):
        training.fit(training.build_model("mlp", in_dim=5, num_classes=3, width=8), data, data,
                     training.TrainConfig(epochs=1, batch_size=16), loss_fn=syncing_loss, show_progress=False)


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
