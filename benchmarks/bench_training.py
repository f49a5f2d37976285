"""Training throughput of the models the full profile uses, and the full profile's estimated time.

    python benchmarks/bench_training.py            # on a GPU: fp32 vs bf16 vs bf16+channels_last (+compile)
    python benchmarks/bench_training.py --quick    # tiny batches, a couple of steps: checks the script runs (CPU)
    python benchmarks/bench_training.py --flops    # no timing: training FLOPs and H100-hours of each full notebook
    python benchmarks/bench_training.py --flops --markdown   # the same as the table on the running page

For every model it times optimisation steps on random data of the paper's input shape (data resident on the
device, as the full-profile loaders keep it), prints images/s (or sequences/s) for each setting, and multiplies the
best one by the work of the full profile (epochs x training-set size, from the registered profiles) to estimate
the full run's time. It prints what it measured; nothing is extrapolated to another machine.
"""
from __future__ import annotations

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F

import mylib
from mylib.nn import training


MODELS = {
    # name: (builder, input shape or None for token sequences, classes or None for the contrastive loss)
    "wrn-28-2": (lambda: training.build_model("wrn-28-2", num_classes=10), (3, 32, 32), 10),
    "wrn-28-8": (lambda: training.build_model("wrn-28-8", num_classes=100), (3, 32, 32), 100),
    "resnet18": (lambda: training.build_model("contrastive-resnet18", proj_dim=128, width=64, in_channels=3),
                 (3, 32, 32), None),
    "transformer": (lambda: training.build_model("transformer", p=113, d_model=128, n_heads=4, d_mlp=512),
                    None, 113),
}
CIFAR_TRAIN = 50_000


def full_profile_work() -> dict[str, list[tuple[str, float]]]:
    """Samples (images or sequences) each notebook's full profile pushes through training, per model.

    Read from the registered full profiles, so the estimate follows any change of epochs or seeds there.
    Counts optimisation work only (not evaluation, probes or the information metrics).
    """
    dyn = mylib.get_config("part1_training_dynamics", "full")
    los = mylib.get_config("part1_info_losses", "full")
    lmc = mylib.get_config("part1_mode_connectivity", "full")
    grk = mylib.get_config("part1_grokking", "full")
    prn = mylib.get_config("part1_pruning", "full")
    ccl = mylib.get_config("part2_seq_cifar10", "full")
    per_task = CIFAR_TRAIN // 5
    ccl_epochs = ccl.first_epochs + 4 * ccl.epochs  # 5 tasks: the first longer
    return {
        "part1_training_dynamics": [(r["model"], dyn.n_seeds * r["epochs"] * CIFAR_TRAIN) for r in dyn.runs],
        "part1_info_losses": [(d["model"], len(los.methods) * los.n_runs * los.epochs * CIFAR_TRAIN)
                              for d in los.datasets],
        "part1_mode_connectivity": [(lmc.model, lmc.n_pairs * len(lmc.smoothing) * (2 + int(lmc.independent_control))
                                     * lmc.epochs * CIFAR_TRAIN), (prn.model, prn.n_seeds * prn.epochs * CIFAR_TRAIN)],
        "part1_grokking": [("transformer", grk.n_seeds * grk.steps * round(grk.train_fraction * grk.p ** 2))],
        "part2_seq_cifar10": [("resnet18", len(ccl.buffer_sizes) * 2 * len(ccl.seeds) * ccl_epochs
                               * 2 * (per_task + max(ccl.buffer_sizes)))],  # two views; Co2L and CILA
    }


