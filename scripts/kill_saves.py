"""Kill -9 a process N times while it saves models in a loop; count broken targets and leftover temporaries.

    python scripts/kill_saves.py            # N = 200
    python scripts/kill_saves.py --kills 50

After every kill the target must load and hold one of the saved models
(0 broken targets).  A kill that lands inside a save leaves that save's
temporary file behind (the OS cannot run our cleanup); the next save of
the same file removes it (0 leftover temporaries).  The figures are issue
14's "kill -9 during save N times" line.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nn import MLP, load_model, save_model  # noqa: E402

WRITER = """
import sys
from nn import MLP, save_model
models = [MLP(2, [128, 128, 1], seed=s) for s in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    save_model(models[i % 2], sys.argv[1])
    i += 1
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    folder = tempfile.mkdtemp(prefix="kill-saves-")
    path = os.path.join(folder, "model.json")
    save_model(MLP(2, [128, 128, 1], seed=0), path)
    allowed = [MLP(2, [128, 128, 1], seed=s).state_dict() for s in (0, 1, 2)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                        *sys.path]))
    broken = temps_seen = 0
    for _ in range(args.kills):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True, env=env)
        proc.stdout.readline()  # "ready": the models are built, saves start now
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        temps_seen += sum(name != "model.json" for name in os.listdir(folder))
        try:
            if load_model(path).state_dict() not in allowed:
                broken += 1
        except Exception:  # noqa: BLE001 - counting, not judging
            broken += 1
    save_model(MLP(2, [128, 128, 1], seed=0), path)  # the next save cleans up after the killed ones
    leftover = [name for name in os.listdir(folder) if name != "model.json"]
    print(f"kills: {args.kills}; temporaries left by killed saves (seen after each kill, summed): {temps_seen}; "
          f"broken targets: {broken}; leftover temporaries after the next save: {len(leftover)}")
    return 0 if broken == 0 and not leftover else 1


if __name__ == "__main__":
    sys.exit(main())
