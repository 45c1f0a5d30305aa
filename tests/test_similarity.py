"""gnnrec_lite.similarity against brute-force numpy."""

import numpy as np
import pytest
import torch

import gnnrec_lite as gl
from gnnrec_lite.similarity import find_items, nearest_items


def test_find_items_is_case_insensitive_substring():
    inter = gl.Interactions(1, 3, user=[0], item=[0], item_names=["Star Wars (1977)", "Star Trek", "Fargo"])
    assert find_items(inter, "star") == [0, 1]
    assert find_items(inter, " WARS ") == [0]
    assert find_items(inter, "nothing") == []
    with pytest.raises(ValueError, match="query must be a non-empty string"):
        find_items(inter, "")
    with pytest.raises(ValueError, match="no item_names"):
        find_items(gl.Interactions(1, 1, user=[0], item=[0]), "x")


@pytest.mark.parametrize("measure", ["cosine", "dot"])
def test_nearest_items_matches_brute_force(measure):
    z = torch.randn(40, 5, generator=torch.Generator().manual_seed(0))
    zn = z.double().numpy()
    if measure == "cosine":
        zn = zn / np.linalg.norm(zn, axis=1, keepdims=True)
    sims = zn @ zn[7]
    sims[7] = -np.inf
    order = np.argsort(-sims, kind="stable")[:6]
    ids, values = nearest_items(z, 7, k=6, measure=measure)
    assert ids.tolist() == order.tolist()
    assert np.allclose(values.numpy(), sims[order], atol=1e-5)


def test_nearest_items_errors_name_the_argument():
    z = torch.randn(5, 2)
    with pytest.raises(ValueError, match="measure must be one of"):
        nearest_items(z, 0, measure="l2")
    with pytest.raises(ValueError, match="item"):
        nearest_items(z, 5)
    with pytest.raises(ValueError, match="k"):
        nearest_items(z, 0, k=5)
    with pytest.raises(ValueError, match="item_emb must be a 2-D tensor"):
        nearest_items(torch.randn(5), 0)
