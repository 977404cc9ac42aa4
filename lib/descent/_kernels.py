r"""Traced steps as C loops, for the CPU fused path of :mod:`descent.torch`.

A :class:`~descent._trace._Program` is a straight-line elementwise program; on the CPU it
becomes one C function (:func:`c_source`)::

    void step(void *const *arrays, const double *s, int64_t n, int threads)

that loops once over the ``n`` elements of ``g``, ``x`` and the state arrays, updating
``x`` and the state in place, with the step's scalars in ``s``.  It is compiled with the
system's C compiler into a shared library (:class:`CKernels`) and called through
:mod:`ctypes`: a call costs a few microseconds, where a ``torch.compile``\d function
costs about 40 µs of Python wrappers per call on the CPU (measured on this project's
2-core machine around a 35 µs loop), more than the whole step of a small model.

**IEEE arithmetic.**  Every value is a float (or a double, as the parameters) and each
scalar is rounded to it first, as ATen rounds a Python number against a float tensor; no
contraction into fused multiply-adds (``-ffp-contract=off``), no fast-math;
``x ** 0.5`` is ``sqrt`` and ``x ** 2.0`` is ``x * x`` (ATen's special exponents,
:data:`_POW`); ``maximum`` and ``minimum`` propagate NaN.  So every op is rounded as
IEEE 754 says, on any machine, whatever the vector width the compiler picks: the loop
has the bits of NumPy's evaluation of the same program, op by op, and of torch's eager
ops for ``+ - * /``, comparisons and ``where`` (``tests/test_kernels.py``).  torch's own
CPU ``sqrt`` (MKL's vector math) is not always correctly rounded (one ulp away on about
17 % of float32 inputs and 1.3 % of float64 ones, measured on this project's machine), so
there the loop and the eager rule differ in the last bit; ``exp``, ``log`` and other
powers come from the C library.

**Threads.**  ``#pragma omp parallel for`` over ``threads`` (torch's intra-op count), for
arrays of at least :data:`PARALLEL_MIN` elements.  The library links ``libgomp.so.1``,
which resolves to the OpenMP runtime torch has already loaded, so there is one thread
pool.  Elementwise work splits without changing a single result.

**Cache.**  A compiled library is named by a hash of its source, the compiler and its
flags, and kept in ``$DESCENT_KERNEL_CACHE`` or ``<tempdir>/descent-kernels-<uid>``;
another optimizer or process with the same step loads it instead of compiling (about
0.2 s).  Written to a temporary name and renamed, so concurrent processes never see half
a file.  No state lives at module level: the loaded functions belong to a
:class:`CKernels`, which belongs to one optimizer.
"""

from __future__ import annotations

import ctypes
import hashlib
import operator
import os
import shutil
import subprocess
import tempfile

from ._trace import _BINARY

__all__ = ["CKernels", "c_source"]

#: arrays of at least this many elements run on all of torch's intra-op threads
PARALLEL_MIN = 1 << 15

#: flag sets tried in order; the first that compiles is used (no OpenMP: one thread)
FLAGS = (
    ("-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fopenmp"),
    ("-O3", "-ffp-contract=off", "-fno-math-errno", "-fopenmp"),
    ("-O3", "-ffp-contract=off", "-fno-math-errno"),
)

#: ATen's special exponents of ``pow(tensor, number)`` (each is exact there, as here)
_POW = {0.5: "sqrt{f}({a})", 2.0: "({a} * {a})", 3.0: "({a} * {a} * {a})", -0.5: "(1 / sqrt{f}({a}))",
        -1.0: "(1 / {a})", -2.0: "(1 / ({a} * {a}))", 1.0: "{a}", 0.0: "(({T}) 1)"}

#: functions of one argument: the C library's name (``f`` suffix for float)
_MATH = {"sqrt": "sqrt", "exp": "exp", "log": "log", "abs": "fabs"}

_CTYPE = {"float32": "float", "float64": "double"}


