"""What homework 2's test cells run where the student's model lives; :mod:`.hwcheck` re-exports part of it.

Introduced with homework 2 (``solutions/hw2``). At home everything runs in the
student's kernel. When the class is graded the test cells run in the grader
(:mod:`gnnrec_lite.grading.judge`) and the student's class and functions are
proxies for objects in the kernel: the part that needs the model (building it,
training it with the student's ``fit``, a forward and backward pass, Adam
steps through the student's ``train_step``) runs there (:func:`_where`), and
only tensors and numbers come back. The verdict is reached in the grader
(:mod:`.hw2check` and the test cells), against its own split of MovieLens-100K
and its own dense computations.
"""

from __future__ import annotations

import time

import torch

from ..metrics import evaluate as _evaluate  # captured before any student code runs

_detach, _isfinite = torch.Tensor.detach, torch.isfinite

# the fixed recipe of hw2 Part C's training test: the student's fit(model, train, **FIT), on a 64-dim, 3-layer model
LIGHTGCN_RECIPE = {"num_epochs": 4, "batch_size": 8192, "lr": 0.05, "reg": 1e-3, "embedding_dim": 64, "num_layers": 3}
# Recall@20 to reach. Measured with this recipe on seeds 0-9: the reference 0.276 to 0.290; most-popular 0.17; loops
# that do not train fall far below (negatives that are positives 0.006, L2 on the whole table 0.02). Models that are
# not LightGCN pass it (no propagation 0.214 to 0.227, D^-1 A 0.272 to 0.285, a sum over layers 0.264 to 0.284):
# Part C's exactness test tells them apart, not this bar.
LIGHTGCN_THRESHOLD = 0.2


def lightgcn_recall(model_class, fit, seed: int = 0) -> dict:
    """Homework 2's training check: ``model_class`` trained by the student's ``fit`` with the fixed recipe.

    ML-100K, per-user random 80/20 split with ``seed``; the model is built as
    ``model_class(train, embedding_dim=64, num_layers=3)`` right after
    ``torch.manual_seed(seed)`` and trained by ``fit(model, train,
    num_epochs=4, batch_size=8192, lr=0.05, reg=1e-3, seed=seed)``. When
    graded, the training runs in the student's kernel and Recall@20 is
    computed here. Returns ``{"recall@20", "seconds", "finite", "losses"}``
    (``finite``: whether every final embedding is a number; recall is NaN
    otherwise).
    """
    user_emb, item_emb, seconds, losses = _where(model_class, _fit_lightgcn, model_class, fit, seed)
    finite = bool(_isfinite(user_emb).all()) and bool(_isfinite(item_emb).all())
    recall = float("nan")
    if finite:
        train, test = _split(seed)
        recall = _evaluate((user_emb, item_emb), train, test, k=20)["recall@20"]
    return {"recall@20": recall, "seconds": seconds, "finite": finite, "losses": losses}


def lightgcn_forward(model_class, train, user_emb, item_emb, num_layers: int):
    """Homework 2's model check: ``model_class(train, D, num_layers)`` with these embeddings; its user and item
    outputs after ``forward``, and the embeddings' gradients of the outputs' sum (None where none arrived)."""
    return _where(model_class, _forward, model_class, train, user_emb, item_emb, num_layers)


def adam_steps(train_step, train, user_emb, item_emb, batches, num_layers: int, lr: float, reg: float) -> list:
    """Homework 2's step check: the library's LightGCN on ``train`` with these initial embeddings, one Adam
    optimizer (``lr``), and the student's ``train_step(model, optimizer, batch, reg)`` once per batch.

    The model is the library's, not the student's, so a mistake in Parts A or B
    cannot fail this check. Returns, per step, ``(returned loss, user weights,
    item weights)`` after it.
    """
    return _where(train_step, _steps, train_step, train, user_emb, item_emb, batches, num_layers, lr, reg)


def _where(obj, function, *args):
    """``function(*args)`` here, or in the student's kernel when ``obj`` lives there (the grader's test cells)."""
    if getattr(type(obj), "__gnnrec_remote__", False):
        return obj.__gnnrec_helper__(function, args, {})
    return function(*args)


def _split(seed: int):
    if seed not in _splits:
        from ..datasets import load
        from ..splits import random_split

        _splits[seed] = random_split(load("ml-100k"), 0.8, seed=seed)
    return _splits[seed]


def _fit_lightgcn(model_class, fit, seed: int):
    recipe = dict(_RECIPE)
    train, _ = _split(seed)
    torch.manual_seed(seed)
    model = model_class(train, embedding_dim=recipe.pop("embedding_dim"), num_layers=recipe.pop("num_layers"))
    start = time.perf_counter()
    losses = fit(model, train, seed=seed, **recipe)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        user_emb, item_emb = model()
    losses = [float(x) for x in losses] if isinstance(losses, (list, tuple)) else None
    return _detach(user_emb), _detach(item_emb), seconds, losses


def _forward(model_class, train, user_emb, item_emb, num_layers: int):
    model = model_class(train, embedding_dim=user_emb.shape[1], num_layers=num_layers)
    with torch.no_grad():
        model.user_emb.weight.copy_(user_emb)
        model.item_emb.weight.copy_(item_emb)
    users, items = model()
    (users.sum() + items.sum()).backward()
    return _detach(users), _detach(items), model.user_emb.weight.grad, model.item_emb.weight.grad


def _steps(train_step, train, user_emb, item_emb, batches, num_layers: int, lr: float, reg: float) -> list:
    from ..models.lightgcn import LightGCN

    model = LightGCN(train, embedding_dim=user_emb.shape[1], num_layers=num_layers)
    with torch.no_grad():
        model.user_emb.weight.copy_(user_emb)
        model.item_emb.weight.copy_(item_emb)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    out = []
    for batch in batches:
        loss = train_step(model, optimizer, batch, reg)
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            loss = float(_detach(loss))
        out.append((loss if isinstance(loss, (int, float)) else repr(loss)[:80],
                    _detach(model.user_emb.weight).clone(), _detach(model.item_emb.weight).clone()))
    return out


_splits: dict = {}
_RECIPE = tuple(LIGHTGCN_RECIPE.items())  # a frozen copy: editing the dict above changes nothing
