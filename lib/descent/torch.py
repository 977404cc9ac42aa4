r"""Any descent rule as a real :class:`torch.optim.Optimizer`.

    >>> import descent, descent.torch
    >>> opt = descent.torch.Optimizer(model.parameters(), descent.adam, lr=3e-4, weight_decay=0.1)

``Optimizer(params, rule, **hyperparameters)`` takes a rule *factory* (``descent.adam``,
``descent.lbfgs`` … or any rule whose state is a NamedTuple of ``t``, arrays and numbers)
and the factory's keyword arguments.  What torch users expect works: param groups with
their own hyperparameters (``defaults`` are the factory's defaults overridden by the
keyword arguments), torch's LR schedulers (they write ``group["lr"]``; OneCycleLR also
cycles ``group["momentum"]`` or ``group["betas"][0]``) or a :mod:`descent.schedules`
schedule as ``lr`` (the rule evaluates it at its step count), ``state_dict`` /
``load_state_dict`` with per-parameter state under torch's names (``step``, ``exp_avg``,
``momentum_buffer``, ``row_var``, ``old_dirs`` …, the table
:func:`descent.rules.base.torch_state_keys`), ``zero_grad``, ``step(closure)``, parameters
whose grad is ``None`` skipped, CPU and CUDA, float32/float64/bfloat16.  Every rule of
:data:`descent.TORCH_TWINS` gives its torch class's parameters and state (``tests/
test_torch_adapter.py``, ``tests/test_torch_adapter_all.py``).  The math lives in the rule
only: the adapter calls ``rule.update`` and adds the step.

Three ways to run a rule
------------------------
Decided once, from the rule (``Optimizer._kind``):

``"flat"`` — ``rule.elementwise`` (SGD, Adam and most rules).  Parameters are grouped in
    buckets, one per (group, device, dtype) (:class:`_Bucket`), and one rule call updates a
    whole bucket; see "How the flat path is fast" below.
``"tensor"`` — ``elementwise=False`` (Adafactor, Muon, SparseAdam).  The update needs the
    parameter in its own shape (row and column statistics, Newton–Schulz on a matrix) or a
    gradient that is not a plain array, so each parameter is its own call
    (:meth:`Optimizer._step_tensors`): the rule's state NamedTuple is rebuilt from
    ``self.state[p]`` (:func:`_from_torch`), updated, and written back in place under
    torch's names (:func:`_store`).  The rules in :data:`SPARSE_GRADIENT_RULES` take torch's
    sparse gradient (an ``nn.Embedding(sparse=True)``'s) as a
    :class:`~descent.rules.adam.SparseGrad` (:func:`_sparse_grad`) and refuse a dense one
    with torch's words; the others refuse a sparse one.  The rule's ``init`` checks every
    parameter's shape when a group is added (on a meta tensor: Muon's "only supports 2D
    parameters").
``"closure"`` — the rule takes an objective first (L-BFGS; :mod:`descent.rules`'
    convention).  As torch.optim.LBFGS: one param group, ``step(closure)`` required, all
    parameters one flat vector, the state on the first parameter.  The objective is a
    :class:`_ClosureObjective`: ``f(x)`` and ``grad(x)`` set the parameters to ``x``, call
    the closure once and return the loss and the flat gradient, so the rule calls the
    closure exactly where torch does; :meth:`Optimizer._step_closure` returns the first
    call's loss.

How the flat path is fast (``bench/torch_step.py``)
---------------------------------------------------
* **Flat storage.**  On the first step the parameters of each bucket are moved into one
  flat buffer (``p.data`` becomes a view of it) and ``p.grad`` is pre-set to an alias of
  a flat gradient buffer, so autograd accumulates straight into it.  One call of the rule
  then updates every parameter of the bucket with a handful of large tensor ops instead
  of ~10 small ops per parameter, and no gradient is ever copied.  On the CPU the
  buffers of a bucket (gradient, parameters, state) start at staggered addresses
  (:func:`_staggered`): buffers allocated one after another otherwise sit at distances
  that make the streams of one loop evict each other's cache lines, which made a step up
  to four times slower, depending on where the allocator put them.
* **Grad ``None`` without ``None``.**  Because the flat gradient must stay in place,
  :meth:`Optimizer.zero_grad` zeroes the buffer instead of setting ``p.grad = None``,
  and remembers that the gradients are "None" until autograd accumulates into them: a
  post-accumulate-grad hook on each parameter marks it when autograd writes its
  gradient (torch's own ``AccumulateGrad``, under DDP, AMP and ``torch.compile`` alike).
  A parameter that got no gradient since ``zero_grad`` is skipped exactly as torch
  skips a ``None`` grad (no state change, no weight decay), whatever else touched its
  buffer in place (``clip_grad_norm_`` scaling the zeros of a parameter the loss did not
  reach, ``GradScaler.unscale_``).  A grad that the user set to ``None`` or replaced by
  another tensor is honoured too (a replaced grad is copied into the buffer, so
  ``model.zero_grad()``, which sets ``None``, works but copies).  The one visible
  difference: between ``zero_grad()`` and ``backward()``, ``p.grad`` reads as zeros
  instead of ``None``.
* **State in the buckets.**  A bucket keeps the state as flat tensors and per-parameter
  numbers (``t`` …); ``self.state[p]`` holds views of them under torch's names
  (:meth:`Optimizer._show`), so ``state_dict`` sees the live values.  ``load_state_dict``,
  a new param group or a parameter moved out of its buffer (``model.to``) drops the
  buckets; the next step lays them out again and imports the state
  (:meth:`Optimizer._import`).  Parameters with different step counts, or some without a
  grad, are updated one by one with the same rule (:meth:`Optimizer._step_some`).
* **Fused buckets.**  An out-of-place rule on millions of elements costs one memory pass
  per operator, and on a small model every operator is mostly Python.  So the rule is
  *traced* with symbolic arrays (:mod:`descent._trace`; scalars such as
  ``lr / (1 - beta1**t)`` are computed in Python, as in eager mode) into a straight-line
  program that updates ``x`` and the state in place, and the program runs as one loop
  (:class:`_FusedSteps`, one per Optimizer), the scalars passed as arguments so changing
  ``lr``/``betas``/``momentum`` never recompiles.  On the CPU (float32, float64) the loop
  is C (:mod:`descent._kernels`): compiled once by the system's C compiler in about 0.2 s
  (cached on disk), called through ctypes in a few microseconds, with IEEE arithmetic, so
  it has the eager rule's bits wherever torch's own kernels are correctly rounded.  On
  CUDA (and for bfloat16 on the CPU) the program goes through ``torch.compile``.  If
  compiling is not possible the adapter warns once and falls back to eager evaluation in
  cache-sized chunks (:data:`CHUNK`).  ``fuse=False`` switches fusion off, ``fuse=True``
  forces it, ``"auto"`` fuses CUDA buckets and CPU buckets from :data:`FUSE_MIN_NUMEL_CPU`
  elements.  A C loop is compiled at the first step; for ``torch.compile`` a step
  structure is compiled only once it repeats, so SGD's special first step runs eagerly.
* **Little Python per step.**  A step of a small model is mostly bookkeeping, so the hot
  path checks the buffers and the gradients with ``map`` over C-level getters, sets the
  grad mode with one call instead of the ``no_grad`` decorator, writes the step counts
  shown in ``state_dict`` through a NumPy view (no tensor dispatch), and enters torch's
  step wrapper (hooks, the profiler's range) only when a hook or a profiler is there to
  see it (:meth:`Optimizer.step`).

Parameters that cannot share a flat buffer (non-contiguous …) are buckets of one, updated
in place with the same rule.

The file, in order: constants; :class:`_FusedSteps`; :class:`_Bucket`; the helpers of the
tensor and closure paths; :class:`Optimizer` (construction and groups, layout and state
import, ``zero_grad`` / ``step`` of the flat path, the tensor and closure paths, fusion).
No state lives at module level: caches belong to an Optimizer.
"""