def c_source(program, dtype):
    """The C function ``step`` of a traced program on arrays of ``dtype`` (``"float32"`` or
    ``"float64"``)."""
    T = _CTYPE[dtype]
    f = "f" if T == "float" else ""
    arrays = ["g", "x"] + [f"a_{name}" for name in program.fields]
    bools = set()
    body = [f"const {T} {a} = p_{a}[i];" for a in arrays]
    for name, op, operands in program.ops:
        a = operands[0]
        if op in _BINARY:
            expr, is_bool = f"{a} {op} {operands[1]}", op in ("<", "<=", ">", ">=")
        elif op == "neg":
            expr, is_bool = f"-{a}", False
        elif op == "**":
            e = operands[1]
            expr = _POW[e].format(a=a, f=f, T=T) if e in _POW else f"pow{f}({a}, ({T}) {e!r})"
            is_bool = False
        elif op == "rpow":
            expr, is_bool = f"pow{f}({a}, {operands[1]})", False
        elif op in _MATH:
            expr, is_bool = f"{_MATH[op]}{f}({a})", False
        elif op == "sign":
            expr, is_bool = f"({T}) (({a} > 0) - ({a} < 0))", False
        elif op == "maximum" or op == "minimum":
            b = operands[1]
            expr = f"({a} != {a} || {b} != {b}) ? {a} + {b} : ({a} {'<' if op == 'maximum' else '>'} {b}) ? {b} : {a}"
            is_bool = False
        elif op == "where":
            expr, is_bool = f"{a} ? {operands[1]} : {operands[2]}", False
        else:  # the tracer records nothing else
            raise ValueError(f"unknown op {op!r}")
        if is_bool:
            bools.add(name)
        body.append(f"const {'int' if is_bool else T} {name} = {expr};")
    body.append(f"p_x[i] = x + {program.step};")
    body += [f"p_a_{field}[i] = {v};" for field, v in program.writes]
    head = [f"{T} *restrict p_{a} = ({T} *) arrays[{k}];" for k, a in enumerate(arrays)]
    head += [f"const {T} s{k} = ({T}) s[{k}];" for k in range(program.n_scalars)]
    return "\n".join([
        "#include <math.h>",
        "#include <stdint.h>",
        "void step(void *const *arrays, const double *s, int64_t n, int threads) {",
        *(f"  {ln}" for ln in head),
        f"  #pragma omp parallel for num_threads(threads) schedule(static) if(threads > 1 && n >= {PARALLEL_MIN})",
        "  for (int64_t i = 0; i < n; i++) {",
        *(f"    {ln}" for ln in body),
        "  }",
        "}",
        "",
    ])


def _compiler():
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise RuntimeError("no C compiler (set CC, or install gcc)")
    return cc


def _cache_dir():
    d = os.environ.get("DESCENT_KERNEL_CACHE") or os.path.join(tempfile.gettempdir(), f"descent-kernels-{os.getuid()}")
    os.makedirs(d, exist_ok=True)
    return d


class CKernels:
    """One optimizer's compiled C steps: ``get(program, dtype)`` -> a callable
    ``fn(arrays, scalars, threads)`` on contiguous tensors of ``dtype``."""

    def __init__(self):
        self.loaded = {}  # (program, dtype) -> ctypes function

    def get(self, program, dtype):
        key = (program, dtype)
        fn = self.loaded.get(key)
        if fn is None:
            fn = self.loaded[key] = self._load(c_source(program, dtype), "torch." + dtype)
        return fn

    @staticmethod
    def _load(src, dtype):
        cc = _compiler()
        errors = []
        for flags in FLAGS:
            digest = hashlib.sha256("\0".join((src, cc, *flags)).encode()).hexdigest()[:24]
            path = os.path.join(_cache_dir(), f"step-{digest}.so")
            if not os.path.exists(path):
                with tempfile.TemporaryDirectory(dir=_cache_dir()) as tmp:
                    c_file, so_file = os.path.join(tmp, "step.c"), os.path.join(tmp, "step.so")
                    with open(c_file, "w") as fh:
                        fh.write(src)
                    run = subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", so_file, c_file, "-lm"],
                                         capture_output=True, text=True)
                    if run.returncode != 0:
                        errors.append(run.stderr.strip().splitlines()[-1:] or [f"exit {run.returncode}"])
                        continue
                    os.replace(so_file, path)
            lib = ctypes.CDLL(path)
            step = lib.step
            step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int]
            step.restype = None
            return _Step(lib, step, dtype)
        raise RuntimeError(f"{cc} could not compile the step: {errors[-1][0]}")


class _Step:
    """A loaded C step.  ``lib`` keeps the library mapped; ``arrays`` and ``ptrs`` are the
    tensors of the last call and their addresses, reused while the same tensors come back
    (a bucket's buffers live as long as the bucket)."""

    __slots__ = ("lib", "fn", "dtype", "arrays", "ptrs")

    def __init__(self, lib, fn, dtype):
        self.lib, self.fn, self.dtype = lib, fn, dtype
        self.arrays, self.ptrs = (), None

    def __call__(self, arrays, scalars, threads):
        """Step on ``arrays`` (g, x, state: contiguous, of one size and of the library's
        dtype); False, touching nothing, for any other arrays."""
        if len(arrays) != len(self.arrays) or not all(map(operator.is_, arrays, self.arrays)):
            n = arrays[0].numel()
            if not all(str(a.dtype) == self.dtype and a.is_contiguous() and a.numel() == n and a.device.type == "cpu"
                       for a in arrays):
                return False
            self.arrays, self.ptrs = tuple(arrays), (ctypes.c_void_p * len(arrays))(*[a.data_ptr() for a in arrays])
        self.fn(self.ptrs, (ctypes.c_double * max(1, len(scalars)))(*scalars), arrays[0].numel(), threads)
        return True
