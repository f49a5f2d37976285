"""The cost table of the running page: FLOPs counted from the models, one row per full-profile training notebook."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_training", ROOT / "benchmarks" / "bench_training.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_forward_flops_match_the_architectures():
    # WRN-28-2 on a 32x32 image: 0.214 GMAC (Zagoruyko & Komodakis); a multiply-add counts 2 FLOPs
    assert bench.forward_flops("wrn-28-2") / 2e9 == pytest.approx(0.2144, rel=2e-3)
    # WRN-28-8: 3.36 GMAC; Co2L's CIFAR ResNet-18 (3x3 stem, no max-pool) with its projection head: 0.556 GMAC
    assert bench.forward_flops("wrn-28-8") / 2e9 == pytest.approx(3.360, rel=2e-3)
    assert bench.forward_flops("resnet18") / 2e9 == pytest.approx(0.5557, rel=2e-3)
    # the one-layer transformer at p = 113 on a 3-token sequence: well under a MFLOP
    assert bench.forward_flops("transformer") < 1e6


def test_every_benchmarked_model_builds_from_the_library():
    for name, (build, _, _) in bench.MODELS.items():  # a renamed library model fails here, not in `make book`
        assert sum(p.numel() for p in build().parameters()) > 0, name


def test_cost_table_rows_and_hours(monkeypatch, capsys):
    monkeypatch.setattr(bench, "forward_flops", lambda m: 1e9)  # 1 GFLOP per sample for every model
    rows = bench.cost_table()
    work = bench.full_profile_work()
    assert [r["notebook"] for r in rows] == list(work)
    for r in rows:
        samples = sum(n for _, n in work[r["notebook"]])
        assert r["flops"] == pytest.approx(3e9 * samples)
        assert r["h100_hours"] == pytest.approx(3e9 * samples / (0.4 * 989.4e12) / 3600)
    bench.print_cost_table(markdown=True)
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| notebook") and len(table) == 2 + len(rows) + 1


def test_running_page_includes_the_generated_table():
    assert "```{include} cost_table.md" in (ROOT / "book" / "running.md").read_text()
    assert "bench_training.py --flops --markdown > _build/src/book/cost_table.md" in (ROOT / "Makefile").read_text()