from __future__ import annotations

import inspect
import numbers
import operator
import warnings
from collections import Counter

import torch
import torch.optim.optimizer as _optim_module

from . import _kernels
from ._trace import _trace, _Untraceable
from .rules import TORCH_TWINS, SparseGrad
from .rules.base import torch_state_keys

__all__ = ["Optimizer"]


#: Buckets at least this large are fused under ``fuse="auto"`` on CPU (a C loop: about
#: 0.2 s to compile once, a few microseconds a call); below it the eager rule's handful of
#: tensor ops on a few thousand elements costs no more than a fused call.
FUSE_MIN_NUMEL_CPU = 1 << 12
#: Eager evaluation of a large bucket runs in chunks of this many elements so the rule's
#: temporaries stay in cache.
CHUNK = 1 << 17

#: torch.compile backend of the fused path (tests give their optimizer an "eager" one).
BACKEND = "inductor"

#: Rules whose gradient is a :class:`~descent.rules.adam.SparseGrad` (rule name -> torch's
#: words for a dense gradient); every other rule refuses a sparse gradient, as torch does.
SPARSE_GRADIENT_RULES = {"sparse_adam": "SparseAdam does not support dense gradients, please consider Adam instead"}


def _scalar_dtype():
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


# ------------------------------------------------------------------ fused steps


