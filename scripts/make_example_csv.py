"""Write examples/fruit.csv and examples/fruit_new.csv, the README's "Your own data" example.

Made-up fruit measurements, seeded, so the example needs no download and no extra package:

    python scripts/make_example_csv.py
"""
import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "examples")

# fruit -> (mean, standard deviation) of weight in g, diameter in cm, sugar in °Bx, colour hue in degrees
FRUIT = {
    "apple": ((180, 30), (7.5, 0.8), (13, 1.5), (20, 25)),
    "orange": ((200, 35), (8.0, 0.9), (11, 1.5), (35, 6)),
    "lemon": ((110, 20), (6.0, 0.6), (3, 1.0), (55, 6)),
    "lime": ((60, 12), (4.5, 0.5), (2, 0.8), (95, 10)),
}
COLUMNS = ["weight_g", "diameter_cm", "sugar_brix", "hue_deg"]


def rows(n, rng, with_label=True):
    names = list(FRUIT)
    for _ in range(n):
        name = rng.choice(names)
        values = [round(rng.gauss(m, s), 1) for m, s in FRUIT[name]]
        yield values + ([name] if with_label else [])


def main():
    rng = random.Random(2024)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "fruit.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS + ["fruit"])
        w.writerows(rows(400, rng))
    with open(os.path.join(OUT, "fruit_new.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows(12, rng, with_label=False))


if __name__ == "__main__":
    main()
