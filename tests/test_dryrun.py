"""The full profile's dry run (issue 14): every notebook at the full configuration on the CPU, capped.

``make dryrun`` (part of ``make test``) runs ``python -m mylib.experiments --profile full --dry-run --rerun``, which
writes one record per notebook under ``results/full-dryrun/``, then this file with ``MYLIB_DRYRUN_DIR`` pointing
there checks every record. Without that variable only the dry run's own mechanics are tested (a dry-run training
killed and resumed ends in the state of an uninterrupted one).
"""
import json
import os
from pathlib import Path

import pytest
import torch

from mylib import data, runtime
from mylib.nn import training

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.md"))
DRYRUN_DIR = os.environ.get("MYLIB_DRYRUN_DIR")

#: Notebooks whose full-profile code does not yet finish a dry run, with the reason (tests/dryrun_pending.txt, which
#: `make dryrun` also reads to skip them).
PENDING: dict[str, str] = dict(
    (line.split(":", 1)[0].strip(), line.split(":", 1)[1].strip())
    for line in (ROOT / "tests" / "dryrun_pending.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#"))


@pytest.mark.skipif(not DRYRUN_DIR, reason="MYLIB_DRYRUN_DIR not set (make dryrun sets it)")
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_runs_the_full_configuration_dry(notebook):
    if notebook in PENDING:
        pytest.skip(f"dry run pending: {PENDING[notebook]}")
    path = Path(DRYRUN_DIR) / f"{notebook}-seed0.json"
    assert path.exists(), f"no dry-run record {path}"
    rec = json.loads(path.read_text())
    assert rec["dry_run"] is True and rec["profile"] == "full"
    assert rec["status"] == "ok", f"{notebook} failed in the dry run:\n{rec['error']}"
    assert rec["numbers"], f"{notebook} recorded no summary numbers"


@pytest.fixture()
def dry(monkeypatch, tmp_path):
    monkeypatch.setenv(runtime.DRYRUN_ENV, "1")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "data"))
    data.write_fake_cifar(tmp_path / "data", "cifar10", n_train=250, n_test=100)
    return tmp_path


def test_pending_list_names_notebooks():
    assert set(PENDING) <= set(NOTEBOOKS) and all(PENDING.values())


def _paper_config(**kw):
    """The paper's CIFAR recipe (SGD, Nesterov, cosine, 200 epochs of batch 128), uncapped."""
    return training.TrainConfig(epochs=200, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9,
                                weight_decay=5e-4, nesterov=True, schedule="cosine", eval_every=1, **kw)


def test_dry_run_caps_a_paper_scale_training(dry):
    train, test = data.load_cifar_tensors("cifar10", root="unused", download=False)  # the real loader
    assert train.x.shape == (250, 3, 32, 32) and train.x.dtype == torch.uint8
    torch.manual_seed(0)
    model = training.build_model("wrn-28-2", num_classes=10)
    hist = training.fit(model, train, test, _paper_config(), train_transform=training.cifar_transform(True),
                        eval_transform=training.cifar_transform(False), show_progress=False)
    assert [h["epoch"] for h in hist] == [1, 2]  # 2 epochs, not 200
    assert hist[-1]["lr"] == pytest.approx(training.lr_at(1 * 2, 200 * 2, _paper_config()))  # the paper schedule


def test_dry_run_killed_and_resumed_ends_in_the_same_state(dry):
    train, test = data.load_cifar_tensors("cifar10", root="unused", download=False)
    cfg = _paper_config()

    def run(folder, hooks=()):
        torch.manual_seed(0)
        model = training.build_model("wrn-28-2", num_classes=10)
        hist = training.fit(model, train, test, cfg, checkpoint_dir=folder, hooks=hooks,
                            train_transform=training.cifar_transform(True),
                            eval_transform=training.cifar_transform(False), show_progress=False)
        return hist, model

    def kill_in_epoch_2(ctx):
        if ctx.epoch == 2:
            raise runtime.TrainingInterrupted("simulated kill")

    full_hist, full_model = run(None)
    folder = runtime.run_dir("dryrun-test", "full", 0, cfg.as_dict(), root=dry / "runs")
    with pytest.raises(runtime.TrainingInterrupted):
        run(folder, hooks=[kill_in_epoch_2])
    assert runtime.Checkpointer(folder).load(map_location="meta")["epoch"] == 1
    torch.manual_seed(123)
    hist, model = run(folder)
    assert hist == full_hist
    for (k, a), b in zip(model.state_dict().items(), full_model.state_dict().values()):
        assert torch.equal(a, b), k