def time_steps(model, shape, classes, batch, steps, device, amp, channels_last, compile_):
    model = model.to(device)
    if channels_last and shape is not None:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if compile_ else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if shape is None:  # (a, b, =) token sequences for modular addition
        x = torch.randint(0, classes, (batch, 3), device=device)
    else:
        x = torch.randn(batch, *shape, device=device)
    if channels_last and shape is not None:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes or 10, (batch,), device=device)
    ctx = (torch.autocast("cuda", dtype=torch.bfloat16) if amp and device.type == "cuda"
           else contextlib.nullcontext())

    def one():
        with ctx:
            out = step_model(x)
            if classes is None:  # contrastive: a SupCon-like loss on the normalised projection of two views
                loss = (out @ out.T).logsumexp(1).mean()
            else:
                loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2 if not compile_ else 3):  # warm-up (and compilation)
        one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny batches and few steps (CPU check)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--flops", action="store_true", help="count FLOPs, estimate H100-hours, time nothing")
    parser.add_argument("--markdown", action="store_true", help="with --flops: a markdown table")
    args = parser.parse_args()
    if args.flops:
        print_cost_table(args.markdown)
        return
    device = mylib.get_device()
    batch, steps = (8, 2) if args.quick else (args.batch, args.steps)
    settings = [("fp32", False, False, False)]
    if device.type == "cuda":
        settings += [("bf16", True, False, False), ("bf16+channels_last", True, True, False),
                     ("bf16+channels_last+compile", True, True, True)]
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}; batch {batch}, {steps} timed steps; torch {torch.__version__}")
    rates = {}
    for model_name, (build, shape, classes) in MODELS.items():
        measured = {}
        for setting, amp, cl, comp in settings:
            if cl and shape is None:
                continue
            mylib.seed_everything(0)
            try:
                measured[setting] = time_steps(build(), shape, classes, batch, steps, device, amp, cl, comp)
            except Exception as exc:  # noqa: BLE001 - report and go on (e.g. compile unsupported)
                print(f"  {model_name} [{setting}] failed: {type(exc).__name__}: {exc}")
        if measured:
            best = max(measured, key=measured.get)
            rates[model_name] = measured[best]
            line = ", ".join(f"{k}: {v:,.0f} samples/s" for k, v in measured.items())
            print(f"{model_name:12s} {line}  (best: {best})")
    print("\nEstimated training time of each notebook's full profile on this device, at the best setting:")
    total = 0.0
    for notebook, work in full_profile_work().items():
        seconds = sum(samples / rates[m] for m, samples in work if m in rates)
        total += seconds
        print(f"  {notebook:26s} {seconds / 3600:8.2f} h")
    print(f"  {'all of the above':26s} {total / 3600:8.2f} h")


#: Dense bf16 peak of one H100 SXM (FLOP/s) and the utilisation the estimate assumes.
H100_BF16_PEAK = 989.4e12
UTILISATION = 0.40


def forward_flops(model_name: str) -> float:
    """FLOPs of one forward pass of one sample (one image, or one 3-token sequence), counted by torch's
    FlopCounterMode on the CPU (a multiply-add counts 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    build, shape, classes = MODELS[model_name]
    model = build().eval()
    x = torch.randint(0, classes, (1, 3)) if shape is None else torch.zeros(1, *shape)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return float(counter.get_total_flops())


def cost_table() -> list[dict]:
    """Per full notebook: training samples per model, training FLOPs (3 x forward: forward + backward) and the
    H100-hours at :data:`UTILISATION` of :data:`H100_BF16_PEAK`."""
    per_sample = {m: forward_flops(m) for m in MODELS}
    rows = []
    for notebook, work in full_profile_work().items():
        flops = sum(3 * per_sample[m] * samples for m, samples in work)
        rows.append({"notebook": notebook, "models": ", ".join(sorted({m for m, _ in work})),
                     "samples": sum(samples for _, samples in work), "flops": flops,
                     "h100_hours": flops / (UTILISATION * H100_BF16_PEAK) / 3600})
    return rows


def print_cost_table(markdown: bool) -> None:
    rows = cost_table()
    total = sum(r["h100_hours"] for r in rows), sum(r["flops"] for r in rows)
    if markdown:
        print(f"| notebook (full profile) | models | training samples | training FLOPs | H100-hours at "
              f"{UTILISATION:.0%} of bf16 peak |")
        print("|---|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['notebook']} | {r['models']} | {r['samples']:.3g} | {r['flops']:.3g} | {r['h100_hours']:.2f} |")
        print(f"| **all** | | | {total[1]:.3g} | **{total[0]:.2f}** |")
        return
    print(f"training FLOPs (3 x forward) and H100-hours at {UTILISATION:.0%} of {H100_BF16_PEAK / 1e12:.0f} "
          "TFLOP/s (bf16 dense)")
    for r in rows:
        print(f"  {r['notebook']:26s} {r['flops']:10.3g} FLOPs {r['h100_hours']:8.2f} h  ({r['models']})")
    print(f"  {'all of the above':26s} {total[1]:10.3g} FLOPs {total[0]:8.2f} h")


if __name__ == "__main__":
    main()
