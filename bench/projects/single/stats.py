# configs/python/stats as one file: the same numpy work and sleeps, so that
# the bench can tell numpy's own cost from the project's.
import time

import numpy as np

SAMPLES = (
    ("small", [1, 2, 3]),
    ("squares", [1, 4, 9, 16]),
    ("ramp", [0, 1, 2, 3, 4]),
    ("flat", [7, 7, 7]),
)

for name, values in SAMPLES:
    data = np.array(values, dtype=float)
    print(f"{name}: mean {data.mean():.2f}, std {data.std():.2f}", flush=True)
    time.sleep(0.7)
