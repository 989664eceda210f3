"""Keeping freed memory in the process, for big checks on machines where page faults are dear.

A big check (784-512-512-10 at batch 256) allocates and frees some 60 MB of NumPy
temporaries.  With glibc's defaults, arrays above a size threshold are mapped
afresh each time and the top of the heap is handed back to the system once more
than a few MB of it is free, so the next check touches new pages again: about
10,000 page faults per check, 13-36 ms of its 70-100 ms in a virtual machine (where a
fault costs several microseconds).  Asking glibc to keep freed memory (the same
two settings as ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` in the
environment) removes them: docs/performance.md gives both figures.

This changes how the whole process allocates, so ``reference`` never does it on
its own: call :func:`keep_freed_memory` once (a ``conftest.py`` is a good place),
or set the two environment variables before Python starts.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

__all__ = ["keep_freed_memory"]

#: glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: glibc's own ceiling for its dynamic mmap threshold on 64-bit systems.
_MMAP_MAX = 32 << 20


def keep_freed_memory(trim_threshold: int = 256 << 20, mmap_threshold: int = _MMAP_MAX) -> bool:
    """Ask glibc to keep up to ``trim_threshold`` bytes of freed memory and to serve allocations
    below ``mmap_threshold`` bytes from it; return whether it took effect (False off glibc).

    The process then holds on to memory it has freed (at most ``trim_threshold`` at the top of
    its heap) instead of faulting it in again on the next use.  Both arguments are positive ints
    of bytes; ``mmap_threshold`` at most 32 MiB (glibc's limit).
    """
    for name, value, top in (("trim_threshold", trim_threshold, None), ("mmap_threshold", mmap_threshold, _MMAP_MAX)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int number of bytes, got {value!r}")
        if value <= 0 or (top is not None and value > top):
            raise ValueError(f"{name} must be between 1 and {top or 'any'} bytes, got {value}")
    if platform.libc_ver()[0] != "glibc":  # macOS, musl, Windows: another allocator, nothing to set
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
