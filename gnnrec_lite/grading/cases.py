"""Named cases in one test cell, every failure reported; :mod:`.hwcheck` re-exports :class:`cases`.

Introduced with the homework (``solutions/hwN``). A hidden test that stops at
its first failed check tells the learner one thing at a time and leaves them
to guess the input. Written with :class:`cases`, the cell runs every case and
then fails once, listing each failed case with its name, what was expected,
what came back, and the code that reproduces it in a cell of the learner's
notebook::

    with hwcheck.cases("recall_at_k", globals(), scratch=("gnnrec_lite.metrics",)) as case:
        case.close("all scores tied (the tie goes to the lower item id)",
                   "recall_at_k(torch.full((1, 4), 0.5), gl.Interactions(1, 4, [0], [1]), 1)", 0.0)
        case.raises("k = 0", "recall_at_k(torch.rand(1, 4), gl.Interactions(1, 4, [0], [2]), 0)", ValueError)
        with case("anything else", "the code that reproduces it"):
            ...  # any checks; an AssertionError fails this case only

Each ``code`` is the text that runs (evaluated in a copy of ``namespace``, so
a case never rebinds the notebook's names), so what the learner reads is what
ran; ``given`` holds the statements that build its inputs, shown above it.
When the learner's code raises, the failure says which case was running. A
kernel that died or ran out of time stops the cell at once, naming the case.

When the class is graded the cell runs in the grader, which fetches from the
notebook only the names the cell's code reads (:func:`.judge.student_names`),
not names inside strings: a cell that uses ``recall_at_k`` only in its cases
must still name it in code, as the hidden cells' first line does
(``_ = recall_at_k(...)``).
"""

from __future__ import annotations

import contextlib
import os

from .hwcheck import close as _close
from .hwcheck import equal as _equal
from .hwcheck import from_scratch as _from_scratch

_eval, _exec, _repr, _isinstance, _len, _dict = eval, exec, repr, isinstance, len, dict
_FATAL = ("KernelDied", "CellTimeoutError")  # gnnrec_lite.grading.remote: the kernel cannot answer any more
_HERE = os.path.dirname(os.path.abspath(__file__))
_NOT_CHECKS = ("remote.py", "agent.py", "wire.py")  # where the notebook's own errors are raised in the grader


def _from_a_check(exc: AssertionError) -> bool:
    """Raised by a check (hwcheck and the grading helpers), not by the learner's code (an ``assert`` of theirs)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    filename = os.path.abspath(tb.tb_frame.f_code.co_filename) if tb is not None else ""
    return os.path.dirname(filename) == _HERE and os.path.basename(filename) not in _NOT_CHECKS


def _fatal(exc: BaseException) -> bool:
    return not _isinstance(exc, Exception) or (type(exc).__name__ in _FATAL
                                              and type(exc).__module__.startswith("gnnrec_lite.grading"))


class cases:
    """Run named cases of one task and fail once, at the end, listing every case that failed.

    Args:
        task (str): what the learner wrote, for the messages (``"recall_at_k"``).
        namespace (dict): where the cases' code runs, usually the test cell's ``globals()``; each case
            works on a shallow copy, so the names it binds never reach the notebook.
        scratch (tuple of str): library modules the task must not call; the code of every case
            (:meth:`run`) runs inside :func:`~gnnrec_lite.grading.hwcheck.from_scratch` with them.
    """

    def __init__(self, task: str, namespace: dict | None = None, *, scratch: tuple = ()) -> None:
        self.task, self.namespace, self.scratch = task, _dict(namespace or {}), tuple(scratch)
        self.ran, self.failed = 0, []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.failed:
            raise AssertionError(self.report())
        return False

    def report(self) -> str:
        """Every failed case: its name and what went wrong, then the code that reproduces it, indented."""
        head = (f"{_len(self.failed)} of {self.ran} {self.task} cases failed "
                "(each indented line runs in a cell of your notebook):")
        lines, first = [head], {}
        for number, (name, reproduce, why) in enumerate(self.failed, 1):
            if why in first:  # a call into the library, or one error raised in every case: said once
                lines.append(f"[{number}] {name}: the same as [{first[why]}]")
                continue
            if "expected" not in why:  # a wrong value is never "the same": its case's inputs tell it apart
                first[why] = number
            lines.append(f"[{number}] {name}: {why}")
            lines.extend(f"      {line}" for line in reproduce.splitlines() if line.strip())
        return "\n".join(lines)

    @contextlib.contextmanager
    def __call__(self, name: str, reproduce: str = ""):
        """One case: the code inside runs; an AssertionError or an error of the learner's code fails only it."""
        self.ran += 1
        try:
            yield self
        except AssertionError as exc:
            if not _from_a_check(exc):
                self.failed.append((name, reproduce, f"while running this case your code raised "
                                                     f"AssertionError: {_short(exc)}"))
            else:
                self.failed.append((name, reproduce, str(exc).removeprefix(": ") or "a check failed"))
        except BaseException as exc:  # noqa: BLE001  (the learner's code may raise anything)
            if _fatal(exc):
                try:
                    renamed = type(exc)(f"{exc} (while running the {self.task} case: {name})")
                except Exception:  # noqa: BLE001  (a type that takes other arguments)
                    raise exc from None
                raise renamed from None
            self.failed.append((name, reproduce, f"while running this case your code raised "
                                                 f"{type(exc).__name__}: {_short(exc)}"))

    def run(self, code: str, given: str = ""):
        """Run the statements ``given``, then evaluate the expression ``code``, in a copy of the namespace
        (inside ``from_scratch`` when the cases have ``scratch`` modules)."""
        scope = _dict(self.namespace)
        with _from_scratch(self.task, *self.scratch) if self.scratch else contextlib.nullcontext():
            if given:
                _exec(compile(given, f"<{self.task} case>", "exec"), scope)
            return _eval(compile(code, f"<{self.task} case>", "eval"), scope)

    def close(self, name: str, code: str, expected, *, given: str = "", rtol: float = 1e-5,
              atol: float = 1e-6) -> None:
        """A case whose value must match ``expected`` within tolerance (see ``hwcheck.close``)."""
        with self(name, _shown(given, code)):
            _close(self.run(code, given), expected, "", rtol=rtol, atol=atol)

    def equal(self, name: str, code: str, expected, *, given: str = "") -> None:
        """A case whose value must equal ``expected`` exactly (see ``hwcheck.equal``)."""
        with self(name, _shown(given, code)):
            _equal(self.run(code, given), expected, "")

    def raises(self, name: str, code: str, error: type, *, given: str = "") -> None:
        """A case that must raise ``error`` (or a subclass); its message is not graded."""
        with self(name, _shown(given, code)):
            try:
                value = self.run(code, given)
            except error:
                return
            except Exception as exc:  # noqa: BLE001
                if _fatal(exc):
                    raise
                raise AssertionError(f"expected {error.__name__}, your code raised {type(exc).__name__}: "
                                     f"{_short(exc)}") from None
            raise AssertionError(f"expected {error.__name__}, but it returned {_repr(value)[:80]}")


def _shown(given: str, code: str) -> str:
    return f"{given.strip()}\n{code}" if given.strip() else code


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + (" ..." if _len(text) > 300 else "")


__all__ = ["cases"]
