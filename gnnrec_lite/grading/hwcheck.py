"""What the homework's test cells use inside a student's kernel.

Introduced with the homework (``solutions/hwN``). A test cell runs in the same
Python process as the student's code, so it cannot trust anything that code
could have changed. The checks here defend against what real submissions do:

* **Replaced functions.** :func:`setup` (run by a locked cell before any
  student code) records every function of numpy, torch, math, random, the
  common builtins and the library, and the names the setup cell bound;
  :func:`guard` (first line of every test cell) puts back whatever was
  replaced, deleted or rebound since, removes notebook globals that shadow
  those builtins (``sum = 0``), and says so on stdout.
  :func:`close` and :func:`equal` compare with references captured at import,
  so patching ``math.isclose`` or ``torch.allclose`` changes nothing.
* **Calling the library instead of writing the code.** :func:`from_scratch`
  watches every Python call made while a student's function runs
  (``sys.setprofile``) and fails if one enters the forbidden library files,
  however the function reached them (alias, ``getattr``, a reference captured
  earlier).
* **Densifying a sparse matrix.** :class:`no_dense` fails if any torch call
  makes a dense tensor with ``N * N`` entries.
* **Warnings.** nbgrader gives zero to a test cell that writes to stderr, so
  :func:`setup` prints warnings on stdout instead, and opts out of torch's
  sparse invariant checks explicitly (the default), which silences torch's
  "Sparse invariant checks are implicitly disabled" warning.

Feedback that teaches: :class:`cases` (in :mod:`.cases`) runs a test's named
cases and fails once, listing every failed case with the code that reproduces
it, and says which case was running when the learner's code raised. A stub
that says what to write comes from the source: ``### BEGIN SOLUTION  # stub:
write this function: ...`` releases as ``raise NotImplementedError("write this
function: ...")`` (:class:`.nbgrader_plugins.ClearSolutionsWithStub`).

Tests build their random fixtures with their own ``torch.Generator``, so a
student who reseeds the global RNG changes nothing either.

These defences serve the student who runs the tests at home. When the class is
graded, the test cells do not run in the student's kernel at all: the grader
runs them (:mod:`gnnrec_lite.grading.judge`) with this module in judge mode
(``_judge`` set), where :func:`setup` and :func:`guard` have nothing to do,
:func:`from_scratch` and :class:`no_dense` send their checks along with each
call into the kernel, and helpers that take the student's model class
(:func:`lightgcn_recall`, :func:`lightgcn_forward`) run their model part in
the kernel and judge the result here.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import random
import sys
import types
import warnings

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

# references taken at import, before any student code ran (the setup cell imports this module first)
_isclose, _isfinite, _isnan = math.isclose, math.isfinite, math.isnan
_isinstance, _len, _float, _repr, _zip = isinstance, len, float, repr, zip
_tolist, _detach, _cpu = torch.Tensor.tolist, torch.Tensor.detach, torch.Tensor.cpu
_is_sparse = torch.Tensor.is_sparse.__get__
_print, _getprofile, _setprofile = print, sys.getprofile, sys.setprofile
_WATCHED_BUILTINS = ("abs", "all", "any", "bool", "dict", "enumerate", "float", "getattr", "hasattr", "int",
                     "isinstance", "iter", "len", "list", "map", "max", "min", "next", "print", "range", "repr",
                     "round", "set", "sorted", "str", "sum", "tuple", "type", "zip")  # the kernel swaps others
_WATCHED_MODULES = [math, random, np, np.random, np.testing, np.linalg, torch, torch.nn.functional,
                    torch.sparse, torch.linalg, torch.testing]
_original: dict = {}  # (owner, name) -> object, filled by setup()
_names: dict = {}  # the notebook's names bound by the setup cell (torch, gl, hwcheck, ...)
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_judge = None  # the grader's line into the student's kernel while it runs a test cell (judge.judging sets it)


def _owners():
    owners = list(_WATCHED_MODULES) + [torch.Tensor, torch.Generator]
    for name, module in sorted(sys.modules.items()):
        if (name == "gnnrec_lite" or name.startswith("gnnrec_lite.")) and module is not None:
            owners.append(module)
            owners.extend(obj for obj in vars(module).values()
                          if _isinstance(obj, type) and getattr(obj, "__module__", None) == name)
    return owners


def setup() -> None:
    """Record the functions tests rely on and route warnings to stdout. Run once, first."""
    torch.sparse.check_sparse_tensor_invariants.disable()  # torch's default, said aloud: no warning on pages
    if _judge is not None:
        return
    torch.set_num_threads(1)
    if not _original:
        _original.update(((builtins, name), getattr(builtins, name)) for name in _WATCHED_BUILTINS)
        for owner in _owners():
            for name, obj in list(vars(owner).items()):
                if not name.startswith("_") and (callable(obj) or owner is _this):
                    _original[(owner, name)] = obj

    def show(message, category, filename, lineno, file=None, line=None):
        _print(f"{category.__name__}: {message} ({filename}:{lineno})")

    warnings.showwarning = show
    shell = _shell()
    if shell is not None and not _names:
        _names.update((k, v) for k, v in shell.user_ns.items() if not k.startswith("_") and k not in _IPYTHON_NAMES
                      and _isinstance(v, (types.ModuleType, type, types.FunctionType)))


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course extra
        return None
    return get_ipython()


def guard() -> list[str]:
    """Put back every recorded function the notebook replaced or deleted; returns their names."""
    if _judge is not None:  # the grader's own process: the notebook cannot have touched anything
        return []
    restored = []
    for (owner, name), obj in _original.items():
        current = vars(owner).get(name, None)
        if current is not obj and not _torch_wrapped(current, obj):
            try:
                setattr(owner, name, obj)
            except (AttributeError, TypeError):  # pragma: no cover - read-only owners cannot be patched either
                continue
            restored.append(f"{getattr(owner, '__name__', owner)}.{name}")
    shell = _shell()
    if shell is not None:
        user_ns = shell.user_ns
        for name, obj in _names.items():  # `torch = something_else` in a student's cell
            if user_ns.get(name) is not obj:
                user_ns[name] = obj
                restored.append(f"the name {name}")
        for name in _WATCHED_BUILTINS:  # `sum = 0` or `def max(...)` would change what the tests compute
            if name in user_ns:
                del user_ns[name]
                restored.append(f"the builtin {name}")
        if shell.custom_exceptions:
            shell.set_custom_exc((), None)  # a handler that swallows errors would hide failed tests
            restored.append("IPython custom exception handler")
    if restored:
        _print(f"note: the notebook had replaced {', '.join(restored[:5])}"
               f"{' and more' if _len(restored) > 5 else ''}; the tests use the originals "
               "(rename your own variables and functions if they share these names).")
    return restored


def _torch_wrapped(current, obj) -> bool:
    """torch's own wrapper around ``obj``: importing ``torch._dynamo`` (the optimizers do) wraps
    ``torch.manual_seed`` in ``torch/_compile.py``. Not the notebook's doing, so not reported."""
    code = getattr(current, "__code__", None)
    return (getattr(current, "__wrapped__", None) is obj and code is not None
            and code.co_filename.replace("\\", "/").endswith("torch/_compile.py"))


