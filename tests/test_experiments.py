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
            "wall_time_s": 1800.0 * (seed + 1), "numbers": {entry["key"]: acc}}))
    comparison, runs = experiments.results_tables(tmp_path)
    row = comparison.iloc[0]
    assert row["paper"] == entry["paper"]
    assert (row["ours (full)"], row["seeds"], row["device"], row["hours"]) == ("95.50 ± 0.71", 2, "cuda: X", 1.5)
    assert row["ours (smoke)"] == "not run yet" and comparison.iloc[1]["seeds"] == 0
    assert len(runs) == 2 and set(runs["status"]) == {"ok"}
    html = experiments.html_table(comparison).data
    assert html.startswith("<table") and "<th>ours (full)</th>" in html and "95.50 ± 0.71" in html
    assert html == experiments.html_table(comparison).data  # deterministic markup (nbval compares it)


def test_record_carries_code_version_and_changed_code_runs_again(toy_notebooks, tmp_path, capsys):
    out = tmp_path / "r"
    first = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out)[0]
    assert first["code_version"] == experiments.code_version_for(toy_notebooks / "toy_run.ipynb")
    assert first["dry_run"] is False and first["timeout_s"] == experiments.DEFAULT_TIMEOUT_S["smoke"]
    ckpts = list((out / "smoke" / "runs" / "toy_run-seed0").rglob("checkpoint.pt"))
    assert len(ckpts) == 1 and ckpts[0].parent.name.endswith(first["code_version"])
    # edit the notebook (changed code): the record is not reused and the old checkpoint is not resumed
    md = toy_notebooks / "toy_run.md"
    md.write_text(md.read_text() + "\n<!-- edited -->\n")
    second = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out)[0]
    assert "code changed" in capsys.readouterr().out
    assert second["code_version"] != first["code_version"] and second["finished"] >= first["finished"]
    assert len(list((out / "smoke" / "runs" / "toy_run-seed0").rglob("checkpoint.pt"))) == 2


def test_rerun_trains_from_scratch(toy_notebooks, tmp_path):
    out = tmp_path / "r"
    experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out)
    ckpt = next((out / "smoke" / "runs" / "toy_run-seed0").rglob("checkpoint.pt"))
    stale = {"w": torch.full((2,), 1e6), "step": 6}  # a final checkpoint that a resume would reuse
    from mylib.runtime import rng_state

    torch.save({**stale, "_rng": rng_state()}, ckpt)
    rec = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out, rerun=True)[0]
    assert rec["status"] == "ok" and abs(rec["numbers"]["w0"]) < 100  # trained again, not loaded


def test_corrupt_record_is_named_and_the_runner_goes_on(toy_notebooks, tmp_path, capsys):
    out = tmp_path / "r"
    experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out, seeds=[0, 1])
    path = out / "smoke" / "toy_run-seed0.json"
    path.write_text(path.read_text()[:40])  # truncated
    with pytest.warns(UserWarning, match="toy_run-seed0.json"):
        recs = experiments.load_records(out / "smoke")
    assert [r["seed"] for r in recs] == [1]  # the other record is still read
    recs = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=out, seeds=[0, 1])
    assert "toy_run-seed0.json: not valid JSON" in capsys.readouterr().out
    assert [r["status"] for r in recs] == ["ok", "ok"]
    assert json.loads(path.read_text())["status"] == "ok"  # rewritten
    assert not [p for p in (out / "smoke").iterdir() if p.name.endswith(".tmp")]


def test_timeout_is_settable_and_checked(toy_notebooks, tmp_path):
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="timeout"):
            experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path, timeout=bad)
    rec = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path, timeout=120)[0]
    assert rec["timeout_s"] == 120


def test_failed_notebook_error_keeps_its_cause():
    long = RuntimeError("papermill header\n" + "x" * 5000 + "\nValueError: the real cause")
    text = experiments._error_text(long)
    assert len(text) <= 2000 and text.startswith("RuntimeError: papermill header") and "the real cause" in text


def test_exclude_skips_named_notebooks(toy_notebooks, tmp_path):
    assert experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path, exclude=["toy_run"]) == []


def test_parallel_jobs_give_the_serial_records(toy_notebooks, tmp_path):
    serial = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "a", seeds=[0, 1])
    par = experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "b", seeds=[0, 1], jobs=2)
    assert [r["status"] for r in par] == ["ok", "ok"] and [r["seed"] for r in par] == [0, 1]
    assert [r["numbers"] for r in par] == [r["numbers"] for r in serial]
    assert par[0]["numbers"] != par[1]["numbers"]  # the seeds reached their own runs
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="jobs"):
            experiments.run_experiments("smoke", notebooks_dir=toy_notebooks, out=tmp_path / "c", jobs=bad)
