"""The seed rule (mylib.seeds): every random stream is distinct over the full profile's ranges.

The streams are enumerated from two sources: the purposes the library and the notebooks actually pass to
``mylib.seeds`` (found by reading their source), and the seven streams the issue found drawn by hand-made
arithmetic (continual trainer, linear probe, evaluation, buffer, probe initialisation, training data order and
augmentation, readouts), which the seed rule replaces. Their key ranges come from the registered ``full`` profiles
(seeds, tasks, epochs, model sizes). The mutation test shows that the old arithmetic collides on the same ranges.
"""
from __future__ import annotations

import ast
import itertools
import pathlib
import re

import numpy as np
import pytest
import torch

import mylib
from mylib import profiles, seeds

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = {"seed_sequence", "derive_seed", "numpy_rng", "torch_generator"}


@pytest.fixture(autouse=True)
def fresh_arity(monkeypatch):
    """Each test starts with no purpose layout recorded (the record is per process)."""
    monkeypatch.setattr(seeds, "_ARITY", {})


# --------------------------------------------------------------------------- ranges of the full profile
def _full_values(keys):
    out = []
    for exp in profiles.experiments():
        cfg = vars(profiles.get_config(exp, "full"))
        for k in keys:
            v = cfg.get(k)
            vals = v if isinstance(v, (list, tuple)) else [v]
            out += [x for x in vals if isinstance(x, int) and not isinstance(x, bool)]
    return out


def full_ranges() -> dict[str, int]:
    """Upper bounds (exclusive) of each key role over every registered full profile."""
    seeds_used = _full_values(["seeds"]) + [n - 1 for n in _full_values(["n_seeds"])]
    return {
        # run seeds: the profiles' seed lists, and at least 0..9 (`make experiments SEEDS=...`)
        "seed": max([10, *(s + 1 for s in seeds_used)]),
        "task": max(_full_values(["num_tasks", "T", "T_under", "T_over"])),
        "epoch": max(_full_values(["epochs", "first_epochs", "probe_epochs", "first_task_epochs"])),
        # model sizes / dimensions a stream may be keyed by (readouts per p, frames per d, ...)
        "size": max(_full_values(["p", "p_max", "p_points", "d", "d_reveal", "ortho_d", "K", "K_ring", "V",
                                  "n", "C_max", "n_C", "hidden", "width"])) + 1,
    }


def test_full_ranges_are_the_papers_scale():
    r = full_ranges()
    assert r["seed"] >= 10 and r["task"] >= 5 and r["epoch"] >= 500 and r["size"] > 2000, r


# --------------------------------------------------------------------------- which streams exist
# The seven hand-made places of the issue, under the seed rule (roles of their keys). The two training streams
# carry the library's purpose names; the others stand for streams whose modules name their own purposes
# ("issue-" names never clash with them). Every purpose found in the source is added with roles read from its
# argument names (see _roles_from_args).
REFERENCE_STREAMS = {
    "fit-data-order": ("seed", "epoch"),                 # mylib.nn.training.epoch_permutation
    "fit-augment": ("seed", "epoch"),                    # mylib.nn.training augmentation generator
    "issue-continual-epoch": ("seed", "task", "epoch"),  # continual trainer, per task and epoch
    "issue-probe-epoch": ("seed", "epoch"),              # linear probe, per epoch
    "issue-continual-eval": ("seed", "task"),            # evaluation draws per task
    "issue-buffer": ("seed", "task"),                    # replay buffer update per task
    "issue-probe-init": ("seed",),                       # probe weights
    "issue-readout": ("seed", "size"),                   # Part IV readouts per model size p
}

# Hand-made formulas the streams above had before the seed rule (the mutation).
OLD_FORMULAS = {
    "fit-data-order": lambda s, e: s * 1_000_003 + e,
    "fit-augment": lambda s, e: s * 1_000_003 + e + 7_919 * 65_537,
    "issue-continual-epoch": lambda s, t, e: s * 1_000_003 + 10_007 * t + e + 1,
    "issue-probe-epoch": lambda s, e: s * 1_000_003 + e + 99,
    "issue-continual-eval": lambda s, t: s * 7 + t,
    "issue-buffer": lambda s, t: s * 31 + t,
    "issue-probe-init": lambda s: s + 12345,
    "issue-readout": lambda s, p: s * 100003 + p,
}


def _sources():
    for path in sorted((ROOT / "mylib").rglob("*.py")):
        yield path, path.read_text()
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        # code cells of the jupytext MyST notebooks
        cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", path.read_text(), flags=re.S)
        code = "\n".join("\n".join(l for l in c.splitlines() if not l.startswith(("---", "tags:", "%", "!")))
                         for c in cells)
        yield path, code


def _arg_name(node) -> str:
    return ast.unparse(node).lower()