class _FusedSteps:
    """One Optimizer's compiled step functions, by traced program.

    A program for ``torch.compile`` is compiled once it has been traced twice (so SGD's
    special first step never is); a C loop at once, so that a bucket's steps all run the
    same code (a resumed run repeats the bits of a straight one).  ``broken`` records why
    compiling failed, after which every step runs eagerly.
    Three ways to run one (:meth:`mode`):

    ``"c"`` — CPU float32/float64, ``native``: a C loop (:mod:`descent._kernels`), called
        through ctypes for a few microseconds; IEEE arithmetic, so the eager rule's bits
        for ``+ - * /``, comparisons and ``where``, and a correctly rounded ``sqrt``.
    ``"packed"`` — CPU float32/float64 with ``native=False``: ``torch.compile`` with the
        scalars packed in one float64 tensor and static sizes first.  Python floats would
        be specialized (a recompile whenever ``lr`` or a bias correction changes) or, made
        symbolic, cost a slower kernel; a 0-d float64 scalar does not promote a float32
        tensor, so the arithmetic is the one the eager rule does.
    ``"plain"`` — CUDA, and other dtypes on the CPU (bfloat16):
        ``torch.compile(dynamic=True)`` with the scalars as arguments.
    """

    def __init__(self, backend=BACKEND, native=True):
        self.backend, self.native = backend, native
        self.seen = Counter()  # key -> times traced
        self.compiled = {}  # key -> compiled function
        self.broken = None  # reason compiling failed, once
        self.kernels = _kernels.CKernels()

    def mode(self, x):
        if x.device.type != "cpu":
            return "plain"
        if self.native and x.dtype in (torch.float32, torch.float64):
            return "c"
        return "packed" if x.dtype in (torch.float32, torch.float64) else "plain"

    def _compile(self, prog, mode, dtype):
        if mode == "c":
            return self.kernels.get(prog, str(dtype).removeprefix("torch."))
        scope = {"torch": torch}
        exec(compile(prog.python(), "<descent.torch fused step>", "exec"), scope)  # noqa: S102
        fused = scope["fused"]
        if mode == "plain":
            return torch.compile(fused, dynamic=True, fullgraph=True, backend=self.backend)

        def fused_packed(*args):
            return fused(*args[:-1], *args[-1].unbind())

        return torch.compile(fused_packed, dynamic=None, fullgraph=True, backend=self.backend)

    def run(self, prog, arrays, scalars, mode):
        """Run the fused step ``prog`` on ``arrays`` (g, x, state) and ``scalars`` in ``mode``
        (:meth:`mode` of ``x``); False when it must run eagerly instead."""
        x = arrays[1]
        key = (prog, mode, x.dtype)
        fn = self.compiled.get(key)
        if fn is None and mode != "c":  # a C loop compiles in 0.2 s: at once, so that every step is one
            self.seen[key] += 1
            if self.seen[key] < 2:
                return False
        try:
            if fn is None:
                fn = self.compiled[key] = self._compile(prog, mode, x.dtype)
            if mode == "c":
                if not fn(arrays, scalars, torch.get_num_threads()):
                    return False
            elif mode == "packed":
                fn(*arrays, torch.tensor(scalars, dtype=torch.float64))
            else:
                fn(*arrays, *scalars)
        except Exception as e:  # no compiler, unsupported backend ...: stay correct, go eager
            if self.broken is None:
                warnings.warn(f"descent.torch: compiling the fused step failed ({type(e).__name__}: {e}); "
                              "running the rule eagerly", UserWarning, stacklevel=4)
            self.broken = f"{type(e).__name__}: {e}"
            return False
        return True


# ------------------------------------------------------------------ buckets


_DATA_PTR = torch.Tensor.data_ptr
_GRAD = operator.attrgetter("grad")

_SPARSE = ("descent.torch.Optimizer: this rule does not support sparse gradients (a parameter of shape {} has one, "
           "e.g. from nn.Embedding(sparse=True)); use descent.sparse_adam for it, or a dense embedding")


class _Mark:
    """A post-accumulate-grad hook: ``marks[i] = True`` when autograd writes the gradient."""

    __slots__ = ("marks", "i")

    def __init__(self, marks, i):
        self.marks, self.i = marks, i

    def __call__(self, param):
        self.marks[self.i] = True


