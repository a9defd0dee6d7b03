import numpy as np


def describe(name, values):
    data = np.array(values, dtype=float)
    return f"{name}: mean {data.mean():.2f}, std {data.std():.2f}"
