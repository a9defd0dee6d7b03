# A project of two modules; numpy comes from Debian (stats.toml's packages).
import time

import summary

for name, values in (("small", [1, 2, 3]), ("squares", [1, 4, 9, 16]), ("flat", [7, 7, 7])):
    print(summary.describe(name, values), flush=True)
    time.sleep(0.7)