class _Bucket:
    """The parameters of one group on one device with one dtype, and their state.

    ``flat`` buckets own a flat parameter buffer (``p.data`` are views), a flat gradient
    buffer (``p.grad`` are aliases; a hook marks each one autograd accumulates into) and
    flat state buffers; a non-flat bucket holds one parameter that is updated in place.
    """

    def __init__(self, group, params, flat):
        p0 = params[0]
        self.group, self.params, self.flat = group, params, flat
        self.device, self.dtype = p0.device, p0.dtype
        self.numels = [p.numel() for p in params]
        self.offsets = [0]
        for n in self.numels[:-1]:
            self.offsets.append(self.offsets[-1] + n)
        self.numel = sum(self.numels)
        self.fields = None  # state layout, known after the first init
        self.arrays = {}  # field -> flat state tensor
        self.scalars = {}  # field -> list of per-parameter numbers (t, mu_product ...)
        self.shown = {}  # field -> CPU tensor of the numbers, what state_dict shows
        self.shown_np = {}  # field -> a NumPy view of the same memory
        self.started = [False] * len(params)
        self.uniform = True
        self.rule = None
        self.fuse_off = False  # the rule turned out untraceable
        self.fusable, self.mode = None, None  # decided on the first step (Optimizer._use_fuse)
        if flat:
            with torch.no_grad():
                self._x = _staggered(self.numel, self.dtype, self.device, 1)
                self.g = _staggered(self.numel, self.dtype, self.device, 0).zero_()
                storage, base = self.g.untyped_storage(), self.g.storage_offset()
                self.grads, self.present, self.ptrs = [], [], []
                self.accumulated = [False] * len(params)  # by autograd since zero_grad (the hooks)
                for p, o, n in zip(params, self.offsets, self.numels, strict=True):
                    self._x[o:o + n].copy_(p.data.reshape(-1))
                    p.data = self._x[o:o + n].view(p.shape)
                    self.ptrs.append(p.data_ptr())
                    alias = torch.empty(0, dtype=self.dtype, device=self.device).set_(
                        storage, base + o, p.shape, _contiguous_strides(p.shape))
                    had = p.grad is not None
                    if had:
                        alias.copy_(p.grad)
                    p.grad = alias
                    self.grads.append(alias)
                    self.present.append(had)
            self.hooks = [p.register_post_accumulate_grad_hook(_Mark(self.accumulated, i))
                          for i, p in enumerate(params)]

    def release(self):
        """Remove the hooks (the bucket is being dropped)."""
        for h in getattr(self, "hooks", ()):
            h.remove()
        self.hooks = []

    @property
    def x(self):
        return self._x if self.flat else self.params[0].data

    def adopt(self, f, a):
        """Keep ``a`` as the state array ``f``; a flat bucket's in a buffer of its own, staggered
        after the gradient, the parameters and the state arrays before it (:func:`_staggered`)."""
        if self.flat:
            a = _staggered(a.numel(), a.dtype, a.device, 2 + len(self.arrays)).view(a.shape).copy_(a)
        self.arrays[f] = a

    # -- gradients ---------------------------------------------------------------
    def valid(self):
        """False once someone moved a parameter out of the flat buffer (``model.to`` …)."""
        if not self.flat:
            return True
        return list(map(_DATA_PTR, self.params)) == self.ptrs

    def has_grad(self):
        """Which parameters have a gradient now (torch: ``p.grad is not None``)."""
        if not self.flat:
            g = self.params[0].grad
            if g is not None and g.is_sparse:
                raise RuntimeError(_SPARSE.format(tuple(self.params[0].shape)))
            return [g is not None]
        grads = list(map(_GRAD, self.params))
        if all(map(operator.is_, grads, self.grads)):  # the usual case: every grad is its alias
            return list(map(operator.or_, self.present, self.accumulated))
        out = []
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            alias = self.grads[i]
            if g is alias:
                out.append(self.present[i] or self.accumulated[i])
            elif g is None:
                self.present[i] = False
                out.append(False)
            else:  # replaced by the user or by a set_to_none zero_grad + backward: copy back
                if g.is_sparse:
                    raise RuntimeError(_SPARSE.format(tuple(p.shape)))
                with torch.no_grad():
                    alias.copy_(g)
                p.grad = alias
                out.append(True)
        return out

    def zero_grad(self, set_to_none):
        with torch.no_grad():
            self.g.zero_()
        for i, p in enumerate(self.params):
            if p.grad is not self.grads[i]:
                if p.grad is None and not set_to_none:
                    continue
                p.grad = self.grads[i]
                if not set_to_none:
                    self.present[i] = True
            if set_to_none:
                self.present[i] = False
        self.accumulated[:] = [False] * len(self.params)

    def grad_is_none(self):
        """Per parameter: is the grad "None" (emulated) right now?"""
        if not self.flat:
            return [self.params[0].grad is None]
        return [p.grad is None or (p.grad is a and not pr and not acc)
                for p, a, pr, acc in zip(self.params, self.grads, self.present, self.accumulated, strict=True)]

    # -- views -------------------------------------------------------------------
    def xs(self, i):
        return self.x[self.offsets[i]:self.offsets[i] + self.numels[i]] if self.flat else self.x

    def gs(self, i):
        return self.g[self.offsets[i]:self.offsets[i] + self.numels[i]] if self.flat else self.params[0].grad

    def arr(self, f, i):
        a = self.arrays[f]
        return a[self.offsets[i]:self.offsets[i] + self.numels[i]] if self.flat else a


#: A flat bucket's CPU buffers (gradient, parameters, state arrays: the streams of one
#: fused loop) start at addresses ``k * STAGGER`` modulo ``ALIAS_SPAN`` (stream k), so no
#: two of them are a multiple of 4 KiB apart.  Buffers allocated one after another are as
#: far apart as their size rounded up to pages, and some of those distances make the
#: streams of a loop fight over the same cache sets.  Measured on this project's 2-core
#: AMD EPYC with three streams a distance d apart (d scanned in steps of 4 or 8 KiB): every d of
#: 32 KiB modulo 64 KiB ran 1.4–3.7× slower than its neighbours, and consecutive buffers of
#: 269,322 floats land exactly there (1 MiB + 32 KiB apart).  An SGD step on them took
#: 266 µs as allocated and 76–81 µs staggered, an Adam step 575 µs and 146 µs.
STAGGER, ALIAS_SPAN = 0x1040, 1 << 16