def _roles_from_args(args) -> tuple[str, ...] | None:
    roles = []
    for i, a in enumerate(args):
        name = _arg_name(a)
        if i == 0 and "seed" in name:
            roles.append("seed")
        elif "task" in name or re.fullmatch(r"(int\()?t(_idx)?\)?", name):
            roles.append("task")
        elif "epoch" in name or re.fullmatch(r"(int\()?e\)?", name):
            roles.append("epoch")
        elif re.search(r"\b(p|d|k|n|c|size|width|dim|n_classes)\b", name):
            roles.append("size")
        elif "seed" in name:
            roles.append("seed")
        else:
            return None
    return tuple(roles)


def used_purposes() -> dict[str, dict]:
    """purpose -> {"arity": set of key counts, "roles": inferred roles, "where": [file:line]}."""
    found: dict[str, dict] = {}
    for path, text in _sources():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name not in API or not node.args:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            rest = node.args[1:]
            if any(isinstance(a, ast.Starred) for a in rest):
                continue
            entry = found.setdefault(first.value, {"arity": set(), "roles": set(), "where": []})
            entry["arity"].add(len(rest))
            entry["roles"].add(_roles_from_args(rest))
            entry["where"].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def all_streams() -> dict[str, tuple[str, ...]]:
    streams = dict(REFERENCE_STREAMS)
    for purpose, info in used_purposes().items():
        if purpose in streams:
            continue
        roles = {r for r in info["roles"] if r is not None}
        assert len(roles) == 1, (
            f"cannot tell the key roles of seed purpose {purpose!r} used at {info['where']} from its arguments "
            "(name them seed/task/epoch/p...), or add it to REFERENCE_STREAMS in tests/test_seeds.py")
        streams[purpose] = roles.pop()
    return streams


#: At most this many keys per stream are derived (about 5 s); a larger product is thinned along its longest
#: range with a stride that keeps both ends (the first and last epochs, the smallest and largest sizes).
MAX_KEYS_PER_STREAM = 120_000


def key_ranges(roles, ranges):
    axes = [range(ranges[r]) for r in roles]
    while axes and np.prod([len(a) for a in axes]) > MAX_KEYS_PER_STREAM:
        i = max(range(len(axes)), key=lambda j: len(axes[j]))
        a = axes[i]
        axes[i] = sorted({*a[::2], a[-1]})
    return axes


def enumerate_keys(roles, ranges):
    return itertools.product(*key_ranges(roles, ranges))


def find_collisions(streams, derive, ranges, stop=10):
    """Pairs of distinct (purpose, keys) with the same derived seed (at most ``stop``)."""
    seen: dict[int, tuple] = {}
    hits = []
    for purpose, roles in streams.items():
        for key in enumerate_keys(roles, ranges):
            s = derive(purpose, *key)
            other = seen.setdefault(s, (purpose, key))
            if other != (purpose, key):
                hits.append((other, (purpose, key)))
                if len(hits) >= stop:
                    return hits
    return hits


# --------------------------------------------------------------------------- the checks
def test_library_uses_the_seed_rule_for_training_streams():
    used = used_purposes()
    assert "fit-data-order" in used and "fit-augment" in used, sorted(used)


def test_each_purpose_has_one_key_layout_in_the_source():
    for purpose, info in used_purposes().items():
        assert len(info["arity"]) == 1, f"{purpose!r} used with {sorted(info['arity'])} keys at {info['where']}"
        if purpose in REFERENCE_STREAMS:
            assert info["arity"] == {len(REFERENCE_STREAMS[purpose])}, (purpose, info)


def test_thinning_keeps_the_ends():
    axes = key_ranges(("seed", "task", "size"), {"seed": 10, "task": 20, "size": 4097})
    assert np.prod([len(a) for a in axes]) <= MAX_KEYS_PER_STREAM
    assert axes[2][0] == 0 and axes[2][-1] == 4096 and list(axes[0]) == list(range(10))


def test_streams_are_distinct_over_the_full_profile():
    ranges = full_ranges()
    streams = all_streams()
    n = sum(int(np.prod([len(a) for a in key_ranges(roles, ranges)])) for roles in streams.values())
    assert n > 100_000  # the enumeration really covers the full profile (seeds x tasks x epochs, sizes)
    assert find_collisions(streams, seeds.derive_seed, ranges) == []


def test_old_hand_made_arithmetic_collides_on_the_same_ranges():
    """Mutation: the formulas the seed rule replaced give the same seed to different streams."""
    ranges = full_ranges()
    hits = find_collisions(REFERENCE_STREAMS, lambda p, *k: OLD_FORMULAS[p](*k), ranges, stop=10**6)
    assert hits
    pairs = {frozenset((a[0], b[0])) for a, b in hits}
    # the example: continual trainer at task 0, epoch 98 + e == linear probe at epoch e
    assert frozenset(("issue-continual-epoch", "issue-probe-epoch")) in pairs
    assert OLD_FORMULAS["issue-continual-epoch"](0, 0, 98 + 3) == OLD_FORMULAS["issue-probe-epoch"](0, 3)
    assert seeds.derive_seed("issue-continual-epoch", 0, 0, 101) != seeds.derive_seed("issue-probe-epoch", 0, 3)


