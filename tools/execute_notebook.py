"""Execute a jupytext MyST notebook and write its paired .ipynb with outputs (the nbval reference).

Usage: python tools/execute_notebook.py notebooks/part1_x.md [more.md ...]

The kernel starts in the notebook's folder, with the environment the Makefile
sets (one thread per BLAS/torch pool, progress bars off) so that the stored
outputs are the ones CI reproduces. Volatile metadata (timings) is stripped so
that `git diff` after `make references` shows only what really changed.

The notebook's `mylib.summary` numbers are recorded (MYLIB_RECORD) and written to
tests/key_numbers/<stem>.json: values refreshed, each key's atol/rtol/why kept; a new
key gets why "TODO", which tests/test_key_numbers.py rejects until a tolerance is stated.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The same environment as the Makefile's (one thread per numerical library, no progress bars), so references
# written by running this script directly match what `make test` reproduces.
for _var, _value in (("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"), ("OPENBLAS_NUM_THREADS", "1"),
                     ("MYLIB_PROGRESS", "0"), ("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"),
                     ("MKL_CBWR", "AVX2"), ("OPENBLAS_CORETYPE", "Haswell")):
    os.environ.setdefault(_var, _value)

import jupytext
import nbformat
from nbclient import NotebookClient

from mylib import records

TIMEOUT_S = 300  # per cell, as CELL_TIMEOUT in the Makefile


def execute(md_path: Path) -> float:
    nb = jupytext.read(md_path)
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,md:myst"
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        numbers = Path(tmp) / "numbers.json"
        previous = os.environ.get(records.RECORD_ENV)
        os.environ[records.RECORD_ENV] = str(numbers)
        try:
            NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", record_timing=False,
                           resources={"metadata": {"path": str(md_path.parent)}}).execute()
        finally:
            if previous is None:
                os.environ.pop(records.RECORD_ENV, None)
            else:
                os.environ[records.RECORD_ENV] = previous
        elapsed = time.perf_counter() - start
        if numbers.exists():
            ref = ROOT / "tests" / "key_numbers" / f"{md_path.stem}.json"
            added = records.refresh_key_numbers(ref, records.read_json(numbers))
            print(f"{md_path}: key numbers refreshed in {ref.relative_to(ROOT)}"
                  + (f"; new keys need a stated tolerance (why = TODO): {added}" if added else ""), flush=True)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    if not _has_widget_views(nb):
        nb.metadata.pop("widgets", None)
    out = md_path.with_suffix(".ipynb")
    nbformat.write(nb, out)
    return elapsed


def _has_widget_views(nb) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]]
    if not paths:
        sys.exit(__doc__)
    for p in paths:
        if p.suffix != ".md":
            sys.exit(f"{p}: pass the .md source of the notebook")
        print(f"{p}: executed in {execute(p):.1f} s", flush=True)