def _staggered(n, dtype, device, k):
    """An uninitialized 1-D tensor of ``n`` elements, the k-th stream of a fused loop: on the
    CPU, once it spans ``ALIAS_SPAN`` bytes, at ``k * STAGGER`` modulo ``ALIAS_SPAN`` (a view
    into a buffer up to ``ALIAS_SPAN`` bytes longer); elsewhere a plain ``torch.empty``."""
    item = dtype.itemsize
    if device.type != "cpu" or n * item < ALIAS_SPAN:
        return torch.empty(n, dtype=dtype, device=device)
    raw = torch.empty(n + ALIAS_SPAN // item, dtype=dtype, device=device)
    start = ((k * STAGGER - raw.data_ptr()) % ALIAS_SPAN) // item
    return raw[start:start + n]


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


# ------------------------------------------------------------------ rules that are not elementwise


class _ClosureObjective:
    """The objective of an objective-first rule, answered by torch's closure.

    ``f(x)`` and ``grad(x)`` of a flat parameter vector ``x``: the parameters are set to x,
    the closure is called (with grad enabled; it runs backward) and the loss and the flat
    gradient are kept for that very ``x`` object, so ``f(x)`` then ``grad(x)`` cost one call,
    as torch's LBFGS calls the closure once per point.  Only alive during one ``step``.
    """

    def __init__(self):
        self.params = self.closure = None
        self._at = self._f = self._g = None

    def start(self, params, closure):
        """Begin a step: the first evaluation, at the parameters as they are."""
        self.params, self.closure = params, closure
        x0 = torch.cat([p.detach().reshape(-1) for p in params])
        self._at = None
        loss = self._evaluate(x0, move=False)
        return loss, x0, self._g

    def stop(self):
        self.params = self.closure = self._at = self._g = None

    def put(self, x):
        """Set the parameters to the flat vector ``x``."""
        o = 0
        for p in self.params:
            n = p.numel()
            p.copy_(x[o:o + n].view_as(p))
            o += n

    def _evaluate(self, x, move=True):
        if move:
            self.put(x)
        with torch.enable_grad():
            loss = self.closure()
        self._at, self._f = x, float(loss)
        self._g = torch.cat([p.new_zeros(p.numel()) if p.grad is None
                             else (p.grad.to_dense() if p.grad.is_sparse else p.grad).reshape(-1)
                             for p in self.params])
        return loss

    def f(self, x):
        if x is not self._at:
            self._evaluate(x)
        return self._f

    def grad(self, x):
        if x is not self._at:
            self._evaluate(x)
        return self._g


def _sparse_grad(g):
    """A torch sparse COO gradient as the rules take it: dense values and the mask of the
    entries present (an Embedding's ``(rows, 1)``), duplicates summed (``coalesce``)."""
    g = g.coalesce()
    mask = torch.zeros(g.shape[:g.sparse_dim()] + (1,) * g.dense_dim(), dtype=torch.bool, device=g.device)
    mask[tuple(g.indices())] = True
    return SparseGrad(g.to_dense(), mask)


def _state_type(rule, x):
    """The class of the rule's state for ``x`` (from an init on a meta tensor: nothing allocated)."""
    return type(rule.init(x.detach().to("meta")))


def _from_torch(cls, st):
    """The rule's state NamedTuple from ``self.state[p]`` (torch's names; a key torch keeps
    no value under is None; ``step`` missing, as in torch's Muon and LBFGS: one update done)."""
    keys = torch_state_keys(cls)
    kw = {}
    for f in cls._fields:
        v = st.get(keys[f])
        if f == "t":
            v = int(round(float(v))) if v is not None else int(any(k != "step" for k in st))
        elif isinstance(v, list):  # torch's LBFGS history
            v = tuple(v)
        kw[f] = v
    return cls(**kw)


def _store(st, state, in_place):
    """Write the rule's new state into the per-parameter dict ``st`` under torch's names;
    ``in_place``: a tensor already there with the same shape and dtype is overwritten (as
    torch's Adafactor, Muon and SparseAdam do), else every value is replaced."""
    keys = torch_state_keys(state)
    for f, v in zip(state._fields, state, strict=True):
        k = keys[f]
        if v is None:
            st.pop(k, None)
            continue
        if f == "t":
            v = torch.tensor(float(v), dtype=_scalar_dtype())
        elif isinstance(v, tuple):
            v = list(v)
        old = st.get(k)
        if (in_place and isinstance(v, torch.Tensor) and isinstance(old, torch.Tensor) and old.shape == v.shape
                and old.dtype == v.dtype and old is not v):
            old.copy_(v)
        else:
            st[k] = v


# ------------------------------------------------------------------ the optimizer


class Optimizer(torch.optim.Optimizer):
    """A torch optimizer that runs a descent rule.

    Args:
        params: parameters or param groups, as for any torch optimizer.
        rule: a rule factory, e.g. ``descent.adam``; an objective-first one (``descent.lbfgs``)
            gets its objective from ``step(closure)``, which then needs the closure.
        fuse: ``"auto"`` (fuse CPU buckets from ``FUSE_MIN_NUMEL_CPU`` elements, as C
            loops, and all CUDA buckets, with ``torch.compile``), ``True`` (fuse every
            bucket) or ``False`` (eager only);
            only elementwise rules have buckets.
        **hyperparameters: the factory's keyword arguments; they become ``defaults``.
    """

    def __init__(self, params, rule, *, fuse="auto", **hyperparameters):
        if not callable(rule):
            raise TypeError(f"rule must be a rule factory such as descent.adam, got {rule!r}")
        if fuse not in ("auto", True, False):
            raise ValueError(f"Invalid fuse: {fuse!r} (expected 'auto', True or False)")
        sig = inspect.signature(rule)
        names, defaults = [], {}
        for name, prm in sig.parameters.items():
            if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD):
                continue
            names.append(name)
            if prm.default is not prm.empty:
                defaults[name] = prm.default
        # objective-first rules (descent.rules' convention, L-BFGS): the adapter supplies the
        # objective, built from the closure of step(closure); it is no hyperparameter
        objective_first = bool(names) and names[0] == "objective"
        if objective_first:
            names.pop(0)
            defaults.pop("objective", None)
        unknown = set(hyperparameters) - set(names)
        if unknown:
            raise TypeError(f"{getattr(rule, '__name__', rule)}() got unexpected hyperparameters {sorted(unknown)}")
        defaults.update(hyperparameters)
        missing = [n for n in names if n not in defaults]
        if missing:
            raise TypeError(f"{rule.__name__}() needs {missing}")
        if "lr" not in names:
            raise TypeError(f"{rule.__name__}() has no lr; torch's schedulers need one")
        self._factory, self._names, self._fuse = rule, names, fuse
        #: torch's class name for the rule (its error messages use it)
        self._twin = next((k for k, v in TORCH_TWINS.items() if v is rule), getattr(rule, "__name__", "rule"))
        self._objective = _ClosureObjective() if objective_first else None
        self._kind = None  # "flat", "tensor" or "closure", from the first group's rule (see the module docstring)
        self._buckets, self._rules, self._none = None, {}, set()
        self._fusion = _FusedSteps()
        super().__init__(params, defaults)

    # -- groups ------------------------------------------------------------------
    def add_param_group(self, param_group):
        if self._objective is not None and self.param_groups:
            raise ValueError(f"{self._twin} doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        rule = self._build(group, validate=True)
        for p in group["params"]:
            if p.is_complex():
                raise TypeError("descent.torch.Optimizer does not support complex parameters")
        self._kind = "closure" if self._objective is not None else "flat" if rule.elementwise else "tensor"
        if self._kind == "tensor":
            for p in group["params"]:  # the rule's own checks on the shape (Muon: 2-D only), nothing allocated
                rule.init(p.detach().to("meta"))
        self._drop_buckets()

    def _hyper(self, group):
        return {n: group[n] for n in self._names if n != "lr"}

    def _build(self, group, validate=False):
        """The rule for a group; rebuilt only when a hyperparameter other than lr changed."""
        hyper = self._hyper(group)
        cache = self._rules.get(id(group))
        if not validate and cache is not None and cache[0] is group and cache[1] == hyper:
            return cache[2]
        lr = group["lr"]
        if isinstance(lr, torch.Tensor):
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
            lr = lr.item()
        first = () if self._objective is None else (self._objective,)
        if validate:
            self._factory(*first, lr=lr, **hyper)  # the rule's own checks and messages

        def lr_now(t, group=group):
            v = group["lr"]
            if callable(v):  # a descent schedule (instead of torch's LR schedulers): at the rule's own t
                return v(t)
            return float(v) if isinstance(v, torch.Tensor) else v

        rule = self._factory(*first, lr=lr_now, **hyper)
        self._rules[id(group)] = (group, hyper, rule)
        return rule

    def load_state_dict(self, state_dict):
        self._drop_buckets(keep_state=False)
        super().load_state_dict(state_dict)
        self._rules = {}

    def __getstate__(self):
        self._drop_buckets()
        d = dict(self.__dict__)
        d["_rules"], d["_none"] = {}, set()
        d["_fusion"] = _FusedSteps(self._fusion.backend, self._fusion.native)  # compiled functions do not pickle
        return d

    # -- layout ------------------------------------------------------------------
    def _drop_buckets(self, keep_state=True):
        """Forget the flat layout; state goes back to ``self.state`` as plain tensors."""
        if not self._buckets:
            self._buckets = None
            return
        self._none = set()
        for b in self._buckets:
            b.release()
            for p, is_none in zip(b.params, b.grad_is_none(), strict=True):
                if is_none:
                    self._none.add(id(p))
            if keep_state:
                for p in b.params:
                    st = self.state.get(p)
                    if st:
                        self.state[p] = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in st.items()}
        self._buckets = None

    def _layout(self):
        none = self._none
        buckets = []
        for group in self.param_groups:
            by_key = {}
            for p in group["params"]:
                if id(p) in none and p.grad is not None:
                    p.grad = None  # it was an emulated None
                ok = (p.requires_grad and p.layout == torch.strided and p.is_contiguous() and not p.is_complex()
                      and (p.grad is None or (p.grad.layout == torch.strided and not p.grad.is_sparse)))
                if ok:
                    by_key.setdefault((p.device, p.dtype), []).append(p)
                else:
                    buckets.append(_Bucket(group, [p], flat=False))
            for params in by_key.values():
                buckets.append(_Bucket(group, params, flat=True))
        self._none = set()
        self._buckets = buckets
        for b in buckets:
            if any(self.state.get(p) for p in b.params):
                self._import(b, self._build(b.group))

    def _import(self, b, rule):
        """Fill a bucket's buffers from ``self.state`` (after load_state_dict or a relayout)."""
        self._init_buffers(b, rule)
        keys = torch_state_keys(b.state_type)
        with torch.no_grad():
            for i, p in enumerate(b.params):
                st = self.state.get(p)
                if not st:
                    continue
                for f in b.fields:
                    k = keys[f]
                    if f in b.arrays:
                        if k in st and st[k] is not None:
                            b.arr(f, i).copy_(torch.as_tensor(st[k]).reshape(b.arr(f, i).shape))
                    elif f in b.scalars:
                        if k in st:
                            v = st[k]
                            v = v.item() if isinstance(v, torch.Tensor) else v
                            b.scalars[f][i] = int(round(v)) if f == "t" else v
                        elif f == "t":  # e.g. torch SGD keeps no step: one step done if it has a buffer
                            b.scalars[f][i] = 1 if any(kk in st for kk in keys.values() if kk != "step") else 0
                b.started[i] = True
                self._show(b, i)
        b.uniform = None

    def _init_buffers(self, b, rule):
        """Allocate a bucket's state from ``rule.init`` (all parameters, not yet started)."""
        init = rule.init(b.x)
        b.state_type, b.fields = type(init), init._fields
        b.arrays = {}
        for f in b.fields:
            if isinstance(getattr(init, f), torch.Tensor):
                b.adopt(f, getattr(init, f))
        b.nones = [f for f in b.fields if getattr(init, f) is None]
        b.scalars = {f: [getattr(init, f)] * len(b.params) for f in b.fields
                     if f not in b.arrays and f not in b.nones}
        for f, v in b.scalars.items():
            if not isinstance(v[0], numbers.Real):
                raise TypeError(f"descent.torch: state field {f!r} of {rule!r} is neither an array, a number nor None")
        b.shown = {f: torch.tensor([float(v) for v in vals], dtype=torch.float32 if f == "t" and _scalar_dtype() == torch.float32
                                   else torch.float64) for f, vals in b.scalars.items()}
        b.shown_np = {f: v.numpy() for f, v in b.shown.items()}  # the same memory: a fill costs no dispatch
        b.rule = rule

    def _show(self, b, i):
        """(Re)build ``self.state[p]``: views into the bucket's buffers, under torch's names."""
        keys = torch_state_keys(b.state_type)
        st = {}
        for f in b.fields:
            if f in b.scalars:
                st[keys[f]] = b.shown[f][i]
            elif f in b.arrays:
                a = b.arr(f, i)
                st[keys[f]] = a.view(b.params[i].shape) if b.flat else a
        self.state[b.params[i]] = st

    def _reconcile(self, b, rule):
        """The rule was rebuilt (a hyperparameter changed): give it the state it expects."""
        b.rule = rule
        init = rule.init(b.x[:1] if b.flat else b.x)
        if init._fields != b.fields:
            raise TypeError("descent.torch: the rule's state changed shape with its hyperparameters")
        changed = False
        for f in b.fields:
            v = getattr(init, f)
            if v is None and f in b.arrays:
                del b.arrays[f]
                b.nones.append(f)
                changed = True
            elif isinstance(v, torch.Tensor) and f not in b.arrays:  # e.g. SGD momentum 0 -> 0.95
                b.adopt(f, getattr(rule.init(b.x), f))
                b.nones.remove(f)
                changed = True
        if changed:
            for i in range(len(b.params)):
                if b.started[i]:
                    self._show(b, i)

    # -- zero_grad / step -------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True):
        """Zero the gradients.  Flat buckets zero their buffer in place and treat the grads
        as ``None`` (``set_to_none=True``) until backward writes into them."""
        if self._buckets is None:
            return super().zero_grad(set_to_none)
        for b in self._buckets:
            if b.flat:
                b.zero_grad(set_to_none)
            else:
                p = b.params[0]
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the
        loss (required by objective-first rules such as L-BFGS) and its value is returned.

        Step hooks (``register_step_pre_hook`` …, and the global ones) and the profiler's
        ``Optimizer.step#Optimizer.step`` range behave as in torch: while any hook is
        registered or a profiler is on, the step runs inside torch's own wrapper
        (:meth:`torch.optim.Optimizer.profile_hook_step`).  Otherwise that wrapper is
        skipped: its ``record_function`` costs about 20 µs per call with nobody listening
        (``bench/train.py``: a third of a small model's step), and torch's own compiler and
        RPC code skip it the same way (``torch.autograd._profiler_enabled()``)."""
        if (self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks or torch.autograd._profiler_enabled()
                or _optim_module._global_optimizer_pre_hooks or _optim_module._global_optimizer_post_hooks):
            return self._observed_step(*((self,) if closure is None else (self, closure)))  # the args torch's hooks see
        out = self._plain_step(closure)
        self._optimizer_step_code()
        return out

    step.hooked = True  # torch.optim.Optimizer's __init__ must not wrap it again

    def _plain_step(self, closure=None):
        # torch.set_grad_enabled as a function, not the no_grad decorator: the same mode for
        # a few microseconds less (the step of a small model is all overhead)
        prev = torch.is_grad_enabled()
        torch.set_grad_enabled(False)
        try:
            return self._step(closure)
        finally:
            torch.set_grad_enabled(prev)

    #: the step inside torch's wrapper: the profiler range, the pre- and post-hooks
    _observed_step = staticmethod(torch.optim.Optimizer.profile_hook_step(_plain_step))

    def _step(self, closure):
        if self._kind == "closure":
            return self._step_closure(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self._kind == "tensor":
            self._step_tensors()
            return loss
        buckets = self._buckets
        if buckets is None or not all(b.valid() for b in buckets):
            if buckets is not None:
                self._drop_buckets()
            self._layout()
            buckets = self._buckets
        for b in buckets:
            rule = self._build(b.group)
            has = b.has_grad()
            every = all(has)
            if not every and not any(has):
                continue
            if b.fields is None:
                self._init_buffers(b, rule)
            elif rule is not b.rule:
                self._reconcile(b, rule)
            if b.uniform is None:
                b.uniform = all(b.started) and all(len(set(v)) == 1 for v in b.scalars.values())
            if every and (b.uniform or not any(b.started)):
                self._step_all(b, rule)
            else:
                self._step_some(b, rule, has)
        return loss

    def _state(self, b, i=None):
        """The rule's state NamedTuple for the whole bucket (i None) or parameter i."""
        kw = {f: None for f in b.nones}
        for f, vals in b.scalars.items():
            kw[f] = vals[0 if i is None else i]
        for f, a in b.arrays.items():
            kw[f] = a if i is None else b.arr(f, i)
        return b.state_type(**kw)

    def _step_all(self, b, rule):
        """Every parameter has a grad and the same step count: one rule call."""
        state = self._state(b)
        new = None
        if self._use_fuse(b):
            new = self._fused(b, rule, state)
        if new is None:
            n = b.numel
            chunk = n if b.device.type != "cpu" or n <= 2 * CHUNK or not b.flat else CHUNK
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                if chunk == n:
                    g, x, st = b.g if b.flat else b.gs(0), b.x, state
                else:
                    g, x = b.g[lo:hi], b.x[lo:hi]
                    st = state._replace(**{f: a[lo:hi] for f, a in b.arrays.items()})
                step, new = rule.update(g, st, x)
                x.add_(step)
                for f in b.arrays:
                    v = getattr(new, f)
                    if v is not getattr(st, f):
                        getattr(st, f).copy_(v)
        first = not b.started[0]
        for f in b.scalars:
            v = getattr(new, f)
            b.scalars[f] = [v] * len(b.params)
            b.shown_np[f].fill(v)
        if first:
            b.started = [True] * len(b.params)
            for i in range(len(b.params)):
                self._show(b, i)
        b.uniform = True

    def _step_some(self, b, rule, has):
        """Parameters one by one (some have no grad, or their step counts differ)."""
        b.uniform = None
        for i, h in enumerate(has):
            if not h:
                continue
            x = b.xs(i)
            if not b.started[i]:
                init = rule.init(x)
                for f in b.arrays:
                    b.arr(f, i).copy_(getattr(init, f))
                for f in b.scalars:
                    b.scalars[f][i] = getattr(init, f)
                b.started[i] = True
                self._show(b, i)
            st = self._state(b, i)
            step, new = rule.update(b.gs(i), st, x)
            x.add_(step)
            for f in b.arrays:
                v = getattr(new, f)
                if v is not getattr(st, f):
                    getattr(st, f).copy_(v)
            for f in b.scalars:
                v = getattr(new, f)
                b.scalars[f][i] = v
                b.shown[f][i] = float(v)

    # -- rules that are not elementwise ------------------------------------------------
    def _step_tensors(self):
        """Each parameter on its own, in its own shape (Adafactor, Muon, SparseAdam …): the
        rule's state is read from and written back to ``self.state[p]`` under torch's names."""
        for group in self.param_groups:
            rule = None
            for p in group["params"]:
                if p.grad is None:
                    continue
                if rule is None:
                    rule = self._build(group)
                grad = self._gradient(rule, p.grad)
                x = p.detach()
                st = self.state[p]
                state = _from_torch(_state_type(rule, p), st) if st else rule.init(x)
                step, new = rule.update(grad, state, x)
                p.add_(step)
                _store(st, new, in_place=True)

    def _gradient(self, rule, g):
        """The gradient as the rule takes it: a SparseGrad for SPARSE_GRADIENT_RULES, else dense."""
        dense_refused = SPARSE_GRADIENT_RULES.get(rule.name)
        if dense_refused is not None:
            if not g.is_sparse:
                raise RuntimeError(dense_refused)
            return _sparse_grad(g)
        if g.is_sparse:
            raise RuntimeError(f"{self._twin} does not support sparse gradients")
        return g

    def _step_closure(self, closure):
        """An objective-first rule (L-BFGS): one update of the whole flat parameter vector,
        the objective answered by the closure; state on the first parameter, as torch."""
        if closure is None:
            raise TypeError(f"{self._twin}.step() missing 1 required positional argument: 'closure' (got closure=None)")
        if len(self.param_groups) != 1:
            raise ValueError(f"{self._twin} doesn't support per-parameter options (parameter groups)")
        group = self.param_groups[0]
        params, obj = group["params"], self._objective
        rule = self._build(group)
        try:
            loss, x0, g0 = obj.start(params, closure)
            st = self.state[params[0]]
            state = _from_torch(_state_type(rule, x0), st) if st else rule.init(x0)
            step, new = rule.update(g0, state, x0)
            obj.put(x0 + step)
        finally:
            obj.stop()
        _store(st, new, in_place=False)  # torch's LBFGS, too, replaces its tensors
        return loss

    # -- fusion ------------------------------------------------------------------
    def _use_fuse(self, b):
        if self._fusion.broken is not None or b.fuse_off:
            return False
        if b.fusable is None:  # decided once per bucket
            b.fusable = b.flat and self._fuse is not False and (
                self._fuse is True or b.device.type == "cuda" or (b.device.type == "cpu" and b.numel >= FUSE_MIN_NUMEL_CPU))
            b.mode = self._fusion.mode(b.x)
        return b.fusable

    def _fused(self, b, rule, state):
        """One compiled loop for the bucket; None to run eagerly instead."""
        fields = list(b.arrays)
        try:
            prog, scalars, new = _trace(rule, state, fields)
        except _Untraceable:
            b.fuse_off = True
            return None
        if not self._fusion.run(prog, (b.g, b.x, *(b.arrays[f] for f in fields)), scalars, b.mode):
            return None
        return new
