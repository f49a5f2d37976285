"""Run the book's notebooks at a profile, resumably, and keep a machine-readable record of every run.

``python -m mylib.experiments --profile full --only part1`` (or ``make experiments PROFILE=full ONLY=part1``)
executes the chosen notebooks with papermill into ``results/<profile>/``:

- ``<name>-seed<k>.ipynb``: the executed notebook;
- ``figures/<name>-seed<k>-<i>.png``: every figure it drew;
- ``<name>-seed<k>.json``: the run record (profile, seed, device, library and torch versions, wall time, and the
  key numbers the notebook reported through :func:`summary`).

A run whose record exists is skipped. Trainings inside a notebook checkpoint under ``results/<profile>/runs``
(through :func:`mylib.runtime.run_dir`), so after a kill or a Colab disconnect the same command resumes the
interrupted notebook where its training stopped and ends with the same numbers. The full profile is refused on a
machine without CUDA unless ``--force`` is given.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .profiles import check_profile
from .records import RECORD_ENV, summary

__all__ = ["summary", "run_experiments", "list_notebooks", "load_records", "results_tables", "PAPER_NUMBERS",
           "main"]

ROOT = Path(__file__).resolve().parents[1]

#: Numbers the papers report, quoted (not measured here) for the results page. ``key`` is the name under which the
#: notebook reports our value through :func:`summary` at the full profile.
PAPER_NUMBERS: list[dict[str, Any]] = [
    {"part": "I", "notebook": "part1_info_losses", "key": "cifar10/wrn-28-2_ce_acc",
     "quantity": "CIFAR-10 test accuracy (%), cross-entropy, WRN-28-2", "paper": 95.35, "source": "song2024unveiling"},
    {"part": "I", "notebook": "part1_info_losses", "key": "cifar10/wrn-28-2_mi+hdr_acc",
     "quantity": "CIFAR-10 test accuracy (%), cross-entropy - MI + |dH| terms", "paper": 95.57,
     "source": "song2024unveiling"},
    {"part": "I", "notebook": "part1_info_losses", "key": "cifar100/wrn-28-8_ce_acc",
     "quantity": "CIFAR-100 test accuracy (%), cross-entropy, WRN-28-8", "paper": 80.77, "source": "song2024unveiling"},
    {"part": "I", "notebook": "part1_info_losses", "key": "cifar100/wrn-28-8_mi+hdr_acc",
     "quantity": "CIFAR-100 test accuracy (%), cross-entropy - MI + |dH| terms", "paper": 80.96,
     "source": "song2024unveiling"},
    {"part": "II", "notebook": "part2_seq_cifar10", "key": "co2l_b200_class_il",
     "quantity": "Seq-CIFAR-10 Class-IL accuracy (%), Co2L, buffer 200", "paper": 65.57, "source": "cha2021co2l"},
    {"part": "II", "notebook": "part2_seq_cifar10", "key": "cila_b200_class_il",
     "quantity": "Seq-CIFAR-10 Class-IL accuracy (%), CILA, buffer 200", "paper": 67.06, "source": "wen2024provable"},
    {"part": "II", "notebook": "part2_seq_cifar10", "key": "co2l_b500_class_il",
     "quantity": "Seq-CIFAR-10 Class-IL accuracy (%), Co2L, buffer 500", "paper": 74.26, "source": "cha2021co2l"},
    {"part": "II", "notebook": "part2_seq_cifar10", "key": "cila_b500_class_il",
     "quantity": "Seq-CIFAR-10 Class-IL accuracy (%), CILA, buffer 500", "paper": 76.03, "source": "wen2024provable"},
]


#: CPU kernel pins (the Makefile's): any x86-64 CPU with AVX2 computes the committed outputs bit for bit. Set for the
#: notebooks the runner executes unless the caller's environment already sets them.
KERNEL_PINS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2",
               "OPENBLAS_CORETYPE": "Haswell"}


def list_notebooks(only: Sequence[str] | None = None, root: Path | None = None) -> list[Path]:
    """The notebooks (paired ``.ipynb``) whose name starts with one of ``only`` (all when None).

    Raises
    ------
    ValueError
        If a filter matches no notebook.
    """
    root = Path(root) if root is not None else ROOT / "notebooks"
    books = sorted(p for p in root.glob("*.ipynb") if p.with_suffix(".md").exists())
    if not only:
        return books
    chosen = []
    for prefix in only:
        match = [p for p in books if p.stem.startswith(prefix)]
        if not match:
            raise ValueError(f"--only {prefix!r} matches no notebook; names: {', '.join(p.stem for p in books)}")
        chosen += [p for p in match if p not in chosen]
    return chosen


def _device_description() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _extract_figures(nb, prefix: str, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                name = f"{prefix}-{len(names) + 1}.png"
                (folder / name).write_bytes(base64.b64decode(png))
                names.append(f"figures/{name}")
    return names


def run_experiments(profile: str, only: Sequence[str] | None = None, seeds: Sequence[int] = (0,),
                    out: str | os.PathLike = "results", force: bool = False, rerun: bool = False,
                    notebooks_dir: str | os.PathLike | None = None, timeout: int = 4 * 3600) -> list[dict]:
    """Execute notebooks at ``profile`` for each seed, skipping runs that already have a record.

    Parameters
    ----------
    profile : {"smoke", "full"}
    only : list of str, optional
        Notebook name prefixes, e.g. ``["part1"]`` or ``["part3_paper"]``.
    seeds : sequence of int
    out : path
        Results folder; runs land in ``out/<profile>/``.
    force : bool
        Allow the full profile without CUDA.
    rerun : bool
        Execute again even where a record exists.

    Returns
    -------
    list of dict
        The run records (new and skipped).

    Raises
    ------
    ValueError
        For an unknown profile, an unmatched ``only`` filter, or the full profile without CUDA (unless ``force``).
    """
    import nbformat
    import papermill
    import torch

    from . import __version__

    check_profile(profile)
    if profile == "full" and not torch.cuda.is_available() and not force:
        raise ValueError("the full profile runs the papers' experiments and needs a CUDA GPU, which this machine "
                         "does not have (torch.cuda.is_available() is False). Use --profile smoke here, run on "
                         "Colab/a GPU machine, or pass --force to run it on the CPU anyway (hours to days).")
    books = list_notebooks(only, Path(notebooks_dir) if notebooks_dir else None)
    dest = Path(out) / profile
    dest.mkdir(parents=True, exist_ok=True)
    records = []
    from .runtime import progress

    for nb_path in progress(books, desc=f"notebooks ({profile})", unit="nb"):
        for seed in seeds:
            stem = f"{nb_path.stem}-seed{seed}"
            record_path = dest / f"{stem}.json"
            if record_path.exists() and not rerun:
                rec = json.loads(record_path.read_text())
                if rec.get("status") == "ok":
                    print(f"skip {stem}: finished {rec.get('finished')}", flush=True)
                    records.append(rec)
                    continue
            numbers_path = dest / f"{stem}.numbers.json"
            numbers_path.unlink(missing_ok=True)
            env_before = {k: os.environ.get(k) for k in (RECORD_ENV, "MYLIB_RUNS", *KERNEL_PINS)}
            for k, v in KERNEL_PINS.items():
                os.environ.setdefault(k, v)
            os.environ[RECORD_ENV] = str(numbers_path.resolve())
            os.environ["MYLIB_RUNS"] = str((dest / "runs").resolve())
            start, started = time.perf_counter(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
            status, error = "ok", None
            try:
                papermill.execute_notebook(str(nb_path), str(dest / f"{stem}.ipynb"),
                                           parameters={"profile": profile, "seed": int(seed)},
                                           cwd=str(nb_path.parent), kernel_name="python3",
                                           execution_timeout=timeout, progress_bar=False)
            except Exception as exc:  # noqa: BLE001 - the record keeps the failure
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            finally:
                for k, v in env_before.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            wall = time.perf_counter() - start
            figures = []
            if (dest / f"{stem}.ipynb").exists():
                figures = _extract_figures(nbformat.read(dest / f"{stem}.ipynb", as_version=4), stem,
                                           dest / "figures")
            rec = {
                "notebook": nb_path.stem, "profile": profile, "seed": int(seed), "status": status, "error": error,
                "device": _device_description(), "mylib_version": __version__, "torch_version": torch.__version__,
                "python": platform.python_version(), "started": started,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_time_s": round(wall, 1),
                "numbers": json.loads(numbers_path.read_text()) if numbers_path.exists() else {},
                "figures": figures,
            }
            numbers_path.unlink(missing_ok=True)
            record_path.write_text(json.dumps(rec, indent=2, sort_keys=True))
            print(f"{status:6s} {stem} in {wall:.1f} s" + (f" ({error.splitlines()[0]})" if error else ""),
                  flush=True)
            records.append(rec)
    return records


def load_records(folder: str | os.PathLike) -> list[dict]:
    """All run records (``*.json`` with a ``notebook`` field) under ``folder``, sorted by notebook and seed."""
    recs = []
    for p in sorted(Path(folder).glob("*.json")):
        if p.name.endswith(".numbers.json"):
            continue
        rec = json.loads(p.read_text())
        if "notebook" in rec:
            recs.append(rec)
    return sorted(recs, key=lambda r: (r["notebook"], r["seed"]))


def _mean_std(values: list[float]) -> str:
    if not values:
        return "not run yet"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{m:.2f} (1 seed)"
    sd = (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{m:.2f} ± {sd:.2f} ({len(values)} seeds)"


def results_tables(results_root: str | os.PathLike = "results"):
    """Tables for the results page, built from the run records under ``results_root/<profile>/``.

    Returns
    -------
    comparison : pandas.DataFrame
        One row per entry of :data:`PAPER_NUMBERS`: the paper's value, ours at the full profile (mean ± std over
        recorded seeds) or "not run yet", and ours at the smoke profile where the notebook reports that key.
    runs : pandas.DataFrame
        One row per run record: notebook, profile, seed, status, device, wall time, number of key numbers.
    """
    import pandas as pd

    root = Path(results_root)
    recs = {prof: load_records(root / prof) if (root / prof).exists() else [] for prof in ("full", "smoke")}

    def values(profile, notebook, key):
        out = []
        for r in recs[profile]:
            v = r["numbers"].get(key) if r["notebook"] == notebook and r["status"] == "ok" else None
            if isinstance(v, (int, float)):
                out.append(float(v))
        return out

    comparison = pd.DataFrame([{
        "part": e["part"], "quantity": e["quantity"], "paper": e["paper"], "source": e["source"],
        "ours (full)": _mean_std(values("full", e["notebook"], e["key"])),
        "ours (smoke)": _mean_std(values("smoke", e["notebook"], e["key"])),
    } for e in PAPER_NUMBERS])
    runs = pd.DataFrame([{
        "notebook": r["notebook"], "profile": r["profile"], "seed": r["seed"], "status": r["status"],
        "device": r["device"], "wall time (s)": r["wall_time_s"], "key numbers": len(r["numbers"]),
    } for prof in ("full", "smoke") for r in recs[prof]],
        columns=["notebook", "profile", "seed", "status", "device", "wall time (s)", "key numbers"])
    return comparison, runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mylib.experiments", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke", help="smoke or full (default: smoke)")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. part1 part3_paper")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--out", default="results")
    parser.add_argument("--force", action="store_true", help="allow the full profile without CUDA")
    parser.add_argument("--rerun", action="store_true", help="execute again even where a record exists")
    args = parser.parse_args(argv)
    try:
        recs = run_experiments(args.profile, args.only, args.seeds, args.out, args.force, args.rerun)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in recs if r["status"] != "ok"]
    print(f"{len(recs) - len(failed)} runs ok, {len(failed)} failed; records in {Path(args.out) / args.profile}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
