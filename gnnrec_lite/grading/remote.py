"""The grader's line into a student's kernel: proxies for the notebook's objects, calls, gradients, errors.

Introduced with the homework (see :mod:`.judge`). A test cell run by the
grader sees the notebook's functions as :class:`Remote` proxies: calling one
sends the arguments to the kernel (:mod:`.agent` runs the call there) and
decodes the answer as plain data (:mod:`.wire`). Gradients flow back through
:class:`_Backprop`; an exception in the notebook's code is raised here as the
same built-in type with the same message; prints reach the cell's output.
"""

from __future__ import annotations

import builtins
import json
import re
import sys
import time
from queue import Empty

import torch
from jupyter_core.utils import run_sync

from . import wire
from .agent import MIME

GRACE = 5.0  # seconds a kernel gets to stop after an interrupt
MAX_ANSWER = 64 << 20  # characters of one answer
MAX_PRINTED = 1 << 20  # characters the notebook's code may print during one test cell; the rest is dropped


class KernelDied(Exception):
    """The kernel ended (or stopped answering) while the grader waited for it."""


class CellTimeoutError(Exception):
    """The notebook's code ran past the cell's time budget and was interrupted."""


class Remote:
    """An object that lives in the student's kernel: call it, or read an attribute, and the kernel does it."""

    __gnnrec_remote__ = True

    def __init__(self, channel: Channel, handle: int, type_name: str) -> None:
        self.__gnnrec_handle__, self.__gnnrec_type__, self._channel = handle, type_name, channel

    def __call__(self, *args, **kwargs):
        return self._channel.call({"op": "call", "target": self}, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        answer = self._channel.request({"op": "getattr", "target": self, "name": name})
        if "error" in answer:
            raise remote_error(answer["error"])
        return self._channel.decode(answer["value"])

    def __gnnrec_helper__(self, function, args, kwargs):
        """Run the library's ``function`` ("module:name") in the kernel, where this object is."""
        return self._channel.call({"op": "helper", "function": f"{function.__module__}:{function.__name__}"},
                                  args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.__gnnrec_type__} from the notebook>"


class Channel:
    """Requests to one kernel, one at a time, each within ``deadline`` (a ``time.monotonic()`` value or None)."""

    def __init__(self, km, died=lambda: "it ended") -> None:
        self.km, self.died = km, died
        self.client = km.blocking_client()
        self.client.start_channels()
        self.deadline: float | None = None
        self.dead: str | None = None  # why the kernel cannot answer any more
        self.watches: list = []  # the grader's active checks (hwcheck.from_scratch, hwcheck.no_dense)
        self.printed = 0  # characters the notebook printed in this test cell (the judge resets it)

    def close(self) -> None:
        self.client.stop_channels()

    # ------------------------------------------------------------------ requests
    def request(self, request: dict) -> dict:
        if self.dead:
            raise KernelDied(f"not run: {self.dead}")
        text, _, _ = wire.pack(request)
        return self._send(text)

    def _send(self, text: str) -> dict:
        code = f"__import__('gnnrec_lite.grading.agent', fromlist=['serve']).serve({text!r})"
        msg_id = self.client.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        answer, interrupted = None, None
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except Empty:
                interrupted = self._check(interrupted)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                self._print(content.get("name"), str(content.get("text", "")))
            elif kind == "display_data" and MIME in content.get("data", {}):
                answer = content["data"][MIME]
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if interrupted is not None:
            raise CellTimeoutError("the notebook's code ran past the cell's time limit and was stopped")
        if not isinstance(answer, str) or len(answer) > MAX_ANSWER:
            raise RuntimeError("the notebook's kernel ran the call but sent no answer (did the notebook change how "
                               "cells run?)")
        return json.loads(answer)

    def _print(self, name, text: str) -> None:
        """What the notebook's code printed during a call, into the test cell's output, up to MAX_PRINTED."""
        room = MAX_PRINTED - self.printed
        if room > 0:
            stream = sys.stderr if name == "stderr" else sys.stdout
            stream.write(text[:room] + ("\n... (more output from the notebook dropped)\n" if len(text) > room else ""))
        self.printed += len(text)

    def _check(self, interrupted: float | None) -> float | None:
        """While waiting: is the kernel alive, and within the deadline? Interrupt once, then give up."""
        if not run_sync(self.km.is_alive)():
            self.dead = f"the kernel died: {self.died()}"
            raise KernelDied(f"the kernel died while the tests called the notebook's code: {self.died()}")
        now = time.monotonic()
        if interrupted is None and self.deadline is not None and now > self.deadline:
            run_sync(self.km.interrupt_kernel)()
            return now
        if interrupted is not None and now > interrupted + GRACE:
            self.dead = "the kernel did not stop when interrupted after the time limit"
            raise CellTimeoutError("the notebook's code ran past the cell's time limit and did not stop")
        return interrupted

    # ------------------------------------------------------------------ calls
    def call(self, request: dict, args, kwargs):
        """Call in the kernel; the answer as data, linked for gradients where the kernel's result needs them."""
        if self.dead:
            raise KernelDied(f"not run: {self.dead}")
        request |= {"args": args, "kwargs": kwargs, "grad": torch.is_grad_enabled(),
                    "watches": [w["spec"] for w in self.watches]}
        text, tensors, generators = wire.pack(request)
        answer = self._send(text)
        for watch, seen in zip(self.watches, answer.get("violations", [])):
            watch["seen"] = watch["seen"] or str(seen)[:500]
        if "error" in answer:
            raise remote_error(answer["error"])
        for generator, state in zip(generators, answer["generators"]):
            generator.set_state(self.decode(state))
        with torch.no_grad():
            for index, value in answer["changed"].items():
                new, old = self.decode(value), tensors[int(index)]
                if isinstance(new, torch.Tensor) and new.shape == old.shape and new.dtype == old.dtype:
                    old.copy_(new)
        found: list = []
        value = self.decode(answer["value"], found)
        if answer["call"] is None or not torch.is_grad_enabled():
            return value
        return self._link(value, found, [t for t in tensors if t.requires_grad], answer["call"])

    def decode(self, obj, found=None):
        """An answer's value; the kernel's other objects become :class:`Remote` proxies."""
        return wire.decode(obj, lambda number, type_name, _: Remote(self, number, type_name), found)

    def _link(self, value, found, inputs, call):
        """Replace the kernel's output tensors in ``value`` by tensors whose backward asks the kernel."""
        flags = [grad and t.is_floating_point() for t, grad in found]
        dummy = torch.zeros((), requires_grad=True)  # so outputs can carry gradients back to the kernel's own weights
        linked = _Backprop.apply(self, call, flags, [t for t, _ in found], dummy, *inputs)
        swap = {id(t): new for (t, _), new in zip(found, linked)}
        return _replace(value, swap)

    def backward(self, call, grads) -> list:
        answer = self.request({"op": "backward", "call": call, "grads": list(grads)})
        if "error" in answer:
            raise remote_error(answer["error"])
        return [self.decode(g) for g in answer["grads"]]


class _Backprop(torch.autograd.Function):
    """Output tensors of a call in the kernel; backward sends their gradients there and brings the inputs' back."""

    @staticmethod
    def forward(ctx, channel, call, flags, outputs, dummy, *inputs):
        ctx.channel, ctx.call, ctx.flags = channel, call, flags
        outs = tuple(t.clone() for t in outputs)
        ctx.mark_non_differentiable(*(t for t, f in zip(outs, flags) if not f))
        return outs

    @staticmethod
    def backward(ctx, *grads):
        grads = [g if f else None for g, f in zip(grads, ctx.flags)]
        return (None, None, None, None, None, *ctx.channel.backward(ctx.call, grads))


def _replace(value, swap: dict):
    if isinstance(value, torch.Tensor):
        return swap.get(id(value), value)
    if type(value) in (list, tuple):
        return type(value)(_replace(v, swap) for v in value)
    if type(value) is dict:
        return {k: _replace(v, swap) for k, v in value.items()}
    return value


_BUILTIN_ERRORS = {name: obj for name, obj in vars(builtins).items()
                   if isinstance(obj, type) and issubclass(obj, Exception)}


def remote_error(error: dict) -> Exception:
    """The notebook's exception, raised here: the built-in type it derives from (so ``except ValueError`` works)
    under its own name, with its message and the notebook's frames (never the notebook's own class)."""
    bases = [str(b) for b in error.get("bases", [])] if isinstance(error, dict) else []
    name = re.sub(r"\W", "", str(error.get("type", "Exception")))[:80] or "Exception"
    base = next((_BUILTIN_ERRORS[b] for b in bases if b in _BUILTIN_ERRORS), Exception)
    message = str(error.get("message", ""))[:2000]
    if name == "KeyboardInterrupt":
        return CellTimeoutError("the notebook's code ran past the cell's time limit and was stopped")
    cls = base if base.__name__ == name else type(name, (base,), {"__module__": "notebook"})
    try:
        exc = cls(message)
    except Exception:  # noqa: BLE001  (built-ins with other signatures)
        exc = type(name, (Exception,), {"__module__": "notebook"})(message)
    exc.__gnnrec_traceback__ = [str(line)[:500] for line in error.get("traceback", [])][:40]
    return exc
