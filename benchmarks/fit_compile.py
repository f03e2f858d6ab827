"""fit(compile=True) against eager fit, same model, same data, same seeds.

    .venv/bin/python benchmarks/fit_compile.py [--repeats 5] [--digits]

moons: MLP 2-16-16-1 on 400 two-moons points, 30 epochs, batch 32 (13
batches an epoch: one compiled step for 32 and one for the last 16), eager
and compiled fits interleaved, median of ``--repeats``; compiling is part of
the compiled fit's time.  Both fits must end at the same loss (1e-9).

--digits (needs ``pip install 'chainrule[datasets]'``): MLP 64-32-10, Adam,
the full batch of 1,347 training images, each mode in a fresh process for 6
epochs timed one by one; an epoch is the median of epochs 2-6, compiling is
the first epoch minus that, and the process's peak RSS is reported.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import nn  # noqa: E402
from nn.data import make_moons  # noqa: E402


def moons(repeats: int) -> None:
    X, Y = make_moons(400, seed=0)
    times = {False: [], True: []}
    losses = {}
    for _ in range(repeats):
        for comp in (False, True):
            model = nn.MLP(2, [16, 16, 1], seed=0)
            t = time.perf_counter()
            hist = nn.fit(model, X, Y, epochs=30, batch_size=32, compile=comp, verbose=0)
            times[comp].append(time.perf_counter() - t)
            losses[comp] = hist["loss"][-1]
    if abs(losses[False] - losses[True]) > 1e-9:
        raise SystemExit(f"eager and compiled fits disagree: {losses}")
    eager, comp = statistics.median(times[False]), statistics.median(times[True])
    print(f"moons, MLP 2-16-16-1, 30 epochs of batch 32 (median of {repeats}, final loss {losses[True]:.6f} both):")
    print(f"  eager    {eager:.3f} s")
    print(f"  compiled {comp:.3f} s  (compiling included): {eager / comp:.2f}x")


def digits_run(mode: str, epochs: int) -> None:
    data = nn.data.load_real("digits")
    X, y = data.X[:1347], data.y[:1347]
    model = nn.MLP(64, [32, 10], seed=0)
    ends = [time.perf_counter()]
    hist = nn.fit(model, X, y, epochs=epochs, batch_size=0, compile=mode == "compiled",
                  optimizer="adam", lr=0.01, verbose=0, callback=lambda e, r: ends.append(time.perf_counter()))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    times = [b - a for a, b in zip(ends, ends[1:])]
    print(times[0], statistics.median(times[1:] or times), hist["loss"][-1], rss)


def digits(epochs: int = 6) -> None:
    runs = {}
    for mode in ("eager", "compiled"):
        out = subprocess.run([sys.executable, __file__, "--digits-run", mode, str(epochs)],
                             check=True, capture_output=True, text=True).stdout.split()
        runs[mode] = [float(v) for v in out]
    print(f"digits, MLP 64-32-10, Adam, full batch of 1,347 (one process per mode, {epochs} epochs; "
          f"an epoch = the median of epochs 2-{epochs}):")
    for mode in ("eager", "compiled"):
        first, epoch, loss, rss = runs[mode]
        print(f"  {mode:8s} epoch {epoch:.2f} s, first epoch {first:.2f} s (compiling included), "
              f"peak RSS {rss:.0f} MB, loss after {epochs} epochs {loss:.6f}")
    print(f"  compiled epoch {runs['eager'][1] / runs['compiled'][1]:.2f}x faster; compiling costs "
          f"~{(runs['compiled'][0] - runs['compiled'][1]) / runs['eager'][1]:.1f} eager epochs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--digits", action="store_true")
    ap.add_argument("--digits-run", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.digits_run:
        digits_run(args.digits_run[0], int(args.digits_run[1]))
        return
    print(f"python {sys.version.split()[0]}")
    moons(args.repeats)
    if args.digits:
        digits()


if __name__ == "__main__":
    main()
