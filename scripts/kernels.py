"""Which CPU kernels NumPy, OpenBLAS, torch and glibc use here — and how to pretend otherwise.

    python scripts/kernels.py            # print the kernels this process uses
    python scripts/kernels.py --other    # print `export ...` lines for "another machine"

The book's stored outputs and its tests must not depend on the last bits of a float,
which change with the CPU's SIMD kernels.  CI therefore runs the notebooks and the
library tests twice: once as the machine is, once as a different machine would compute —
NumPy's runtime dispatch restricted to its baseline (every dispatchable feature this CPU
has disabled with ``NPY_DISABLE_CPU_FEATURES``), OpenBLAS forced to an older core type
(``OPENBLAS_CORETYPE``), torch's ATen kernels at their lowest capability
(``ATEN_CPU_CAPABILITY=default``), glibc's FMA/AVX2 variants of exp/log/pow/sin/cos
switched off (``GLIBC_TUNABLES``), and one thread everywhere.  ``--other`` prints those
settings, chosen from what this machine has, so that they are valid here; both runs
print the kernels they used, so the log shows that the variation was real.
"""

from __future__ import annotations

import argparse
import platform
import sys

# OpenBLAS core types, newest first, and an older one to fall back to on each
_OLDER_CORE = {
    "cooperlake": "Haswell", "skylakex": "Haswell", "sapphirerapids": "Haswell",
    "zen": "Sandybridge", "haswell": "Sandybridge", "sandybridge": "Nehalem",
    "neoversen1": "ARMV8", "neoversen2": "ARMV8", "neoversev1": "ARMV8", "thunderx2t99": "ARMV8",
    "armv8": "ARMV8",
}


def numpy_features():
    """(baseline, dispatched features this CPU has, dispatched features it lacks)."""
    import numpy as np

    try:
        umath = np._core._multiarray_umath
    except AttributeError:  # NumPy 1.x
        umath = np.core._multiarray_umath
    have = umath.__cpu_features__
    dispatch = list(umath.__cpu_dispatch__)
    return list(umath.__cpu_baseline__), [f for f in dispatch if have.get(f)], [f for f in dispatch if not have.get(f)]


def blas_info():
    """[(library, architecture or version, threads)] from threadpoolctl."""
    from threadpoolctl import threadpool_info

    return [(i.get("internal_api"), i.get("architecture") or i.get("version"), i.get("num_threads"))
            for i in threadpool_info()]


def torch_capability():
    try:
        import torch

        return torch.backends.cpu.get_cpu_capability(), torch.get_num_threads()
    except Exception as exc:  # torch missing or too old: say so, do not fail the report
        return f"unknown ({type(exc).__name__})", None


def report() -> str:
    import os

    baseline, found, missing = numpy_features()
    cap, threads = torch_capability()
    lines = [
        f"machine: {platform.machine()} {platform.processor() or ''}".rstrip(),
        f"numpy SIMD: baseline {' '.join(baseline)}; dispatched here: {' '.join(found) or 'none (baseline only)'}"
        + (f"; not on this CPU: {' '.join(missing)}" if missing else ""),
        "NPY_DISABLE_CPU_FEATURES=" + os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
    ]
    for api, arch, n in blas_info():
        lines.append(f"{api}: {arch}, {n} thread(s)")
    lines.append(f"torch ATen CPU capability: {cap}, {threads} thread(s)")
    lines.append("GLIBC_TUNABLES=" + os.environ.get("GLIBC_TUNABLES", ""))
    return "\n".join(lines)


def other_machine() -> dict:
    """Environment settings that make this machine compute like an older, different one."""
    _, found, _ = numpy_features()
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "ATEN_CPU_CAPABILITY": "default"}
    if found:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(found)
    for api, arch, _ in blas_info():
        if api == "openblas" and arch:
            older = _OLDER_CORE.get(str(arch).lower())
            if older:
                env["OPENBLAS_CORETYPE"] = older
    if platform.machine() in ("x86_64", "AMD64"):
        env["GLIBC_TUNABLES"] = "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F,-AVX_Fast_Unaligned_Load"
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", action="store_true", help="print export lines for a simulated other machine")
    args = parser.parse_args(argv)
    if args.other:
        for k, v in other_machine().items():
            print(f"export {k}='{v}'")
    else:
        print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
