r"""Distance-weighted negatives (Wu et al., ICCV 2017): spread the sampled distances instead of piling them up.

Introduced in lecture 06. :func:`distance_weighted_negatives` is the sampler;
:class:`DistanceNegatives` trains with it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._checks import check_choice, check_int
from ..interactions import rows_mask
from ..models.base import EmbeddingModel
from .base import NegativeStrategy, Step, to_device
from .uniform import bpr_step_loss


def distance_weighted_negatives(anchors: Tensor, candidates: Tensor, num_samples: int, *, cutoff: float = 0.5,
                                nonzero_loss_cutoff: float = 1.4, exclude: Tensor | None = None,
                                generator: torch.Generator | None = None, return_distances: bool = False,
                                density: str = "sphere", num_bins: int = 18):
    r"""Distance-weighted negative sampling (Wu et al., ICCV 2017, "Sampling Matters in Deep Embedding Learning").

    Introduced in lecture 06. On the unit sphere in :math:`D` dimensions,
    pairwise distances of random points follow

    .. math::
        q(d) \propto d^{D-2} \left(1 - \tfrac{d^2}{4}\right)^{\frac{D-3}{2}},

    sharply peaked near :math:`\sqrt 2` in high dimension, so uniform
    negatives all sit at about the same distance. Sampling candidate :math:`n`
    for anchor :math:`a` with probability

    .. math::
        P(n \mid a) \propto \frac{1}{q(\max(d_{an}, \text{cutoff}))}\,
            [\, d_{an} < \text{nonzero\_loss\_cutoff} \,]

    spreads the sampled distances roughly uniformly over
    ``[cutoff, nonzero_loss_cutoff]`` (0.5 and 1.4 in the paper): the cutoff
    tempers the huge weights of very close (noisy) pairs, and pairs beyond 1.4
    would give no loss in the paper's margin loss. Weights are computed in log
    space and normalized by the row maximum before exponentiating. A row left
    with no positive weight falls back to uniform over its allowed candidates.

    Args:
        anchors (Tensor): ``(B, D)`` query embeddings (users); L2-normalized here.
        candidates (Tensor): ``(N, D)`` candidate embeddings (items); L2-normalized here.
        num_samples (int): negatives per anchor, ``M``, drawn with replacement.
        cutoff (float): lower clip of the distance. (default: 0.5)
        nonzero_loss_cutoff (float): candidates at this distance or farther get weight 0. (default: 1.4)
        exclude (Tensor, optional): ``(B, N)`` bool, True where a candidate must
            never be drawn (the anchor's positives).
        generator (torch.Generator, optional): for the draw.
        return_distances (bool): also return the sampled distances ``(B, M)``.
        density (str): ``"sphere"`` uses the paper's :math:`q(d)`, exact for
            points spread uniformly on the sphere. Trained embeddings are not:
            they cluster, so many pairs fall below the cutoff, where the
            clipped weight is largest, and the draws pile up there.
            ``"empirical"`` divides by each anchor's own histogram of
            distances instead (``num_bins`` bins over ``[cutoff,
            nonzero_loss_cutoff)``, each bin gets equal mass, closer pairs weight 0),
            which makes the sampled distances roughly uniform over that range for
            any embedding. (default: ``"sphere"``)
        num_bins (int): histogram bins for ``density="empirical"``. (default: 18)

    Returns:
        int64 ``(B, M)`` candidate indices, and their distances if asked.
    """
    num_samples = check_int("num_samples", num_samples, minimum=1)
    if anchors.dim() != 2 or candidates.dim() != 2 or anchors.shape[1] != candidates.shape[1]:
        raise ValueError(f"anchors (B, D) and candidates (N, D) must share D, got {tuple(anchors.shape)} "
                         f"and {tuple(candidates.shape)}")
    dim = anchors.shape[1]
    if dim < 3:
        raise ValueError(f"distance weighting needs D >= 3 dimensions, got {dim}")
    if not 0 < cutoff < nonzero_loss_cutoff <= 2:
        raise ValueError(f"need 0 < cutoff < nonzero_loss_cutoff <= 2, got cutoff={cutoff}, "
                         f"nonzero_loss_cutoff={nonzero_loss_cutoff}")
    check_choice("density", density, ("sphere", "empirical"))
    num_bins = check_int("num_bins", num_bins, minimum=1)
    with torch.no_grad():
        a = torch.nn.functional.normalize(anchors.detach().float(), dim=1)
        c = torch.nn.functional.normalize(candidates.detach().float(), dim=1)
        dist = (2 - 2 * a @ c.T).clamp(min=0).sqrt()  # (B, N), in [0, 2]
        if density == "sphere":
            log_w, allowed = _sphere_log_weights(dist, dim, cutoff, nonzero_loss_cutoff)
        else:
            log_w, allowed = _empirical_log_weights(dist, cutoff, nonzero_loss_cutoff, num_bins)
        free = torch.ones_like(allowed) if exclude is None else ~exclude.to(allowed.device)
        log_w = log_w.masked_fill(~(allowed & free), -math.inf)
        empty = ~torch.isfinite(log_w).any(1)  # (B,) rows with nothing in range
        log_w[empty] = torch.zeros_like(log_w[empty]).masked_fill(~free[empty], -math.inf)
        if (~torch.isfinite(log_w).any(1)).any():
            raise ValueError("exclude leaves an anchor with no candidate")
        w = (log_w - log_w.max(1, keepdim=True).values).exp()  # (B, N), max 1 per row
        idx = torch.multinomial(w, num_samples, replacement=True, generator=generator)  # (B, M)
    if return_distances:
        return idx, dist.gather(1, idx).to(anchors.dtype)
    return idx


def _sphere_log_weights(dist: Tensor, dim: int, cutoff: float, nonzero_loss_cutoff: float) -> tuple[Tensor, Tensor]:
    """``(log 1/q(max(d, cutoff)), d < nonzero_loss_cutoff)``, both ``(B, N)``: the paper's weighting."""
    d = dist.clamp(min=cutoff)
    log_q = (dim - 2) * d.log() + (dim - 3) / 2 * (1 - d.pow(2) / 4).clamp(min=1e-30).log()  # (B, N)
    return -log_q, dist < nonzero_loss_cutoff


def _empirical_log_weights(dist: Tensor, cutoff: float, nonzero_loss_cutoff: float,
                           num_bins: int) -> tuple[Tensor, Tensor]:
    """``(log 1/(candidates in the same distance bin), cutoff <= d < nonzero_loss_cutoff)``, both ``(B, N)``."""
    allowed = (dist >= cutoff) & (dist < nonzero_loss_cutoff)  # (B, N)
    width = (nonzero_loss_cutoff - cutoff) / num_bins
    bins = ((dist - cutoff) / width).floor().long().clamp(0, num_bins - 1)  # (B, N)
    counts = torch.zeros(dist.shape[0], num_bins).scatter_add_(1, bins, allowed.float())  # (B, bins)
    return -counts.gather(1, bins).clamp(min=1).log(), allowed


class DistanceNegatives(NegativeStrategy):
    """``M`` negatives per user, distance-weighted on the current embeddings (the empirical density).

    Each step runs the encoder, draws every user's negatives with
    :func:`distance_weighted_negatives` on the detached, L2-normalized user
    and item embeddings (the user's positives excluded), then takes the BPR
    step of :mod:`~gnnrec_lite.negatives.uniform` on those scores. Scoring the
    candidates needs all item embeddings, which a full-graph model computes anyway.
    """

    name = "distance"

    def step(self, model: EmbeddingModel, batch_size: int, epoch: int, reg: float) -> Step:
        s = self.sampler
        users, pos, _ = s.sample(batch_size)  # (B,), (B,); the uniform draw is not used
        exclude = rows_mask(s.indptr, s.indices, users, s.num_items)  # (B, I): the users' positives
        users, pos, exclude = to_device(model.device, users, pos, exclude)
        user_z, item_z = model()
        u = user_z[users]  # (B, D')
        # the empirical density keeps distances uniform over [0.5, 1.4] for clustered, trained embeddings
        neg = distance_weighted_negatives(u, item_z, s.num_negatives, exclude=exclude, density="empirical",
                                          generator=s.generator).to(model.device)  # (B, M)
        return Step(bpr_step_loss(model, users, pos, neg, reg, scores=(u, item_z)), neg.numel())
