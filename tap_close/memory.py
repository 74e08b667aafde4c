"""Keeping the tap's memory flat on glibc, without paying for it in page faults.

glibc gives each thread its own malloc arena: pages of JSON freed by one fetch thread stayed
in that thread's heap, and the process grew with the number of threads that had ever held a
page. Two arenas bound that (measured with bench/run.py: 100 MB → 64 MB at 180k records).

The thresholds are fixed rather than left to glibc's own tuning, for speed: with blocks
above 128 kB mapped from the system one by one (every response body) and the heap trimmed
whenever 128 kB at its top were free, each page of the run was read into memory the
kernel had to fault in afresh, some 80,000 page faults (a tenth of the tap's CPU) on the
bench's backfill. Bodies (a page of leads is over a megabyte) now come from the heap, and
freed memory stays there to be reused by the next page. Memory stays bounded by the pages in
flight (tap_close/page_memory.py): the bench measures 60 MB at 68k records and 63 MB at 261k.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 4 * 1024 * 1024    # blocks above this are mapped from the system on their own
TRIM_THRESHOLD = 64 * 1024 * 1024   # free memory at the heap's top kept for reuse, up to this


def limit_heap_growth() -> None:
    """Call before any thread starts. A no-op where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(M_ARENA_MAX, 2)
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
