"""Run the book's notebooks at a profile, resumably, and keep a machine-readable record of every run.

``python -m mylib.experiments --profile full --only part1`` (or ``make experiments PROFILE=full ONLY=part1``)
executes the chosen notebooks with papermill into ``results/<profile>/``:

- ``<name>-seed<k>.ipynb``: the executed notebook;
- ``figures/<name>-seed<k>-<i>.png``: every figure it drew;
- ``<name>-seed<k>.json``: the run record (profile, seed, device, code version, library and torch versions, wall
  time, and the key numbers the notebook reported through :func:`summary`).

A run whose record exists and was made by the same code (library and notebook, see :func:`code_version_for`) is
skipped; changed code runs again, and ``--rerun`` runs again from scratch. Trainings inside a notebook checkpoint
under ``results/<profile>/runs/<name>-seed<k>/`` (through :func:`mylib.runtime.run_dir`, in folders named by the
code version), so after a kill or a Colab disconnect the same command resumes the interrupted notebook where its
training stopped and ends with the same numbers. The full profile is refused on a machine without CUDA unless
``--force`` is given. ``--dry-run`` runs every notebook with the full profile's configuration on the CPU, each
training capped at a few steps and each evaluation at a few batches (:func:`mylib.runtime.dry_run_cap`), CIFAR
replaced by locally written files of the same format (:func:`mylib.data.write_fake_cifar`,
:func:`mylib.data.write_fake_mnist`), into
``results/<profile>-dryrun/``.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import platform
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from .profiles import check_profile
from .records import RECORD_ENV, read_json, summary, write_json_atomic

__all__ = ["summary", "run_experiments", "list_notebooks", "load_records", "results_tables", "PAPER_NUMBERS",
           "main", "code_version_for", "DEFAULT_TIMEOUT_S", "html_table"]

#: Per-cell time limit of the runner's notebooks by profile (seconds); ``--timeout``/``TIMEOUT=`` override it. The
#: full profile's slowest cell (part1_info_losses: every method, seed and dataset in one loop) runs for many hours.
DEFAULT_TIMEOUT_S = {"smoke": 600, "full": 72 * 3600}

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

    Parameters
    ----------
    only : sequence of str, optional
        Name prefixes (e.g. ``["part1", "part3_paper"]``); None or empty: every notebook.
    root : path-like, optional
        The notebook folder (default: the repository's ``notebooks/``).

    Returns
    -------
    list of pathlib.Path
        The ``.ipynb`` files that have a paired ``.md``, sorted by name, each once, in the order of the prefixes.

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


def code_version_for(notebook: str | os.PathLike) -> str:
    """The code a run of ``notebook`` executes: the library's source hash and the hash of the notebook's ``.md``
    (or ``.ipynb`` cells' sources when there is no ``.md``), ``"<library>-<notebook>"``.

    Records carry it (a record of other code is not reused), and the runner passes it to the notebook as
    ``$MYLIB_CODE_VERSION`` so checkpoint folders carry it too (a checkpoint of other code is never resumed).

    Parameters
    ----------
    notebook : str or path-like
        The notebook (``.ipynb`` or ``.md``; the ``.md`` beside it is hashed when it exists).

    Returns
    -------
    str
        The first 10 characters of the library hash (``mylib.runtime.library_hash()``), ``-``, the first 6 hex
        digits of the notebook's SHA-1.
    """
    import nbformat

    from .runtime import library_hash

    nb = Path(notebook)
    md = nb.with_suffix(".md")
    if md.exists():
        text = md.read_bytes()
    else:
        text = "\n".join(c.source for c in nbformat.read(nb, as_version=4).cells).encode()
    return f"{library_hash()[:10]}-{hashlib.sha1(text).hexdigest()[:6]}"


def _git_commit() -> str | None:
    from .runtime import _git_commit as commit

    return commit(ROOT)


@contextlib.contextmanager
def _environ(values: dict[str, str | None]):
    """Set (or, for None, remove) environment variables for the block, restoring them afterwards."""
    def assign(pairs):
        for k, v in pairs.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    before = {k: os.environ.get(k) for k in values}
    try:
        assign(values)
        yield
    finally:
        assign(before)


def _error_text(exc: BaseException, limit: int = 2000) -> str:
    """The error of a failed notebook: its first line and its end (where papermill puts the cause)."""
    text = f"{type(exc).__name__}: {exc}"
    if len(text) <= limit:
        return text
    head = text.splitlines()[0][:200]
    return f"{head}\n[...]\n{text[-(limit - len(head) - 8):]}"


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
                    notebooks_dir: str | os.PathLike | None = None, timeout: int | None = None,
                    dry_run: bool = False, exclude: Sequence[str] = (), jobs: int = 1) -> list[dict]:
    """Execute notebooks at ``profile`` for each seed, skipping runs that already have a record of the same code.

    Parameters
    ----------
    profile : {"smoke", "full"}
    only : list of str, optional
        Notebook name prefixes, e.g. ``["part1"]`` or ``["part3_paper"]``.
    seeds : sequence of int
    out : path
        Results folder; runs land in ``out/<profile>/`` (``out/<profile>-dryrun/`` for a dry run).
    force : bool
        Allow the full profile without CUDA.
    rerun : bool
        Execute again even where a record exists, deleting the run's checkpoints first (trains from scratch).
    timeout : int, optional
        Per-cell limit in seconds (default :data:`DEFAULT_TIMEOUT_S` of the profile).
    exclude : sequence of str
        Notebook names (stems) not to run.
    dry_run : bool
        The profile's configuration with every training capped at a few steps and every evaluation at a few
        batches, CIFAR replaced by generated files of the same format; allowed without CUDA; records say
        ``dry_run: true``.
    jobs : int
        Number of runs executed at once, each in its own process (``python -m mylib.experiments`` for one notebook
        and seed, with ``max(1, cores // jobs)`` threads). 1 (default) runs them one after the other in this process.

    Returns
    -------
    list of dict
        The run records (new and skipped). A failed notebook (or a corrupt old record, reported with its file
        name) does not stop the others.

    Raises
    ------
    ValueError
        For an unknown profile, an unmatched ``only`` filter, a bad timeout or ``jobs``, or the full profile without
        CUDA (unless ``force`` or ``dry_run``).
    """
    import nbformat
    import papermill
    import torch

    from . import __version__
    from .runtime import ALLOW_CPU_ENV, CODE_VERSION_ENV, DRYRUN_ENV, progress

    check_profile(profile)
    timeout = DEFAULT_TIMEOUT_S[profile] if timeout is None else timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if profile == "full" and not torch.cuda.is_available() and not (force or dry_run):
        raise ValueError("the full profile runs the papers' experiments and needs a CUDA GPU, which this machine "
                         "does not have (torch.cuda.is_available() is False). Use --profile smoke here, run on "
                         "Colab/a GPU machine, pass --dry-run to check the full configuration in minutes on the "
                         "CPU, or pass --force to run it on the CPU anyway (hours to days).")
    books = [b for b in list_notebooks(only, Path(notebooks_dir) if notebooks_dir else None)
             if b.stem not in set(exclude)]
    dest = Path(out) / (f"{profile}-dryrun" if dry_run else profile)
    dest.mkdir(parents=True, exist_ok=True)
    env = {k: os.environ.get(k) or v for k, v in KERNEL_PINS.items()}
    if dry_run:
        from .data import write_fake_cifar, write_fake_mnist

        data = dest / "data"
        for name, n_train, n_test in (("cifar10", 50, 10), ("cifar100", 100, 100)):  # the fewest with every class
            folder = data / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
            if not folder.exists():
                write_fake_cifar(data, name, n_train=n_train, n_test=n_test)
        if not (data / "MNIST" / "raw").exists():
            write_fake_mnist(data, n_train=100, n_test=20)
        env.update({DRYRUN_ENV: "1", ALLOW_CPU_ENV: "1", "MYLIB_DATA": str(data.resolve())})
    elif force:
        env[ALLOW_CPU_ENV] = "1"
    commit = _git_commit()
    records = []
    if jobs > 1 and len(books) * len(seeds) > 1:
        flags = dict(profile=profile, out=out, force=force, rerun=rerun, notebooks_dir=notebooks_dir,
                     timeout=timeout, dry_run=dry_run)
        return _run_in_processes([(b, s) for b in books for s in seeds], dest, jobs, flags,
                                 [p.stem for p in list_notebooks(None, books[0].parent)])

    for nb_path in progress(books, desc=f"notebooks ({profile}{', dry run' if dry_run else ''})", unit="nb"):
        version = code_version_for(nb_path)
        for seed in seeds:
            stem = f"{nb_path.stem}-seed{seed}"
            record_path = dest / f"{stem}.json"
            runs = dest / "runs" / stem
            if record_path.exists() and not rerun:
                try:
                    rec = read_json(record_path)
                except ValueError as exc:
                    print(f"error: {exc}; running {stem} again", flush=True)
                    rec = {}
                if rec.get("status") == "ok" and rec.get("code_version") == version:
                    print(f"skip {stem}: finished {rec.get('finished')}", flush=True)
                    records.append(rec)
                    continue
                if rec.get("status") == "ok":
                    print(f"code changed since {record_path.name} ({rec.get('code_version')} -> {version}): "
                          f"running {stem} again", flush=True)
            if rerun and runs.exists():
                shutil.rmtree(runs)  # --rerun trains from scratch
            numbers_path = dest / f"{stem}.numbers.json"
            numbers_path.unlink(missing_ok=True)
            start, started = time.perf_counter(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
            status, error = "ok", None
            run_env = {**env, RECORD_ENV: str(numbers_path.resolve()), "MYLIB_RUNS": str(runs.resolve()),
                       CODE_VERSION_ENV: version}
            try:
                with _environ(run_env):
                    papermill.execute_notebook(str(nb_path), str(dest / f"{stem}.ipynb"),
                                               parameters={"profile": profile, "seed": int(seed)},
                                               cwd=str(nb_path.parent), kernel_name="python3",
                                               execution_timeout=timeout, progress_bar=False)
            except Exception as exc:  # noqa: BLE001 - the record keeps the failure, the other runs go on
                status, error = "failed", _error_text(exc)
            wall = time.perf_counter() - start
            figures, numbers = [], {}
            try:
                if (dest / f"{stem}.ipynb").exists():
                    figures = _extract_figures(nbformat.read(dest / f"{stem}.ipynb", as_version=4), stem,
                                               dest / "figures")
                numbers = read_json(numbers_path) if numbers_path.exists() else {}
            except Exception as exc:  # noqa: BLE001 - a torn output file fails this run only
                status, error = "failed", error or _error_text(exc)
            rec = {
                "notebook": nb_path.stem, "profile": profile, "seed": int(seed), "status": status, "error": error,
                "dry_run": bool(dry_run), "device": _device_description(), "code_version": version,
                "git_commit": commit, "mylib_version": __version__, "torch_version": torch.__version__,
                "python": platform.python_version(), "started": started,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_time_s": round(wall, 1),
                "timeout_s": timeout, "numbers": numbers, "figures": figures,
            }
            numbers_path.unlink(missing_ok=True)
            write_json_atomic(record_path, rec)
            print(f"{status:6s} {stem} in {wall:.1f} s" + (f" ({error.splitlines()[0]})" if error else ""),
                  flush=True)
            records.append(rec)
    return records


def _run_in_processes(runs: list[tuple[Path, int]], dest: Path, jobs: int, flags: dict[str, Any],
                      names: list[str]) -> list[dict]:
    """Execute each (notebook, seed) as ``python -m mylib.experiments`` for that run alone, ``jobs`` at a time.

    Each child makes the same skip/resume decision as a serial run would and writes the same record; its output is
    printed when it ends. A child that dies without a record gets a "failed" record naming its exit status.
    """
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}

    def one(run: tuple[Path, int]) -> dict:
        nb_path, seed = run
        cmd = [sys.executable, "-m", "mylib.experiments", "--profile", flags["profile"], "--only", nb_path.stem,
               "--exclude", *[n for n in names if n != nb_path.stem and n.startswith(nb_path.stem)],
               "--seeds", str(seed), "--out", str(flags["out"]), "--jobs", "1"]
        cmd += ["--timeout", str(flags["timeout"])] if flags["timeout"] else []
        cmd += [f"--{k.replace('_', '-')}" for k in ("force", "rerun", "dry_run") if flags[k]]
        if flags["notebooks_dir"]:
            cmd += ["--notebooks-dir", str(flags["notebooks_dir"])]
        proc = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Kernel is running over TCP" not in ln]
        print("\n".join(ln for ln in lines if not ln.endswith(f"records in {dest}")), flush=True)
        path = dest / f"{nb_path.stem}-seed{seed}.json"
        try:
            return read_json(path)
        except (OSError, ValueError) as exc:
            return {"notebook": nb_path.stem, "seed": int(seed), "status": "failed",
                    "error": f"exit status {proc.returncode}, no readable record ({exc})"}

    def last_wall(run: tuple[Path, int]) -> float:  # longest first (unknown first): the pool ends sooner
        try:
            return float(read_json(dest / f"{run[0].stem}-seed{run[1]}.json").get("wall_time_s", 0.0))
        except (OSError, ValueError, TypeError, AttributeError):
            return float("inf")

    order = sorted(range(len(runs)), key=lambda i: -last_wall(runs[i]))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = dict(zip(order, pool.map(one, [runs[i] for i in order])))
    return [done[i] for i in range(len(runs))]


def load_records(folder: str | os.PathLike) -> list[dict]:
    """All run records (``*.json`` with a ``notebook`` field) under ``folder``, sorted by notebook and seed.

    A corrupt file is skipped with a warning (one bad record does not hide the others); ``*.numbers.json`` files
    are not records.

    Parameters
    ----------
    folder : str or path-like
        E.g. ``results/full``.

    Returns
    -------
    list of dict
        The records.
    """
    recs = []
    for p in sorted(Path(folder).glob("*.json")):
        if p.name.endswith(".numbers.json"):
            continue
        try:
            rec = read_json(p)
        except ValueError as exc:  # one corrupt record does not hide the others
            warnings.warn(str(exc), stacklevel=2)
            continue
        if isinstance(rec, dict) and "notebook" in rec:
            recs.append(rec)
    return sorted(recs, key=lambda r: (r["notebook"], r["seed"]))


def _mean_sd(values: list[float]) -> str:
    """``"m ± sd"`` (sample sd) of the values, ``"m"`` for one value, ``"not run yet"`` for none."""
    if not values:
        return "not run yet"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{m:.2f}"
    sd = (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{m:.2f} ± {sd:.2f}"


def results_tables(results_root: str | os.PathLike = "results"):
    """Tables for the results page, built from the run records under ``results_root/<profile>/``.

    Parameters
    ----------
    results_root : str or path-like, default "results"
        The folder holding ``full/`` and ``smoke/`` run records (:func:`load_records`); a missing one counts as empty.

    Returns
    -------
    comparison : pandas.DataFrame
        One row per entry of :data:`PAPER_NUMBERS`: the paper's value and source, ours at the full profile as
        mean ± sd over the recorded seeds (or "not run yet"), the number of seeds, the devices of those runs and
        their measured hours (sum of the notebooks' wall times), and ours at the smoke profile where the notebook
        reports that key.
    runs : pandas.DataFrame
        One row per run record: notebook, profile, seed, status, device, wall time in hours, number of key numbers.
    """
    import pandas as pd

    root = Path(results_root)
    recs = {prof: load_records(root / prof) if (root / prof).exists() else [] for prof in ("full", "smoke")}

    def runs_with(profile, notebook, key):
        return [r for r in recs[profile] if r["notebook"] == notebook and r["status"] == "ok"
                and isinstance(r["numbers"].get(key), (int, float)) and not isinstance(r["numbers"][key], bool)]

    rows = []
    for e in PAPER_NUMBERS:
        full = runs_with("full", e["notebook"], e["key"])
        smoke = runs_with("smoke", e["notebook"], e["key"])
        rows.append({
            "part": e["part"], "quantity": e["quantity"], "paper": e["paper"], "source": e["source"],
            "ours (full)": _mean_sd([float(r["numbers"][e["key"]]) for r in full]), "seeds": len(full),
            "device": ", ".join(sorted({r["device"] for r in full})) or "-",
            "hours": round(sum(r["wall_time_s"] for r in full) / 3600, 2) if full else None,
            "ours (smoke)": _mean_sd([float(r["numbers"][e["key"]]) for r in smoke]),
        })
    comparison = pd.DataFrame(rows)
    runs = pd.DataFrame([{
        "notebook": r["notebook"], "profile": r["profile"], "seed": r["seed"], "status": r["status"],
        "device": r["device"], "hours": round(r["wall_time_s"] / 3600, 3), "key numbers": len(r["numbers"]),
    } for prof in ("full", "smoke") for r in recs[prof]],
        columns=["notebook", "profile", "seed", "status", "device", "hours", "key numbers"])
    return comparison, runs


def html_table(frame) -> "Any":
    """A DataFrame as an HTML table for a page (deterministic markup: no random ids), missing values as "-".

    Parameters
    ----------
    frame : pandas.DataFrame
        Written without its index; floats with ``{:g}``.

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    return HTML(frame.to_html(index=False, na_rep="-", border=0, classes="dataframe results-table",
                              float_format=lambda v: f"{v:g}"))


def main(argv: Sequence[str] | None = None) -> int:
    """The command line ``python -m mylib.experiments``: run notebooks at a profile and write their run records.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``); ``--help`` lists them (``--profile``, ``--only``, ``--seeds``,
        ``--out``, ``--force``, ``--rerun``, ``--timeout``, ``--dry-run``, ``--exclude``).

    Returns
    -------
    int
        The exit status: 0 when every run succeeded, 1 when a run failed, 2 for invalid arguments (the
        ``ValueError`` of :func:`run_experiments`, printed to stderr).
    """
    parser = argparse.ArgumentParser(prog="python -m mylib.experiments", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke", help="smoke or full (default: smoke)")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. part1 part3_paper")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--out", default="results")
    parser.add_argument("--force", action="store_true", help="allow the full profile without CUDA")
    parser.add_argument("--rerun", action="store_true",
                        help="execute again even where a record exists, training from scratch")
    parser.add_argument("--timeout", type=int, default=None,
                        help=f"per-cell limit in seconds (default: {DEFAULT_TIMEOUT_S})")
    parser.add_argument("--dry-run", action="store_true",
                        help="the profile's configuration on any device, trainings capped at a few steps and "
                             "evaluations at a few batches, CIFAR generated locally; into <out>/<profile>-dryrun")
    parser.add_argument("--exclude", nargs="*", default=[], help="notebook names not to run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own process (default 1)")
    parser.add_argument("--notebooks-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        recs = run_experiments(args.profile, args.only, args.seeds, args.out, args.force, args.rerun,
                               notebooks_dir=args.notebooks_dir, timeout=args.timeout, dry_run=args.dry_run,
                               exclude=args.exclude, jobs=args.jobs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in recs if r["status"] != "ok"]
    folder = Path(args.out) / (f"{args.profile}-dryrun" if args.dry_run else args.profile)
    print(f"{len(recs) - len(failed)} runs ok, {len(failed)} failed; records in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
