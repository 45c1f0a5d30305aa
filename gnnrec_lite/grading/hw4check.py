"""What homework 4's test cells use to run the student's importance-pooling layer.

Introduced with homework 4 (``solutions/hw4``). The student writes a
``torch_geometric.nn.MessagePassing`` class; the tests need one forward and
backward pass of it with weights they chose, and whether its messages went
through ``propagate``. At home everything runs in the student's kernel. When
the class is graded the test cells run in the grader and the student's class
is a proxy for the class in the kernel, so that pass runs there
(:func:`~gnnrec_lite.grading.hwmodel._where`) and only plain data comes back:
the outputs and gradients, which the test compares with its own dense
computation.
"""

from __future__ import annotations

import contextlib

import torch

from .hwmodel import _where
from .remote import CellTimeoutError, KernelDied

_detach, _Tensor = torch.Tensor.detach, torch.Tensor


def pooling_forward(layer_class, channels, state, x_src, x_dst, edge_index, edge_weight, probe) -> dict:
    """Homework 4's layer check: ``layer_class(*channels)`` with the weights ``state``, run on one block.

    Builds the layer, loads ``state`` (``lin_q.weight``, ``lin_q.bias``,
    ``lin_w.weight``, ``lin_w.bias``), calls
    ``layer((x_src, x_dst), edge_index, edge_weight)`` and back-propagates
    ``(output * probe).sum()``. Returns a dict of plain data: ``output``;
    ``grads`` (of ``x_src``, ``x_dst`` and each parameter, None where none
    arrived); ``message_passing`` (the layer is a ``MessagePassing``);
    ``messages`` (the shape of each output of its ``message``, so an empty
    list when ``propagate`` never ran).
    """
    return _where(layer_class, _pooling, layer_class, tuple(channels), dict(state), x_src, x_dst, edge_index,
                  edge_weight, probe)


def _pooling(layer_class, channels, state, x_src, x_dst, edge_index, edge_weight, probe) -> dict:
    from torch_geometric.nn import MessagePassing

    layer = layer_class(*channels)
    is_mp = isinstance(layer, MessagePassing)
    layer.load_state_dict(state)
    x_src = _detach(x_src).clone().requires_grad_(True)  # (N_src, F)
    x_dst = _detach(x_dst).clone().requires_grad_(True)  # (N_dst, F)
    messages: list = []
    if is_mp:
        layer.register_message_forward_hook(lambda module, inputs, out: messages.append(list(getattr(out, "shape",
                                                                                                    []))))
    out = layer((x_src, x_dst), edge_index, edge_weight)
    if not isinstance(out, _Tensor):
        raise TypeError(f"forward should return a tensor, got {type(out).__name__}")
    names = ["x_src", "x_dst", *(name for name, _ in layer.named_parameters())]
    grads = dict.fromkeys(names)
    if out.requires_grad and out.shape == probe.shape:
        (out * probe).sum().backward()
        grads = {"x_src": x_src.grad, "x_dst": x_dst.grad,
                 **{name: p.grad for name, p in layer.named_parameters()}}
    return {"output": _detach(out), "grads": grads, "message_passing": is_mp, "messages": messages}


class Cases:
    """A hidden test's cases, each run to the end: :meth:`check` then fails once, listing every case that failed.

    ``with cases.case("what, and the input to reproduce it"): ...`` records an
    AssertionError (what was expected, what came back) or any exception the
    student's code raised, with the case that was running. A dead or stopped
    kernel ends the test at once: the later cases could not run either.
    """

    def __init__(self, part: str) -> None:
        self.part, self.failed, self.run = part, [], 0

    @contextlib.contextmanager
    def case(self, what: str):
        self.run += 1
        try:
            yield
        except (KernelDied, CellTimeoutError):
            raise
        except AssertionError as exc:
            self.failed.append(f"- {what}: {exc}")
        except Exception as exc:  # noqa: BLE001  (the student's code may raise anything; say where)
            self.failed.append(f"- {what}: your code raised {type(exc).__name__}: {exc}")

    def check(self) -> None:
        if self.failed:
            raise AssertionError(f"{self.part}: {len(self.failed)} of {self.run} hidden cases failed\n"
                                 + "\n".join(self.failed))


__all__ = ["Cases", "pooling_forward"]
