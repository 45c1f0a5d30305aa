"""What homework 2's test cells use to train and run the student's LightGCN; :mod:`.hwcheck` re-exports it.

Introduced with homework 2 (``solutions/hw2``). At home everything runs in the
student's kernel. When the class is graded the test cells run in the grader
(:mod:`gnnrec_lite.grading.judge`) and the student's class is a proxy for the
class in the kernel: the part that needs the model (training it, one forward
and backward pass) runs there (:func:`_where`), and the verdict is reached
here, against the grader's own split of MovieLens-100K and its own dense
computation.
"""

from __future__ import annotations

import torch

from ..metrics import evaluate as _evaluate  # captured before any student code runs

_detach = torch.Tensor.detach

LIGHTGCN_RECIPE = {"num_epochs": 6, "batch_size": 8192, "lr": 0.03, "embedding_dim": 64, "num_layers": 3}
LIGHTGCN_THRESHOLD = 0.22  # Recall@20 to reach; the reference gets about 0.29, most-popular about 0.17


def lightgcn_recall(model_class, seed: int = 0) -> float:
    """Homework 2's training check: Recall@20 of ``model_class`` trained with the fixed recipe.

    ML-100K, per-user random 80/20 split with ``seed``; the model is built as
    ``model_class(train, embedding_dim=64, num_layers=3)`` right after
    ``torch.manual_seed(seed)`` and trained with BPR (:data:`LIGHTGCN_RECIPE`,
    sampler seeded by ``seed``), about 5-10 s on one thread. When graded, the
    training runs in the student's kernel and Recall@20 is computed here.
    """
    user_emb, item_emb = _where(model_class, _train_lightgcn, model_class, seed)
    train, test = _split(seed)
    return _evaluate((user_emb, item_emb), train, test, k=20)["recall@20"]


def lightgcn_forward(model_class, train, user_emb, item_emb, num_layers: int):
    """Homework 2's model check: ``model_class(train, D, num_layers)`` with these embeddings; its user and item
    outputs after ``forward``, and the embeddings' gradients of the outputs' sum (None where none arrived)."""
    return _where(model_class, _forward, model_class, train, user_emb, item_emb, num_layers)


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


def _train_lightgcn(model_class, seed: int):
    from ..train import train_bpr

    recipe = dict(_RECIPE)
    train, _ = _split(seed)
    torch.manual_seed(seed)
    model = model_class(train, embedding_dim=recipe.pop("embedding_dim"), num_layers=recipe.pop("num_layers"))
    train_bpr(model, train, seed=seed, eval_every=0, progress=False, **recipe)
    model.eval()
    with torch.no_grad():
        user_emb, item_emb = model()
    return _detach(user_emb), _detach(item_emb)


def _forward(model_class, train, user_emb, item_emb, num_layers: int):
    model = model_class(train, embedding_dim=user_emb.shape[1], num_layers=num_layers)
    with torch.no_grad():
        model.user_emb.weight.copy_(user_emb)
        model.item_emb.weight.copy_(item_emb)
    users, items = model()
    (users.sum() + items.sum()).backward()
    return _detach(users), _detach(items), model.user_emb.weight.grad, model.item_emb.weight.grad


_splits: dict = {}
_RECIPE = tuple(LIGHTGCN_RECIPE.items())  # a frozen copy: editing the dict above changes nothing
