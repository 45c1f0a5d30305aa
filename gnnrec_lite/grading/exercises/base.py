"""Self-checking lecture exercises: a registry of checks, and ``check(id, answer)`` for the learner's cell.

Introduced in lecture 01. A lecture's exercise is a cell tagged ``exercise``
(the learner's code, a stub at first) followed by a cell tagged
``exercise-check`` that calls :func:`check`. The check runs the learner's
answer on small cases and on real data and says, in one line, what it means
when it is right, or what is wrong and on which input when it is not. It
never raises: an unattempted exercise (a stub that raises
``NotImplementedError``) is reported as such and *Run All* goes on.

Each verdict is also stored in the executed notebook as a display output of
MIME type ``application/vnd.gnnrec.exercise+json``, which ``gnnrec check``
reads back to print a learner's progress.
"""

from __future__ import annotations

import contextlib
import functools
import html
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .. import hwcheck

EXERCISE_MIME = "application/vnd.gnnrec.exercise+json"
STATUSES = ("passed", "failed", "not attempted")
LECTURES = ("01", "02", "03", "04", "05", "06", "07")


class Wrong(AssertionError):
    """Raised by a checker: the answer is wrong; the message says how and on which input."""


class NotAttempted(Exception):
    """Raised when the learner's answer is still the stub."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``id`` like ``"05-2"``, a short title, and for code exercises the checker.

    ``checker(answer)`` raises :class:`Wrong` (or :class:`NotAttempted`) or returns
    the sentence said on success: what a correct result means.
    """

    id: str
    title: str
    checker: Callable | None = None  # None: a written exercise with a model answer in solutions/lectures/

    @property
    def kind(self) -> str:
        return "code" if self.checker is not None else "written"


EXERCISES: dict[str, Exercise] = {}


def exercise(id: str, title: str):
    """Decorator registering a checker under ``id`` (``"LL-n"``, LL the lecture)."""
    def register(checker: Callable) -> Callable:
        if id in EXERCISES:
            raise ValueError(f"exercise {id!r} is registered twice")
        EXERCISES[id] = Exercise(id, title, checker)
        return checker
    return register


def written(id: str, title: str) -> None:
    """Register a written exercise (no automatic check; the worked solution has a model answer)."""
    if id in EXERCISES:
        raise ValueError(f"exercise {id!r} is registered twice")
    EXERCISES[id] = Exercise(id, title)


def load_all() -> dict[str, Exercise]:
    """Import every lecture's checks (each ``lectureLL`` module registers its own) and return the registry."""
    for lecture in LECTURES:
        try:
            importlib.import_module(f"{__package__}.lecture{lecture}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.lecture{lecture}":
                raise
    return EXERCISES


def call(answer, *args, case: str, **kwargs):
    """Call the learner's ``answer(*args, **kwargs)``; name ``case`` in the message if it raises."""
    try:
        return answer(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except Wrong:
        raise
    except Exception as exc:  # the learner's own error: say which input it was running
        raise Wrong(f"on {case}, your code raised {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def from_scratch(task: str, *modules: str):
    """:func:`~gnnrec_lite.grading.hwcheck.from_scratch` whose failure is a :class:`Wrong` verdict."""
    try:
        with hwcheck.from_scratch(task, *modules):
            yield
    except AssertionError as exc:
        if isinstance(exc, Wrong):
            raise
        raise Wrong(str(exc)) from None


def close(got, want, what: str, tol: float = 1e-6) -> None:
    """:func:`~gnnrec_lite.grading.hwcheck.close` (robust to a notebook's patches) whose failure is a :class:`Wrong`."""
    try:
        hwcheck.close(got, want, what, rtol=tol, atol=tol)
    except AssertionError as exc:
        raise Wrong(str(exc)) from None


def quiet(hint):
    """A hint finder (a function naming a likely mistake) that says nothing rather than fail on an odd answer."""
    @functools.wraps(hint)
    def run(*args):
        try:
            return hint(*args)
        except Exception:  # the answer could not be compared with that mistake: no hint
            return ""
    return run


@functools.lru_cache(maxsize=1)
def ml100k_split():
    """The course's split of MovieLens-100K (per-user random 80/20, seed 0), loaded once per kernel."""
    from ... import datasets, splits

    return splits.random_split(datasets.load("ml-100k"), 0.8, seed=0)


def judge(exercise_id: str, answer) -> tuple[str, str]:
    """``(status, message)`` for ``answer`` to exercise ``exercise_id``, without displaying anything."""
    registry = load_all()
    if exercise_id not in registry:
        raise KeyError(f"no exercise {exercise_id!r}; known: {sorted(registry)}")
    ex = registry[exercise_id]
    if ex.checker is None:
        raise ValueError(f"exercise {exercise_id} is a written one: compare with the worked solution")
    if answer is None or answer is Ellipsis:
        return "not attempted", "not attempted yet: write your answer in the cell above, then run this cell"
    try:
        return "passed", ex.checker(answer)
    except NotAttempted:
        return "not attempted", "not attempted yet: your function still raises NotImplementedError"
    except Wrong as exc:
        return "failed", str(exc)
    except Exception as exc:  # an answer of an unexpected type tripped the checker itself: still a verdict
        return "failed", f"the check could not use your answer ({type(exc).__name__}: {exc}); see the exercise's task"


def check(exercise_id: str, answer) -> str:
    """Check the learner's ``answer`` to exercise ``exercise_id``, show a one-line verdict, return the status.

    Never raises for a wrong or missing answer (an unknown id is an error).
    """
    status, message = judge(exercise_id, answer)
    title = EXERCISES[exercise_id].title
    mark = {"passed": "✓", "failed": "✗", "not attempted": "·"}[status]
    text = f"{mark} Exercise {exercise_id} ({title}): {message}"
    payload = {"id": exercise_id, "title": title, "status": status, "message": message}
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the course extra
        print(text)
        return status
    colour = {"passed": "#1a7f37", "failed": "#b42318", "not attempted": "#6e7781"}[status]
    display({EXERCISE_MIME: payload, "text/plain": text,
             "text/html": f"<div style='color:{colour}'>{html.escape(text)}</div>"}, raw=True)
    return status


def read_exercises(nb) -> list[dict]:
    """The verdicts stored in an executed notebook (an ``nbformat`` node), in order; a re-run id keeps its last."""
    import json

    found: dict[str, dict] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(EXERCISE_MIME)
            if payload is not None:
                payload = json.loads(payload) if isinstance(payload, str) else dict(payload)
                found[payload["id"]] = payload
    return list(found.values())
