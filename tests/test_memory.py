"""reference.keep_freed_memory: glibc keeps freed memory, so a repeated big check stops faulting pages in."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import reference

MEMORY = Path(reference.__file__).with_name("memory.py")


@pytest.mark.parametrize("kwargs, error, words", [
    ({"trim_threshold": 0}, ValueError, "trim_threshold must be between 1"),
    ({"mmap_threshold": (32 << 20) + 1}, ValueError, "mmap_threshold must be between 1 and 33554432"),
    ({"trim_threshold": 1.5e8}, TypeError, "trim_threshold must be an int"),
    ({"mmap_threshold": True}, TypeError, "mmap_threshold must be an int"),
])
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        reference.keep_freed_memory(**kwargs)


def test_freed_memory_is_kept_in_a_fresh_process():
    # In a child process (the setting is process-wide): the same 24 MB of arrays allocated and freed
    # ten times faults much of it in again and again with glibc's defaults, and none of it after the call.
    # reference/memory.py loaded by path: importing the reference package would start JAX (~0.5 s)
    code = textwrap.dedent(f"""
        import importlib.util, resource, sys
        import numpy as np
        spec = importlib.util.spec_from_file_location("memory", {str(MEMORY)!r})
        reference = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(reference)

        def faults():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(10):
                arrays = [np.ones(1 << 19) for _ in range(6)]  # 6 x 4 MB, written
                del arrays
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

        default = faults()
        if not reference.keep_freed_memory():
            print("not glibc"); sys.exit(0)
        faults()  # the first round after the call may fault the pages in once
        print(default, faults())
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's defaults in the child
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    if out == ["not", "glibc"]:
        pytest.skip("keep_freed_memory is a no-op off glibc")
    default, kept = map(int, out)
    pages = 10 * 6 * (4 << 20) // 4096
    assert kept < pages / 20, (default, kept)
    if not _huge_pages_always():  # with transparent huge pages always on, few faults either way
        assert default > pages / 4, (default, kept)


def _huge_pages_always() -> bool:
    try:
        return "[always]" in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