def test_dropping_the_purpose_from_the_key_collides():
    """Mutation: a rule keyed by the integers alone makes two purposes with equal keys coincide."""
    ranges = {"seed": 3, "task": 3, "epoch": 5, "size": 5}
    streams = {"fit-data-order": ("seed", "epoch"), "fit-augment": ("seed", "epoch")}
    no_purpose = lambda p, *k: int(np.random.SeedSequence(list(k)).generate_state(1, np.uint64)[0]) >> 1
    assert find_collisions(streams, no_purpose, ranges)
    assert find_collisions(streams, seeds.derive_seed, ranges) == []


# --------------------------------------------------------------------------- the guards against SeedSequence's encoding
def test_short_keys_would_be_padded_so_one_purpose_keeps_one_layout():
    # the pitfall: SeedSequence pads short entropy with zeros
    w = seeds._purpose_words("layout")
    assert np.array_equal(np.random.SeedSequence([*w, 3]).generate_state(2),
                          np.random.SeedSequence([*w, 3, 0]).generate_state(2))
    seeds.seed_sequence("layout", 3)
    with pytest.raises(ValueError, match="'layout' was used with 1 key"):
        seeds.seed_sequence("layout", 3, 0)
    seeds.seed_sequence("layout", 4)  # same layout: fine


def test_keys_must_be_single_words():
    # the pitfall: 2**32 is split into the words (0, 1)
    assert np.array_equal(np.random.SeedSequence([7, 2**32]).generate_state(2),
                          np.random.SeedSequence([7, 0, 1]).generate_state(2))
    with pytest.raises(ValueError, match=r"keys.*\[0, 2\*\*32\)"):
        seeds.derive_seed("big", 2**32)
    assert seeds.KEY_LIMIT == 2**32
    seeds.derive_seed("big", 2**32 - 1)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None, np.float64(2.0)])
def test_bad_key_raises_naming_keys(bad):
    with pytest.raises(ValueError, match="keys"):
        seeds.seed_sequence("bad-key", bad)


@pytest.mark.parametrize("bad", ["", None, 3, b"x"])
def test_bad_purpose_raises_naming_purpose(bad):
    with pytest.raises(ValueError, match="purpose"):
        seeds.derive_seed(bad, 0)


def test_numpy_integer_keys_are_accepted_and_equal_python_ints():
    assert seeds.derive_seed("np-int", np.int64(5), np.uint32(7)) == seeds.derive_seed("np-int", 5, 7)


def test_derive_seed_is_the_first_two_state_words():
    ss = seeds.seed_sequence("words", 1, 2)
    s0, s1 = (int(x) for x in ss.generate_state(2, np.uint32))
    assert seeds.derive_seed("words", 1, 2) == (s0 + 2**32 * s1) % 2**63
    assert 0 <= seeds.derive_seed("words", 1, 2) < 2**63


def test_streams_are_pinned():
    """The rule is part of every reference output: changing it must be deliberate."""
    assert seeds.derive_seed("x", 3) == 8526794098409319212
    assert seeds.derive_seed("fit-data-order", 0, 0) == seeds.derive_seed("fit-data-order", 0, 0)
    assert seeds.seed_sequence("x", 3).entropy == [*seeds._purpose_words("x"), 3]


def test_generators_follow_their_stream():
    a = seeds.numpy_rng("gen", 0, 1).standard_normal(4)
    assert np.array_equal(a, seeds.numpy_rng("gen", 0, 1).standard_normal(4))
    assert not np.array_equal(a, seeds.numpy_rng("gen", 0, 2).standard_normal(4))
    g = seeds.torch_generator("gen-t", 0, 1)
    assert g.initial_seed() == seeds.derive_seed("gen-t", 0, 1)
    assert torch.equal(torch.randperm(10, generator=g),
                       torch.randperm(10, generator=seeds.torch_generator("gen-t", 0, 1)))
    if torch.cuda.is_available():
        assert seeds.torch_generator("gen-t", 0, 1, device="cuda").device.type == "cuda"


def test_training_data_order_uses_the_rule():
    perm = mylib.nn.epoch_permutation(20, 3, 7)
    expect = torch.randperm(20, generator=seeds.torch_generator("fit-data-order", 7, 3))
    assert torch.equal(perm, expect)


def test_roles_are_read_from_argument_names():
    call = ast.parse('seeds.numpy_rng("x", seed, task, epoch)').body[0].value
    assert _roles_from_args(call.args[1:]) == ("seed", "task", "epoch")
    call = ast.parse('seeds.derive_seed("x", int(seed), p)').body[0].value
    assert _roles_from_args(call.args[1:]) == ("seed", "size")
    call = ast.parse('seeds.derive_seed("x", seed, mystery)').body[0].value
    assert _roles_from_args(call.args[1:]) is None
