"""The experiment runner: records, skipping finished runs, refusing full without CUDA, resuming a killed run."""
import json

import jupytext
import nbformat
import pytest
import torch

from mylib import experiments

NOTEBOOK = '''\
```{code-cell} ipython3
:tags: [parameters]
profile = "smoke"
seed = 0
```

```{code-cell} ipython3
import os, pathlib, torch
import mylib
from mylib.runtime import Checkpointer, run_dir
mylib.seed_everything(seed)
ck = Checkpointer(run_dir("toy", profile, seed, {"steps": 6}))
state = ck.load() or {"w": torch.zeros(2), "step": 0}
w, start = state["w"], state["step"]
for step in range(start, 6):
    w = w + torch.randn(2)
    ck.save({"w": w, "step": step + 1})
    if step == 2 and os.environ.get("TOY_KILL") and not pathlib.Path(os.environ["TOY_KILL"]).exists():
        pathlib.Path(os.environ["TOY_KILL"]).touch()
        raise RuntimeError("simulated kill")
```

```{code-cell} ipython3
mylib.summary({"w0": round(float(w[0]), 6), "w1": round(float(w[1]), 6)})
```
'''


@pytest.fixture()
def toy_notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "toy_run.md").write_text(NOTEBOOK)
    nb = jupytext.reads(NOTEBOOK, fmt="md:myst")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "toy_run.ipynb")
    return folder


def test_summary_prints_and_records(tmp_path, monkeypatch, capsys):
    target = tmp_path / "n.json"
    monkeypatch.setenv(experiments.RECORD_ENV, str(target))
    experiments.summary({"acc": 0.5, "nan": float("nan")})
    assert "acc : 0.5" in capsys.readouterr().out
    assert json.loads(target.read_text()) == {"acc": 0.5, "nan": "nan"}
    with pytest.raises(ValueError):
        experiments.summary({})


def test_full_profile_refused_without_cuda(toy_notebooks, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("machine has CUDA")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        experiments.run_experiments("full", notebooks_dir=toy_notebooks, out=tmp_path / "r")
    with pytest.raises(ValueError, match="unknown profile"):
        experiments.run_experiments("huge", notebooks_dir=toy_notebooks, out=tmp_path / "r")
    with pytest.raises(ValueError, match="matches no notebook"):
        experiments.list_notebooks(["part9"], toy_notebooks)
    assert experiments.main(["--profile", "full", "--out", str(tmp_path / "r"), "--only", "part1"]) == 2


def test_killed_run_resumes_to_identical_numbers(toy_notebooks, tmp_path, monkeypatch, capsys):
    clean = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "clean")
    assert clean[0]["status"] == "ok" and set(clean[0]["numbers"]) == {"w0", "w1"}

    monkeypatch.setenv("TOY_KILL", str(tmp_path / "killed-once"))
    first = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "killed")
    assert first[0]["status"] == "failed" and "simulated kill" in first[0]["error"]
    second = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "killed")
    assert second[0]["status"] == "ok"
    assert second[0]["numbers"] == clean[0]["numbers"]

    third = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "killed")
    assert "skip toy_run-seed0" in capsys.readouterr().out
    assert third[0]["finished"] == second[0]["finished"]
    record = json.loads((tmp_path / "killed/smoke/toy_run-seed0.json").read_text())
    assert {"profile", "seed", "device", "mylib_version", "wall_time_s", "numbers"} <= set(record)


def test_results_tables_from_records(tmp_path):
    entry = experiments.PAPER_NUMBERS[0]
    folder = tmp_path / "full"
    folder.mkdir()
    for seed, acc in ((0, 95.0), (1, 96.0)):
        (folder / f"{entry['notebook']}-seed{seed}.json").write_text(json.dumps({
            "notebook": entry["notebook"], "profile": "full", "seed": seed, "status": "ok", "device": "cuda: X",
            "wall_time_s": 1.0, "numbers": {entry["key"]: acc}}))
    comparison, runs = experiments.results_tables(tmp_path)
    row = comparison.iloc[0]
    assert row["paper"] == entry["paper"]
    assert row["ours (full)"] == "95.50 ± 0.71 (2 seeds)"
    assert row["ours (smoke)"] == "not run yet"
    assert len(runs) == 2 and set(runs["status"]) == {"ok"}
