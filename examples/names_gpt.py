"""Train a tiny GPT on generated names, then sample new ones.

    python examples/names_gpt.py                       # ~1-2 minutes: 3,000 steps, then 20 samples
    python examples/names_gpt.py --steps 300 --samples 5
    python examples/names_gpt.py --plot docs/gpt_loss.png   # also draw the loss curve (needs matplotlib)

The model is ``nn.GPT`` with its defaults (the microgpt-sized model that
``benchmarks/w5.py`` times: 1 layer, 4 heads, 16-wide embeddings, context
16, RMSNorm, a ReLU MLP), the data 1,000 names from ``nn.text.make_names``
(made in code from a seeded syllable model; no downloads).  One name per
step, Adam with a linearly decaying learning rate, as microgpt trains.
Every number is seeded: the same command prints the same names.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from engine import gc_paused, no_grad  # noqa: E402
from nn import GPT, Adam, LinearLR  # noqa: E402
from nn.text import CharVocab, make_names  # noqa: E402


def mean_loss(model: GPT, vocab: CharVocab, names: list) -> float:
    """Mean next-token cross-entropy over ``names`` (no graph)."""
    with no_grad():
        return sum(model.loss(vocab.encode(n)).data for n in names) / len(names)


def train(steps: int = 3000, *, lr: float = 0.01, seed: int = 0, log_every: int = 250,
          out=sys.stdout) -> tuple:
    """Train on 900 names, hold out 100; returns (model, vocab, history, held-out names).

    ``history`` holds ``(step, mean training loss of the last log_every steps, held-out loss)``.
    """
    vocab = CharVocab()
    names = make_names(1000, seed=seed)
    train_names, val_names = names[:900], names[900:]
    model = GPT(len(vocab), block_size=16, n_layer=1, n_head=4, n_embd=16, seed=seed)
    opt = Adam(model.parameters(), lr=lr, betas=(0.85, 0.99))
    schedule = LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=steps)
    order = random.Random(seed)
    history, recent = [(0, mean_loss(model, vocab, train_names[:100]), mean_loss(model, vocab, val_names))], []
    print(f"{model.num_parameters():,} parameters; {len(train_names)} training names, e.g. "
          f"{', '.join(train_names[:5])}", file=out)
    print(f"step {0:5d}  loss {history[0][1]:.3f}  held-out {history[0][2]:.3f}", file=out)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        name = train_names[order.randrange(len(train_names))]
        with gc_paused():  # the graph holds no cycles: no need for the collector to re-walk it
            loss = model.loss(vocab.encode(name))
            opt.zero_grad()
            loss.backward()
        opt.step()
        schedule.step()
        recent.append(loss.data)
        if step % log_every == 0 or step == steps:
            history.append((step, sum(recent) / len(recent), mean_loss(model, vocab, val_names)))
            recent = []
            print(f"step {step:5d}  loss {history[-1][1]:.3f}  held-out {history[-1][2]:.3f}  "
                  f"({time.perf_counter() - start:.0f} s)", file=out)
    return model, vocab, history, val_names


def sample_names(model: GPT, vocab: CharVocab, n: int, *, temperature: float = 0.8, seed: int = 0) -> list:
    """``n`` names sampled from the model, each from the boundary token to the next one."""
    rng = random.Random(seed)
    return [vocab.decode(model.generate([vocab.boundary_id], model.block_size, temperature=temperature,
                                        stop_token=vocab.boundary_id, seed=rng)) for _ in range(n)]


def plot(history: list, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h[0] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    ax.plot(steps[1:], [h[1] for h in history[1:]], label="training (mean over the last steps)")
    ax.plot(steps, [h[2] for h in history], label="held-out names")
    ax.set_xlabel("step (one name per step)")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_title("nn.GPT on generated names")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="training steps, one name each (default 3000)")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam's starting learning rate (default 0.01)")
    ap.add_argument("--seed", type=int, default=0, help="names, weights and sampling seed (default 0)")
    ap.add_argument("--samples", type=int, default=20, help="names to sample after training (default 20)")
    ap.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default 0.8)")
    ap.add_argument("--plot", metavar="PATH", help="write the loss curve to PATH (.png/.svg; needs matplotlib)")
    args = ap.parse_args(argv)
    if (args.steps < 1 or args.samples < 0 or not 0 < args.temperature < float("inf")
            or not 0 < args.lr < float("inf")):
        ap.error("--steps must be >= 1, --samples >= 0, --temperature and --lr finite numbers > 0")
    if args.plot:  # before training: a bad path should not cost the run
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            ap.error(f"--plot: folder {folder!r} does not exist")
        if os.path.splitext(args.plot)[1].lower() not in (".png", ".svg", ".pdf", ".jpg"):
            ap.error(f"--plot: give a file name ending in .png, .svg, .pdf or .jpg, got {args.plot!r}")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            ap.error("--plot needs matplotlib: pip install matplotlib (or: pip install -e '.[demo]')")
    model, vocab, history, val_names = train(args.steps, lr=args.lr, seed=args.seed,
                                             log_every=max(1, min(250, args.steps // 10)))
    if args.plot:
        plot(history, args.plot)
        print(f"loss curve: {args.plot}")
    if args.samples:
        samples = sample_names(model, vocab, args.samples, temperature=args.temperature, seed=args.seed)
        held_out = set(val_names)
        known = set(make_names(1000, seed=args.seed))
        print("samples (* = a held-out name, + = in the training names):")
        print("  " + ", ".join(s + ("*" if s in held_out else "+" if s in known else "") for s in samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
