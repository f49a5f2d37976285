"""Exact training numbers, regression-tested with a stated tolerance per key (BRIEF convention 3).

``tests/key_numbers/<notebook>.json`` holds, per key of the notebook's ``mylib.summary``,
``{"value", "atol", "rtol", "why"}``. ``make test`` executes every notebook with papermill, each leaving its
recorded numbers in ``_build/executed/smoke-seed0/<notebook>.numbers.json`` (``MYLIB_RECORD``), then runs this file
with ``MYLIB_KEY_NUMBERS_DIR`` pointing there. Without that variable the per-notebook comparisons are skipped
(``make unit`` runs before the notebooks), and only the mechanism's own tests run.
``make references`` refreshes the values and keeps the tolerances; a new key gets ``why = "TODO"``, which fails here.
"""
import json
import os
from pathlib import Path

import pytest

from mylib import records

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "key_numbers"
FILES = sorted(FOLDER.glob("*.json"))
EXECUTED = os.environ.get("MYLIB_KEY_NUMBERS_DIR")


def entry(value, atol=0.0, rtol=0.0, why="seed spread 0.01 over 3 seeds"):
    return {"value": value, "atol": atol, "rtol": rtol, "why": why}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_reference_file_is_well_formed(path):
    assert (ROOT / "notebooks" / f"{path.stem}.md").exists(), f"{path.name}: no notebook of that name"
    ref = json.loads(path.read_text())
    assert ref, f"{path.name} is empty"
    records.compare_key_numbers(ref, {k: e["value"] for k, e in ref.items()})  # raises on a malformed entry


@pytest.mark.skipif(not EXECUTED, reason="MYLIB_KEY_NUMBERS_DIR not set (make keynumbers sets it)")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_notebook_key_numbers_match_reference(path):
    recorded = Path(EXECUTED) / f"{path.stem}.numbers.json"
    assert recorded.exists(), f"{recorded} missing: the notebook did not run through papermill with MYLIB_RECORD"
    failures = records.compare_key_numbers(json.loads(path.read_text()), records.read_json(recorded))
    assert not failures, f"{path.stem}:\n  " + "\n  ".join(failures)


# --- the mechanism can fail ---------------------------------------------------------------------------------------
def test_mutated_record_fails():
    ref = {"acc": entry(0.9738, atol=0.002), "peak": entry(1340), "claim": entry(True), "pair": entry("7 / 7")}
    ok = {"acc": 0.9750, "peak": 1340, "claim": True, "pair": "7 / 7"}
    assert records.compare_key_numbers(ref, ok) == []
    for key, bad in (("acc", 0.9769), ("peak", 1341), ("claim", False), ("pair", "7 / 8"), ("claim", 1)):
        failures = records.compare_key_numbers(ref, {**ok, key: bad})
        assert len(failures) == 1 and repr(key) in failures[0], (key, bad, failures)
    # a relative tolerance scales with the reference value
    assert records.compare_key_numbers({"x": entry(100.0, rtol=0.01)}, {"x": 100.9}) == []
    assert records.compare_key_numbers({"x": entry(100.0, rtol=0.01)}, {"x": 101.1})
    # nan never passes
    assert records.compare_key_numbers({"x": entry(1.0, atol=1.0)}, {"x": float("nan")})


def test_missing_extra_and_unjustified_keys_fail():
    ref = {"a": entry(1.0), "b": entry(2.0, why="TODO")}
    failures = records.compare_key_numbers(ref, {"a": 1.0, "b": 2.0, "c": 3.0})
    assert any("'b'" in f and "TODO" in f for f in failures)
    assert any("'c'" in f and "no reference" in f for f in failures)
    assert any("'a'" in f and "not recorded" in f for f in records.compare_key_numbers(ref, {"b": 2.0}))
    with pytest.raises(ValueError, match="atol"):
        records.compare_key_numbers({"a": entry(1.0, atol=-1.0)}, {"a": 1.0})
    with pytest.raises(ValueError, match="fields"):
        records.compare_key_numbers({"a": {"value": 1.0}}, {"a": 1.0})


def test_refresh_keeps_tolerances_and_marks_new_keys(tmp_path):
    path = tmp_path / "nb.json"
    path.write_text(json.dumps({"a": entry(1.0, atol=0.5, why="measured"), "gone": entry(3.0)}))
    added = records.refresh_key_numbers(path, {"a": 1.2, "new": 7})
    ref = json.loads(path.read_text())
    assert added == ["new"] and set(ref) == {"a", "new"}
    assert ref["a"] == entry(1.2, atol=0.5, why="measured")
    assert ref["new"]["why"] == "TODO" and records.compare_key_numbers(ref, {"a": 1.2, "new": 7})


def test_papermill_records_numbers_for_the_comparison(tmp_path, monkeypatch):
    """The path make test uses: summary() with MYLIB_RECORD set writes what compare_key_numbers reads."""
    target = tmp_path / "nb.numbers.json"
    monkeypatch.setenv(records.RECORD_ENV, str(target))
    records.summary({"acc": 0.5, "ok": True})
    records.summary({"later": "x"})  # a second summary in the same notebook adds to the record
    assert records.read_json(target) == {"acc": 0.5, "ok": True, "later": "x"}
    target.write_text('{"acc": 0.5, "ok"')  # truncated
    with pytest.raises(ValueError, match="nb.numbers.json"):
        records.read_json(target)


def test_summary_rejects_what_is_not_a_mapping_of_names():
    for bad in ("text", [("a", 1)], 3):
        with pytest.raises(TypeError, match="numbers must be a mapping"):
            records.summary(bad)
    with pytest.raises(ValueError, match="non-empty strings"):
        records.summary({"": 1})
    with pytest.raises(ValueError, match="at least one"):
        records.summary({})
