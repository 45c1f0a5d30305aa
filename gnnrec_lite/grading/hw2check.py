"""Homework 2's feedback helpers: say when a failure comes from an earlier part, or from stopped gradients.

Introduced with homework 2 (``solutions/hw2``). Part C builds on Parts A and B:
a wrong adjacency or propagation also makes the model and its training fail,
and a bare "expected -0.3255, got ..." under Part C would send the learner to
the wrong cell. The test cells use these helpers to name the cause instead:

* :func:`upstream` runs the learner's ``normalized_adjacency`` and
  ``propagate`` on small graphs against dense references computed here and
  says which of them is wrong (and on which input), or nothing;
* :func:`blame_upstream` adds that cause to a failure of the code inside;
* :func:`gradients` turns torch's errors about stopped or broken gradients
  (``.detach()``, in-place edits) into a message that says gradients must
  reach the embeddings;
* :func:`adam_steps` (from :mod:`.hwmodel`) runs the learner's ``train_step``
  on the library's LightGCN, so Part C's step check does not depend on Parts
  A and B;
* :func:`train_recall` trains the learner's model with the learner's ``fit``
  (:func:`.hwmodel.lightgcn_recall`) and, when the embeddings come back NaN,
  points at the adjacency or the loss.

Everything here runs in the grader when a class is graded; the learner's code
is reached only through the proxies the test cells pass in.
"""

from __future__ import annotations

import contextlib
import math

import torch

from .hwcheck import _detach, _float, _is_sparse, _isinstance
from .hwmodel import adam_steps, lightgcn_recall

_GRADIENT_ERRORS = ("does not require grad", "in-place operation", "inplace operation", "backward through the graph",
                    "Can't call numpy() on Tensor that requires grad")
GRADIENT_ADVICE = ("gradients must reach the embeddings: keep every step from the embeddings to the output in torch "
                   "(no .detach(), .item(), .numpy() or torch.no_grad() on the way) and do not edit in place a "
                   "tensor that autograd needs (write x = x + y, not x += y or x[...] = ...)")


@contextlib.contextmanager
def gradients(what: str):
    """Inside, torch's errors about gradients become an AssertionError that says what went wrong in ``what``."""
    try:
        yield
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if any(pattern in str(exc) for pattern in _GRADIENT_ERRORS):
            raise AssertionError(f"{what}: {GRADIENT_ADVICE}. torch said: {message[:200]}") from None
        raise


GRADIENT_HINT = "gradients must reach the embeddings through every step (no .detach() on the way)"


@contextlib.contextmanager
def blame_upstream(normalized_adjacency=None, propagate=None):
    """Inside, a failure gets its cause added when Part A or B is wrong (:func:`upstream`); raised from here."""
    try:
        yield
    except Exception as exc:
        if type(exc).__name__ in ("KernelDied", "CellTimeoutError"):  # the kernel cannot answer any more
            raise
        cause = upstream(normalized_adjacency, propagate)
        if not cause:
            raise
        raise AssertionError(f"{type(exc).__name__}: {exc}; {cause}" if not _isinstance(exc, AssertionError)
                             else f"{exc}; {cause}") from None


def dense_adjacency(train) -> torch.Tensor:
    """D^-1/2 A D^-1/2 of the bipartite graph (users, then items), built densely with loops (float64)."""
    n = train.num_users + train.num_items
    a = torch.zeros(n, n, dtype=torch.float64)
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        a[u, train.num_users + i] = a[train.num_users + i, u] = 1.0
    degree = a.sum(1)
    inv = torch.where(degree > 0, degree.clamp(min=1).rsqrt(), torch.zeros_like(degree))
    return inv[:, None] * a * inv[None, :]


_GRAPHS = (("gl.southern_women()", lambda gl: gl.southern_women()),
           ("gl.Interactions(4, 5, [0, 0, 1, 2], [0, 3, 3, 1])",  # the last user and the last item have no edge
            lambda gl: gl.Interactions(4, 5, [0, 0, 1, 2], [0, 3, 3, 1])))


