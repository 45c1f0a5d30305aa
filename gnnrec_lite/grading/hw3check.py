"""What homework 3's test cells use: repeated draws, an operation trace, Part D's recomputation and upstream notes.

Introduced with homework 3 (``solutions/hw3``). At home everything runs in the
student's kernel. When the class is graded the test cells run in the grader
(:mod:`gnnrec_lite.grading.judge`) and the student's functions are proxies: the
parts that must watch the student's code from inside (many draws in one call,
the torch operations a loss makes) run in the kernel (:func:`_where`), and
only plain data comes back to be judged here.

* :func:`draws` calls a sampler ``n`` times in one round trip, for the
  statistical checks (uniform users, positives and negatives).
* :func:`one_product` says whether a loss scored the batch's shared negatives
  with one ``(B, D) x (D, M)`` matrix product, or user by user, pair by pair,
  or through a ``(B, M, D)`` broadcast (the costs sharing is meant to avoid).
* :func:`recall_at_20` recomputes Part D's numbers from the embeddings the
  learner returned, with the library's evaluation captured before any
  student code ran.
* :func:`upstream` runs quick checks of Parts A to C, so that a failure in
  Part D can say when its cause is an earlier part.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

from ..interactions import Interactions
from ..metrics import evaluate as _evaluate  # captured before any student code runs

_isinstance, _len, _float, _tuple, _repr = isinstance, len, float, tuple, repr

PRODUCTS = frozenset({"matmul", "mm", "__matmul__", "__rmatmul__", "einsum", "bmm", "linear", "tensordot", "inner",
                      "addmm", "baddbmm"})  # torch calls that are a matrix product
MAX_OPS = 400  # torch calls described in a trace (all are counted)


def _where(obj, function, *args):
    """``function(*args)`` here, or in the student's kernel when ``obj`` lives there (the grader's test cells)."""
    if getattr(type(obj), "__gnnrec_remote__", False):
        return obj.__gnnrec_helper__(function, args, {})
    return function(*args)


# ----------------------------------------------------------------------------- repeated draws
def draws(fn, n: int, *args) -> list:
    """``[fn(*args) for _ in range(n)]``, in the kernel where ``fn`` lives: one round trip for ``n`` calls."""
    return _where(fn, _draws, fn, n, args)


def _draws(fn, n, args):
    return [fn(*args) for _ in range(n)]


# ----------------------------------------------------------------------------- the operations of a loss
class _Trace(TorchFunctionMode):
    """Every torch call made inside: its name and the shapes of the tensors it returned."""

    def __init__(self) -> None:
        super().__init__()
        self.count, self.ops = 0, []

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.count += 1
        if _len(self.ops) < MAX_OPS:
            outs = out if _isinstance(out, (_tuple, list)) else (out,)
            shapes = [list(t.shape) for t in outs if _isinstance(t, torch.Tensor)]
            self.ops.append([getattr(func, "__name__", _repr(func))[:40], shapes])
        return out


def trace(fn, *args) -> dict:
    """``{"calls": n, "ops": [[name, [shape, ...]], ...]}``: the torch calls ``fn(*args)`` made (run in the kernel)."""
    return _where(fn, _traced, fn, args)


def _traced(fn, args):
    mode = _Trace()
    with mode:
        fn(*args)
    return {"calls": mode.count, "ops": mode.ops}


def one_product(fn, user_emb, item_emb, users, pos_items, neg_items, valid) -> str | None:
    """Why ``fn`` (a shared BPR loss) does not score the shared negatives with one matrix product, or None.

    The batch should be large (B and M of a few dozen, D small), so that a loop shows
    as at least ``min(B, M)`` torch calls and a broadcast as a tensor with ``B * M * D`` entries.
    """
    b, m, d = users.numel(), neg_items.numel(), user_emb.shape[1]
    seen = trace(fn, user_emb, item_emb, users, pos_items, neg_items, valid)
    calls, ops = int(seen["calls"]), seen["ops"]
    if calls >= min(b, m):
        return (f"it made {calls} torch calls for a batch of B={b} users and M={m} shared negatives: a loop over "
                "users or pairs. Score all of them at once: (B, D) user embeddings @ (D, M) negative embeddings")
    for name, shapes in ops:
        for shape in shapes:
            if _prod(shape) >= b * m * d:
                return (f"{name}() built a tensor of shape {tuple(shape)}, B x M x D = {b} x {m} x {d} entries: "
                        "that is a product pair by pair (the per-user cost that sharing avoids). Use one (B, D) @ "
                        "(D, M) matrix product")
    products = [(name, shape) for name, shapes in ops if name in PRODUCTS for shape in shapes]
    if not any(sorted(s for s in shape if s != 1) == sorted((b, m)) for _, shape in products):
        found = ", ".join(f"{name}{tuple(shape)}" for name, shape in products) or "none"
        return (f"no matrix product gave the (B, M) = ({b}, {m}) negative scores (products seen: {found}). "
                "Use one product: user_emb[users] @ item_emb[neg_items].T")
    return None


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


# ----------------------------------------------------------------------------- Part D
def recall_at_20(user_emb, item_emb, train: Interactions, test: Interactions) -> float:
    """Recall@20 of the scores ``user_emb @ item_emb.T`` on ``test``, training items excluded (the library's)."""
    user_emb, item_emb = torch.as_tensor(user_emb).detach().float(), torch.as_tensor(item_emb).detach().float()
    if user_emb.dim() != 2 or item_emb.dim() != 2 or user_emb.shape[1] != item_emb.shape[1] \
            or user_emb.shape[0] != train.num_users or item_emb.shape[0] != train.num_items:
        raise AssertionError(f"expected embeddings of shapes ({train.num_users}, D) and ({train.num_items}, D), got "
                             f"{tuple(user_emb.shape)} and {tuple(item_emb.shape)}")
    return _float(_evaluate((user_emb, item_emb), train, test, k=20)["recall@20"])


def upstream(ns: dict) -> str:
    """Quick checks of the functions Part D trains with; '' when they pass, else a note naming each failing part."""
    problems = []
    for name, part, check in _UPSTREAM:
        fn = ns.get(name)
        if fn is None:
            problems.append(f"{name} (Part {part}) is not defined")
            continue
        try:
            why = check(fn)
        except NotImplementedError:
            why = "not written yet (it raises NotImplementedError)"
        except Exception as exc:  # noqa: BLE001  (the learner's code may raise anything)
            if type(exc).__name__ in ("KernelDied", "CellTimeoutError"):
                raise
            why = f"raises {type(exc).__name__}: {str(exc)[:200]}"
        if why:
            problems.append(f"{name} (Part {part}): {why}")
    if not problems:
        return ""
    return ("\nPart D trains with your functions from Parts A to C, and these fail a quick check here:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nFix those parts first (their own tests say more): the numbers above depend on them.")


_SMALL = (3, 5, [0, 0, 1, 2, 2], [0, 1, 2, 3, 4])  # users 0-2; user 2 owns items 3 and 4


def _small() -> Interactions:
    return Interactions(*_SMALL)


def _check_visit_counts(fn):
    counts = torch.as_tensor(fn(_small(), 0, 20, 5, 0.5, torch.Generator().manual_seed(0)))
    if list(counts.shape) != [5] or abs(_float(counts.sum()) - 100) > 1e-6 or _float(counts[3:].sum()) != 0:
        return "20 walks of 5 hops from user 0 should make 100 visits, none of items 3 and 4 (user 2's)"
    return None


def _check_pool(fn):
    got = torch.as_tensor(fn(torch.tensor([5.0, 9.0, 1.0, 7.0, 3.0, 8.0]), [1], 1, 3)).tolist()
    return None if got == [3, 0] else f"the 6-item example of Part B's visible test gave {got}, not [3, 0]"


def _check_curriculum(fn):
    got = [fn(n, 3) for n in range(1, 7)]
    return None if got == [0, 1, 2, 3, 3, 3] else f"h(1..6) with max_hard=3 gave {got}, not [0, 1, 2, 3, 3, 3]"


def _check_shared_batch(fn):
    small = _small()
    owned = {(0, 0), (0, 1), (1, 2), (2, 3), (2, 4)}
    users, pos, neg, valid = fn(small, 16, 3, torch.Generator().manual_seed(0))
    users, pos, neg = (torch.as_tensor(t).tolist() for t in (users, pos, neg))
    if any((u, p) not in owned for u, p in zip(users, pos)):
        return "a positive that is not its user's item"
    if torch.as_tensor(valid).tolist() != [[(u, n) not in owned for n in neg] for u in users]:
        return "valid is not False exactly at the clashes"
    users, pos = (torch.as_tensor(t).tolist() for t in fn(small, 600, 1, torch.Generator().manual_seed(1))[:2])
    seen = {(u, p): 0 for u, p in owned}
    for pair in zip(users, pos):
        seen[pair] = seen.get(pair, 0) + 1
    rare = sorted(pair for pair, count in seen.items() if count < 40)  # each about 100 (user 1's item: 200)
    return f"in 600 draws, these (user, positive) pairs came up fewer than 40 times: {rare}" if rare else None


def _check_uniform_batch(fn):
    small = _small()
    owned = {(0, 0), (0, 1), (1, 2), (2, 3), (2, 4)}
    users, _, neg = fn(small, 16, 4, torch.Generator().manual_seed(0))
    pairs = [(u, n) for u, row in zip(torch.as_tensor(users).tolist(), torch.as_tensor(neg).tolist()) for n in row]
    return "a negative that is one of its user's items" if any(p in owned for p in pairs) else None


def _check_loss(fn):
    u_emb, i_emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    got = fn(u_emb, i_emb, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1, 2]),
             torch.tensor([[True, True], [True, False]]))
    nl = lambda x: _float(torch.nn.functional.softplus(torch.tensor(-x)))  # noqa: E731  -log sigmoid(x)
    expected = (nl(2.0 - 0.0) + nl(2.0 - 1.0) + nl(1.0 - 1.0)) / 3
    got = _float(torch.as_tensor(got).detach())
    return None if abs(got - expected) < 1e-5 else f"a 2-user example gave {got:.6f}, not {expected:.6f}"


_UPSTREAM = (("visit_counts", "A", _check_visit_counts), ("hard_negative_pool", "B", _check_pool),
             ("num_hard_negatives", "B", _check_curriculum), ("sample_shared_batch", "C", _check_shared_batch),
             ("sample_uniform_batch", "C", _check_uniform_batch), ("shared_bpr_loss", "C", _check_loss))

__all__ = ["MAX_OPS", "PRODUCTS", "draws", "one_product", "recall_at_20", "trace", "upstream"]
