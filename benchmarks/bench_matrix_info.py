"""Benchmark: fast (rank-reduced Kronecker) path vs n x n path of mylib.information.

The paper's setting: Z1 = features (n x 64), Z2 = the classifier head of each sample's label
(10 classes, heads in R^64), so Z2 has rank 10 and the Kronecker dimension is 64 * 10 = 640.
For each n the script times the matrix mutual information (H1, H2 and the joint entropy) three
ways: ``method="fast"`` as the library runs it (Kronecker form, with the sum over samples grouped
by the 10 distinct head rows), the same Kronecker form without grouping ("stream": the generic
path when all rows are distinct, whose cost is linear in n), and ``method="gram"`` (the n x n
eigendecomposition). It measures the peak resident memory added by each call, checks that all
agree, and fits the log-log slope of time against n.

Usage::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/bench_matrix_info.py [--quick]
        [--sizes 512 1024 ...] [--gram-max 4096] [--d 64] [--classes 10]

Each (n, path) runs in a fresh subprocess so that the peak-memory numbers (the increase of
``ru_maxrss`` during the call) are not polluted by earlier runs. Times are the best of three
calls (five for the fast paths; one call for the n x n path above n = 1024). The n x n path is skipped above ``--gram-max`` (default 4096: at one
thread it already takes about a minute there and grows as n^3; the text prints the
extrapolation instead).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

DEFAULT_SIZES = [512, 1024, 2048, 4096, 8192, 16384]


def _child(n: int, d: int, classes: int, method: str, seed: int) -> dict:
    """Run in a subprocess: time one path for one n, report its peak-RSS increment (MiB).

    ``method`` is ``"fast"`` (the library's default fast path: Kronecker form, grouped by the C
    distinct head rows), ``"stream"`` (the Kronecker form without grouping: the generic path for
    representations with all rows distinct) or ``"gram"`` (the n x n eigendecomposition).
    """
    import resource

    import numpy as np
    import torch

    from mylib.information import matrix_info as mi

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB

    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    W = rng.standard_normal((classes, d))                # heads
    Z1 = W[y] + 0.5 * rng.standard_normal((n, d))       # features near their class head
    Z2 = W[y]                                            # head of each sample's label
    mi.mutual_information(Z1[:64], Z2[:64], method="fast")  # warm up BLAS/LAPACK and torch
    if method == "stream":
        mi._GROUPING = False
        method = "fast"
    out = {"n": n, "threads": torch.get_num_threads()}
    red1 = mi._Reduced.of(torch.as_tensor(Z1), "Z1", "fast")
    red2 = mi._Reduced.of(torch.as_tensor(Z2), "Z2", "fast")
    out["r1"], out["r2"] = red1.rank, red2.rank
    out["auto_path"] = "kronecker" if mi._use_kronecker(n, red1.rank, red2.rank, d, d) else "gram"
    del red1, red2
    repeats = 5 if method == "fast" else (3 if n <= 1024 else 1)
    base = peak_mib()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = mi.mutual_information(Z1, Z2, method=method)
        times.append(time.perf_counter() - t0)
    out.update(seconds=min(times), mib=max(peak_mib() - base, 0.0), mi=value)
    return out


def _estimate_mib(n: int, d: int, k: int, method: str) -> float:
    """Largest float64 arrays alive at once (MiB): an estimate to sit next to the measurement."""
    if method == "gram":
        return 8 * (3 * n * n + 2 * n * d) / 2**20      # G1, G2, G1 o G2 (+ eigensolver copy ~ n^2)
    chunk = max(64, (1 << 20) // k)
    return 8 * (2 * n * d + 2 * n * math.sqrt(k) + min(chunk, n) * k + 2 * k * k) / 2**20


def _slope(xs, ys) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="n in {512, 1024, 2048} only (about 30 s at one thread)")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--gram-max", type=int, default=4096, help="largest n for the n x n path")
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--method", default="fast", choices=("fast", "stream", "gram"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child is not None:
        res = _child(args.child, args.d, args.classes, args.method, args.seed)
        print(json.dumps(res))
        return 0

    sizes = args.sizes or ([512, 1024, 2048] if args.quick else DEFAULT_SIZES)
    print(f"matrix mutual information, d = {args.d}, {args.classes} classes "
          f"(Z1 = features, Z2 = head of the label); OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("times in s (best of 5 for the fast paths, of 3 for the n x n path up to n = 1024, else one call), peak memory added in MiB "
          "(measured, and an estimate of the largest arrays); ratio = gram time / fast time")
    print(f"{'n':>6} {'r1*r2':>6} {'auto':>9} {'fast s':>8} {'stream s':>9} {'gram s':>9} {'ratio':>7} "
          f"{'fast MiB':>9} {'stream MiB':>10} {'(est)':>7} {'gram MiB':>9} {'(est)':>7} {'|dMI|':>9}")
    rows = []
    for n in sizes:
        r = {}
        for method in ("fast", "stream", "gram"):
            if method == "gram" and n > args.gram_max:
                continue
            cmd = [sys.executable, __file__, "--child", str(n), "--method", method,
                   "--d", str(args.d), "--classes", str(args.classes), "--seed", str(args.seed)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            c = json.loads(proc.stdout.strip().splitlines()[-1])
            r.update(n=n, r1=c["r1"], r2=c["r2"], auto_path=c["auto_path"])
            r[f"{method}_s"], r[f"{method}_mib"], r[f"mi_{method}"] = c["seconds"], c["mib"], c["mi"]
        rows.append(r)
        k = r["r1"] * r["r2"]
        est_f = _estimate_mib(n, args.d, k, "fast")
        est_g = _estimate_mib(n, args.d, k, "gram")
        dmi = max(abs(r["mi_fast"] - r.get("mi_gram", r["mi_fast"])), abs(r["mi_stream"] - r.get("mi_gram", r["mi_stream"])),
                  abs(r["mi_fast"] - r["mi_stream"]))
        if "gram_s" in r:
            gram = f"{r['gram_s']:9.3f} {r['gram_s'] / r['fast_s']:7.1f} "
            gmem = f"{r['gram_mib']:9.1f} {est_g:7.1f} {dmi:9.1e}"
        else:
            gram = f"{'skipped':>9} {'-':>7} "
            gmem = f"{'-':>9} {est_g:7.1f} {dmi:9.1e}"
        print(f"{n:6d} {k:6d} {r['auto_path']:>9} {r['fast_s']:8.3f} {r['stream_s']:9.3f} {gram}"
              f"{r['fast_mib']:9.1f} {r['stream_mib']:10.1f} {est_f:7.1f} {gmem}", flush=True)

    print()
    big = [r for r in rows if r["n"] >= 2048]
    for key, name in (("fast", "fast path (grouped)"), ("stream", "streamed Kronecker path")):
        print(f"log-log slope of the {name}'s time vs n: all sizes "
              f"{_slope([r['n'] for r in rows], [r[key + '_s'] for r in rows]):.2f}"
              + (f", n >= 2048 {_slope([r['n'] for r in big], [r[key + '_s'] for r in big]):.2f}"
                 if len(big) >= 2 else ""))
    g = [r for r in rows if "gram_s" in r]
    if len(g) >= 2:
        sg = _slope([r["n"] for r in g], [r["gram_s"] for r in g])
        print(f"log-log slope of the n x n path's time vs n: {sg:.2f}")
        last = g[-1]
        for r in rows:
            if "gram_s" not in r:
                extra = last["gram_s"] * (r["n"] / last["n"]) ** 3
                print(f"  n = {r['n']}: n x n path skipped (n > --gram-max {args.gram_max}); n^3 extrapolation "
                      f"~ {extra:.0f} s vs {r['fast_s']:.2f} s fast, {r['stream_s']:.2f} s streamed")
    hit = [r for r in rows if r["n"] == 4096 and "gram_s" in r]
    if hit:
        ratio = hit[0]["gram_s"] / hit[0]["fast_s"]
        ratio_s = hit[0]["gram_s"] / hit[0]["stream_s"]
        print(f"speed-up at n = 4096: {ratio:.0f}x fast, {ratio_s:.0f}x streamed (goal >= 50x): "
              f"{'met' if min(ratio, ratio_s) >= 50 else 'NOT met'}")
    _float32_power_law()
    return 0


def _float32_power_law(n: int = 3000, d: int = 128, classes: int = 10, alpha: float = 1.5) -> None:
    """Accuracy and time of the float32 fast path on ReLU features with a power-law spectrum."""
    import numpy as np
    import torch
    from mylib.information import matrix_info as mi
    from mylib.linalg import haar_orthonormal

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)) * (np.arange(1, d + 1) ** -alpha)[None, :]
    X = np.maximum(X @ haar_orthonormal(d, d, 1).T, 0.0)
    Z2 = rng.standard_normal((classes, d))[rng.integers(0, classes, n)]
    ref = mi.information_summary(X, Z2, method="fast")
    t = time.perf_counter()
    s = mi.information_summary(torch.tensor(X, dtype=torch.float32), torch.tensor(Z2, dtype=torch.float32),
                               method="fast")
    dt = time.perf_counter() - t
    print(f"float32 fast path, ReLU features with a power-law spectrum (n = {n}, d = {d}, alpha = {alpha}): "
          f"|MIR32 - MIR64| = {abs(float(s['MIR']) - ref['MIR']):.1e} (goal <= 1e-4) in {dt:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
