# A project of two modules; numpy comes from Debian (stats.toml's packages).
import time

import summary

SAMPLES = (
    ("small", [1, 2, 3]),
    ("squares", [1, 4, 9, 16]),
    ("ramp", [0, 1, 2, 3, 4]),
    ("flat", [7, 7, 7]),
)

for name, values in SAMPLES:
    print(summary.describe(name, values), flush=True)
    time.sleep(0.7)
