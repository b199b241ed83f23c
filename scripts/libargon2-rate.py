#!/usr/bin/env python3
"""libargon2 (the reference C implementation, through argon2-cffi) verify rate on
all cores, for make bench's comparison with the argon2 crate.

    scripts/libargon2-rate.py M_KIB T P SECONDS   ->  prints "verifies/s p50_ms"
One thread per core; argon2-cffi releases the GIL inside libargon2.
"""
import os
import sys
import threading
import time

from argon2 import low_level


def main() -> None:
    m, t, p, seconds = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    password = b"correct horse battery staple 42"
    stored = low_level.hash_secret(password, os.urandom(16), t, m, p, 32, low_level.Type.ID)
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        mine = []
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            low_level.verify_secret(stored, password, low_level.Type.ID)
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(os.cpu_count() or 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    print(f"{len(latencies) / elapsed:.1f} {latencies[len(latencies) // 2] * 1000:.2f}")


if __name__ == "__main__":
    main()
