"""What every embedding model of the course shares.

Introduced in lecture 02: an embedding model has an encoder for users, an
encoder for items and a score function; here the score is always the dot
product of the final embeddings, :math:`f(u, v) = \\mathbf{z}_u^\\top \\mathbf{z}_v`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import as_index_tensor, check_int, check_positive
from ..interactions import Interactions
from ..ranking import recommend as _recommend


class EmbeddingModel(nn.Module):
    """Base class: shallow embeddings :math:`E^{(0)}` plus an encoder defined by ``encode``.

    Subclasses implement :meth:`encode`, mapping the stacked initial
    embeddings ``(num_users + num_items, D)`` to final node embeddings
    ``(num_users + num_items, D')``.

    Args:
        train (Interactions): the training interactions; fixes ``num_users``,
            ``num_items`` and, for graph models, the graph.
        embedding_dim (int): size ``D`` of the initial embeddings. (default: 64)
        init_std (float): standard deviation of the normal initialization.
            (default: 0.1)
    """

    def __init__(self, train: Interactions, embedding_dim: int = 64, *, init_std: float = 0.1) -> None:
        super().__init__()
        if not isinstance(train, Interactions):
            raise TypeError(f"train must be Interactions, got {type(train).__name__}")
        self.num_users = train.num_users
        self.num_items = train.num_items
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.init_std = check_positive("init_std", init_std)
        self.user_emb = nn.Embedding(self.num_users, self.embedding_dim)  # (U, D)
        self.item_emb = nn.Embedding(self.num_items, self.embedding_dim)  # (I, D)

    def reset_parameters(self) -> None:
        nn.init.normal_(self.user_emb.weight, std=self.init_std)
        nn.init.normal_(self.item_emb.weight, std=self.init_std)

    @property
    def device(self) -> torch.device:
        return self.user_emb.weight.device

    def initial_embeddings(self) -> Tensor:
        """:math:`E^{(0)}`: users then items, ``(num_users + num_items, D)``."""
        return torch.cat([self.user_emb.weight, self.item_emb.weight])

    def encode(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self) -> tuple[Tensor, Tensor]:
        """Final embeddings ``(user_emb (U, D'), item_emb (I, D'))``."""
        z = self.encode(self.initial_embeddings())  # (U + I, D')
        return z[: self.num_users], z[self.num_users:]

    def score(self, users, items) -> Tensor:
        """Scores of the pairs ``(users[j], items[j])``, shape ``(B,)``."""
        users = as_index_tensor("users", users, size=self.num_users).to(self.device)
        items = as_index_tensor("items", items, size=self.num_items).to(self.device)
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same length, got {users.numel()} and {items.numel()}")
        user_z, item_z = self()
        return (user_z[users] * item_z[items]).sum(-1)

    @torch.no_grad()
    def recommend(self, k: int, *, exclude: Interactions | None = None, users=None) -> Tensor:
        """Top-``k`` item ids per user ``(len(users), k)``, ``exclude`` (usually train) removed."""
        k = check_int("k", k, minimum=1)
        was_training = self.training
        self.eval()
        try:
            user_z, item_z = self()
        finally:
            self.train(was_training)
        return _recommend((user_z, item_z), k, exclude=exclude, users=users)

    def extra_repr(self) -> str:
        return f"num_users={self.num_users}, num_items={self.num_items}, embedding_dim={self.embedding_dim}"