def check(condition, message: str) -> None:
    """``assert`` that survives ``python -O``: raise AssertionError(message) when condition is false."""
    if not condition:
        raise AssertionError(message)


def _plain(value):
    """Nested lists of Python numbers from a tensor, an array, a number or a sequence."""
    if _isinstance(value, torch.Tensor):
        if _is_sparse(value):
            raise AssertionError("expected a dense value, got a sparse tensor")
        return _tolist(_cpu(_detach(value)))
    if _isinstance(value, np.ndarray):
        return np.ndarray.tolist(value)
    if _isinstance(value, (np.generic,)):
        return value.item()
    if _isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _shape(value):
    shape = []
    while _isinstance(value, list):
        shape.append(_len(value))
        value = value[0] if value else None
    return tuple(shape)


def _flat(value, prefix=()):
    if _isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flat(v, prefix + (i,))
    else:
        yield prefix, value


def _number(x) -> bool:
    return _isinstance(x, (int, float)) and not _isinstance(x, bool)


def close(actual, expected, what: str, *, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Fail with a message naming ``what`` unless ``actual`` matches ``expected`` within tolerance.

    Both may be numbers, nested sequences, numpy arrays or tensors; shapes must
    agree. NaN matches only NaN.
    """
    got, want = _plain(actual), _plain(expected)
    if _shape(got) != _shape(want):
        raise AssertionError(f"{what}: expected shape {_shape(want)}, got {_shape(got)} ({type(actual).__name__})")
    for (index, g), (_, w) in _zip(_flat(got), _flat(want)):
        if not _number(g) and not _isinstance(g, bool):
            raise AssertionError(f"{what}: expected a number, got {type(g).__name__} {_repr(g)[:80]}")
        g, w = _float(g), _float(w)
        both_nan = _isnan(g) and _isnan(w)
        if not both_nan and not (_isfinite(g) == _isfinite(w) and (g == w or _isclose(g, w, rel_tol=rtol,
                                                                                       abs_tol=atol))):
            where = f" at index {list(index)}" if index else ""
            raise AssertionError(f"{what}: expected {w:.6g}, got {g:.6g}{where}")


def equal(actual, expected, what: str) -> None:
    """Fail with a message naming ``what`` unless ``actual`` equals ``expected`` exactly (values and shape)."""
    got, want = _plain(actual), _plain(expected)
    if _shape(got) != _shape(want):
        raise AssertionError(f"{what}: expected shape {_shape(want)}, got {_shape(got)}")
    for (index, g), (_, w) in _zip(_flat(got), _flat(want)):
        if _isinstance(g, bool) != _isinstance(w, bool) or not (g == w) or type(g == w) is not bool:
            where = f" at index {list(index)}" if index else ""
            raise AssertionError(f"{what}: expected {_repr(w)}, got {_repr(g)[:80]}{where}")


@contextlib.contextmanager
def from_scratch(task: str, *modules: str):
    """Fail if the code run inside calls a function defined in one of ``modules``.

    Args:
        task (str): what the student wrote, for the message (``"recall_at_k"``).
        modules (str): library modules the task must not use, e.g. ``"gnnrec_lite.metrics"``;
            a package (``"gnnrec_lite.negatives"``) stands for every file in it, and
            ``"module:function"`` (``"gnnrec_lite.graph:to_adjacency"``) for that one function only.
    """
    if _judge is not None:
        yield from _in_kernel(("from_scratch", task, *modules))
        return
    files, folders, only = {}, {}, {}
    for spec in modules:
        name, _, function = spec.partition(":")
        module = sys.modules.get(name) or __import__(name, fromlist=["_"])
        files[module.__file__] = name
        if function:  # only these functions of the file are off limits
            only.setdefault(module.__file__, set()).add(function)
        if getattr(module, "__path__", None):  # a package: every file below its folder
            folders[module.__file__.rsplit("__init__.py", 1)[0]] = name
    called: list[str] = []

    def owner(filename: str):
        return files.get(filename) or next((n for f, n in folders.items() if filename.startswith(f)), None)

    def hook(frame, event, arg):
        if event == "call" and not called:
            name = owner(frame.f_code.co_filename)
            allowed = only.get(frame.f_code.co_filename)
            if name is not None and (allowed is None or frame.f_code.co_name in allowed):
                called.append(f"{name}.{frame.f_code.co_name}")

    previous = _getprofile()
    _setprofile(hook)
    try:
        yield
    finally:
        current = _getprofile()
        _setprofile(previous)
    if current is not hook:
        raise AssertionError(f"{task} switched off the from-scratch check (it changed sys.setprofile)")
    if called:
        raise AssertionError(f"{task} must be written from scratch, but it calls the library ({called[0]}); "
                             "the library version is what it is compared with, not what it may use")


def _in_kernel(spec):
    """Judge mode: the check runs in the kernel around every call made inside; its verdict is raised here."""
    watch = {"spec": spec, "seen": None}
    _judge.watches.append(watch)
    try:
        yield watch
    finally:
        _judge.watches.remove(watch)
    if watch["seen"]:
        raise AssertionError(watch["seen"])


class no_dense(TorchFunctionMode):
    """Fail if a torch call inside makes a dense tensor with at least ``n * n`` entries.

    Use as ``with no_dense(n, "propagate"): ...`` around code that must keep an
    ``(n, n)`` sparse matrix sparse.
    """

    def __init__(self, n: int, task: str) -> None:
        super().__init__()
        self.n, self.limit, self.task, self.seen, self._watch = n, n * n, task, None, None

    def __enter__(self):
        if _judge is None:
            return super().__enter__()
        self._watch = _in_kernel(("no_dense", self.n, self.task))
        next(self._watch)
        return self

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if _isinstance(out, (tuple, list)) else (out,)):
            if (_isinstance(t, torch.Tensor) and t.layout == torch.strided and t.numel() >= self.limit
                    and self.seen is None):
                self.seen = getattr(func, "__name__", _repr(func))
        return out

    def __exit__(self, exc_type, exc, tb):
        if self._watch is not None:
            watch, self._watch = self._watch, None
            if exc_type is None:
                next(watch, None)  # raises the kernel's verdict, if any
            else:
                watch.close()
            return False
        result = super().__exit__(exc_type, exc, tb)
        if exc_type is None and self.seen is not None:
            raise AssertionError(f"{self.task} must use sparse products, but {self.seen}() built a dense "
                                 f"matrix with {self.limit:,} or more entries")
        return result


def generator(seed: int) -> torch.Generator:
    """A private, seeded generator: fixtures built from it do not depend on the global RNG."""
    return torch.Generator().manual_seed(seed)


_this = sys.modules[__name__]
from .cases import cases  # noqa: E402  (named cases, every failure listed)
from .hwmodel import LIGHTGCN_RECIPE, LIGHTGCN_THRESHOLD, lightgcn_forward, lightgcn_recall  # noqa: E402

__all__ = ["LIGHTGCN_RECIPE", "LIGHTGCN_THRESHOLD", "cases", "check", "close", "equal", "from_scratch", "generator",
           "guard", "lightgcn_forward", "lightgcn_recall", "no_dense", "setup"]
