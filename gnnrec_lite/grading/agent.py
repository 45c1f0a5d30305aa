"""The student's kernel's side of the judge: it runs the calls the grader's tests make and answers with data.

Introduced with the homework (see :mod:`.judge`). The grader sends each
request as one execute request, ``...agent.serve("<request>")``, and reads one
``display_data`` message of type :data:`MIME` back. Everything here runs in
the student's kernel, beside the student's code, so nothing here is trusted:
the grader reads the answer as plain data (:func:`.wire.decode`) and judges
it with its own code. Requests:

* ``lookup``: the notebook's values of some names;
* ``call`` / ``helper``: call a notebook object, or a library helper with
  notebook objects as arguments, under the grader's checks (``from_scratch``,
  ``no_dense``), with gradient leaves where the grader needs gradients;
* ``getattr``, ``backward`` (gradients of an earlier call), ``release``.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import traceback

import torch

from . import wire

MIME = "application/x-gnnrec-judge+json"
_objects: dict = {}  # handle -> an object the grader refers to
_calls: dict = {}  # call -> (input leaves that need gradients, output tensors in the order sent)
_numbers = itertools.count(1)


def serve(text: str) -> None:
    """Answer one request from the grader (see the module docstring)."""
    try:
        request, leaves, originals, generators = wire.unpack(text, _objects.__getitem__)
        answer = _OPS[request["op"]](request, leaves, originals, generators)
    except BaseException as exc:  # noqa: BLE001  (the notebook's code may raise anything, SystemExit included)
        answer = {"error": describe(exc)}
    from IPython.display import publish_display_data

    publish_display_data({MIME: json.dumps(answer)})


def _keep(obj) -> int:
    number = next(_numbers)
    _objects[number] = obj
    return number


def _encode(value, found=None):
    try:
        return wire.encode(value, _keep, found)
    except ValueError:  # nested too deeply: the grader gets a handle
        return {"handle": _keep(value), "type": type(value).__name__[:80], "callable": callable(value)}


def _lookup(request, *_):
    from IPython import get_ipython

    names = get_ipython().user_ns
    return {"values": {name: _encode(names[name]) for name in request["names"] if name in names}}


def _getattr(request, *_):
    return {"value": _encode(getattr(request["target"], request["name"]))}


def _call(request, leaves, originals, generators):
    if request["op"] == "helper":
        module, _, name = request["function"].partition(":")
        if not module.startswith("gnnrec_lite."):
            raise ValueError(f"not a library helper: {request['function']}")
        fn = getattr(importlib.import_module(module), name)
    else:
        fn = request["target"]
    violations, found = [], []
    with torch.set_grad_enabled(request["grad"]):
        value = _watched(lambda: fn(*request["args"], **request["kwargs"]), request["watches"], violations)
    answer = {"value": _encode(value, found), "violations": violations, "call": None,
              "generators": [_encode(g.get_state()) for g in generators],
              "changed": {str(i): _encode(leaf.detach()) for i, (leaf, old) in enumerate(zip(leaves, originals))
                          if _changed(leaf, old)}}
    if any(t.requires_grad for t in found):
        answer["call"] = next(_numbers)
        _calls[answer["call"]] = ([leaf for leaf in leaves if leaf.requires_grad], found)
    return answer


def _watched(run, watches, violations):
    """``run()`` under the grader's checks; a check that fails after ``run`` returned is a violation, not an error."""
    from . import hwcheck

    done, value = False, None
    try:
        with contextlib.ExitStack() as stack:
            for kind, *args in watches:
                stack.enter_context(hwcheck.from_scratch(*args) if kind == "from_scratch" else hwcheck.no_dense(*args))
            value = run()
            done = True
    except AssertionError as exc:
        if not done:
            raise
        violations.append(str(exc))
    return value


def _changed(leaf: torch.Tensor, old: torch.Tensor) -> bool:
    """Whether the notebook's code changed an argument in place (the grader's copy is then updated too)."""
    if leaf.layout != torch.strided or old.layout != torch.strided:
        return False
    if leaf.shape != old.shape or leaf.dtype != old.dtype:
        return True
    return leaf.detach().contiguous().numpy().tobytes() != old.contiguous().numpy().tobytes()


def _backward(request, *_):
    leaves, found = _calls.pop(request["call"])
    pairs = [(t, g) for t, g in zip(found, request["grads"]) if t.requires_grad and g is not None]
    torch.autograd.backward([t for t, _ in pairs], [g for _, g in pairs])
    return {"grads": [_encode(leaf.grad) for leaf in leaves]}


def _release(*_):
    _objects.clear()
    _calls.clear()
    return {}


_OPS = {"lookup": _lookup, "getattr": _getattr, "call": _call, "helper": _call, "backward": _backward,
        "release": _release}


def describe(exc: BaseException) -> dict:
    """An exception as data: its type, the names of its classes, its message and the notebook's frames."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001  (a __str__ that fails)
        message = "(the exception's message could not be shown)"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.endswith(("grading/agent.py", "grading/wire.py"))]
    lines = traceback.format_list(frames[-12:])
    return {"type": type(exc).__name__[:80], "bases": [c.__name__ for c in type(exc).__mro__][:20],
            "message": message[:2000], "traceback": [line.rstrip("\n") for line in lines]}