def upstream(normalized_adjacency=None, propagate=None) -> str:
    """Which earlier part is wrong, with the input that shows it ("" when Parts A and B agree with dense references).

    Args:
        normalized_adjacency: the learner's Part A function (or its proxy), or None to skip it.
        propagate: the learner's Part B function (or its proxy), or None to skip it.
    """
    import gnnrec_lite as gl

    found = []
    if normalized_adjacency is not None:
        for text, build in _GRAPHS:
            why = _adjacency_problem(normalized_adjacency, build(gl))
            if why:
                found.append(f"Part A's normalized_adjacency({text}) {why}")
                break
    if propagate is not None:
        why = _propagate_problem(propagate)
        if why:
            found.append(f"Part B's propagate {why}")
    if not found:
        return ""
    parts = " and ".join(sorted({f[:6] for f in found}))
    return (f"the cause is upstream, in {parts}: " + "; ".join(found)
            + f". Fix {parts} first (its own tests show where); this part builds on it.")


def _adjacency_problem(normalized_adjacency, train) -> str:
    try:
        adj = normalized_adjacency(train)
        dense = adj.to_dense() if _isinstance(adj, torch.Tensor) and _is_sparse(adj) else adj
        dense = _detach(torch.as_tensor(dense)).double()
    except Exception as exc:  # noqa: BLE001  (the learner's code may raise anything)
        return f"raised {type(exc).__name__}: {str(exc)[:200]}"
    expected = dense_adjacency(train)
    if tuple(dense.shape) != tuple(expected.shape):
        return f"has shape {tuple(dense.shape)}, expected {tuple(expected.shape)}"
    if not bool(torch.isfinite(dense).all()):
        return "has NaN or inf entries: a node without edges has degree 0, and its row and column must be zeros"
    return _difference(dense, expected, "is not D^-1/2 A D^-1/2")


def _propagate_problem(propagate) -> str:
    import gnnrec_lite as gl

    a_hat = dense_adjacency(gl.southern_women()).float()
    x = torch.randn(a_hat.shape[0], 3, generator=torch.Generator().manual_seed(7))
    expected = (x + a_hat @ x + a_hat @ a_hat @ x) / 3
    try:
        out = _detach(torch.as_tensor(propagate(a_hat.to_sparse(), x, 2))).double()
    except Exception as exc:  # noqa: BLE001
        return f"raised {type(exc).__name__} with 2 layers on the Southern Women graph: {str(exc)[:200]}"
    if tuple(out.shape) != tuple(expected.shape):
        return f"with 2 layers returned shape {tuple(out.shape)}, expected {tuple(expected.shape)}"
    wrong = _difference(out, expected.double(), "with 2 layers on the Southern Women graph is not (E + ÂE + Â²E) / 3")
    if wrong:
        return wrong
    leaf = x.clone().requires_grad_()
    try:
        propagate(a_hat.to_sparse(), leaf, 2).sum().backward()
    except Exception as exc:  # noqa: BLE001
        return f"raised {type(exc).__name__} on backward ({str(exc)[:120]}): {GRADIENT_ADVICE}"
    if leaf.grad is None:
        return f"passes no gradient back to emb: {GRADIENT_ADVICE}"
    paths = (torch.eye(a_hat.shape[0]) + a_hat + a_hat @ a_hat) / 3
    return _difference(_detach(leaf.grad).double(), (paths.T @ torch.ones_like(x)).double(),
                       f"passes the wrong gradient back to emb ({GRADIENT_HINT})")


def _difference(got: torch.Tensor, expected: torch.Tensor, what: str) -> str:
    gap = (got - expected).abs()
    gap = torch.where(torch.isnan(gap), torch.full_like(gap, math.inf), gap)
    if _float(gap.max()) <= 1e-5:
        return ""
    where = [int(i) for i in torch.unravel_index(gap.argmax(), gap.shape)]
    return (f"{what} (at {where}: expected {_float(expected[tuple(where)]):.6g}, "
            f"got {_float(got[tuple(where)]):.6g})")


def train_recall(model_class, fit, normalized_adjacency=None, propagate=None, seed: int = 0) -> dict:
    """:func:`.hwmodel.lightgcn_recall`, with a message that names the cause when training breaks the model."""
    with gradients("fit, training ScratchLightGCN on ML-100K"):
        result = lightgcn_recall(model_class, fit, seed=seed)
    if not result["finite"]:
        cause = upstream(normalized_adjacency, propagate)
        raise AssertionError("after fit, the model's embeddings hold NaN or inf values: " + (
            cause or "the adjacency and propagate agree with the references, so look at batch_loss (take the "
                     "log-sigmoid with torch.nn.functional.logsigmoid, not log(sigmoid(...))) and at the "
                     "learning rate fit passes to Adam"))
    return result


__all__ = ["GRADIENT_ADVICE", "GRADIENT_HINT", "adam_steps", "blame_upstream", "dense_adjacency", "gradients",
           "train_recall", "upstream"]
