import sys
import time

for remaining in (3, 2, 1):
    print(f"{remaining}...", flush=True)
    time.sleep(0.7)
print("liftoff from Python", sys.version_info.major)
