"""Argument checks shared by the public functions.

Every check raises an error that names the argument and shows the bad value,
so a learner sees ``ValueError: k must be >= 1, got 0`` rather than a stack
trace from deep inside torch.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings

import numpy as np
import torch
from torch import Tensor


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_fraction(name: str, value, *, open_low: bool = True, open_high: bool = True) -> float:
    """Return ``value`` as a float strictly inside (0, 1) unless told otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok) or value != value:
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value}")
    return value


def check_choice(name: str, value, choices):
    """Return ``value`` if it is one of ``choices``, else ``ValueError: name must be one of [...], got ...``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_positive(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float that is > 0 (>= 0 with ``allow_zero``), or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (value >= 0 if allow_zero else value > 0) or not math.isfinite(value):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def as_index_tensor(name: str, value, *, size: int | None = None) -> Tensor:
    """Convert ids (list, numpy array or tensor) to a 1-D int64 tensor on the CPU.

    ``size``, when given, is the exclusive upper bound on the ids.
    """
    if isinstance(value, Tensor):
        t = value.detach()
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"{name} must hold integers, got objects")
        t = torch.from_numpy(arr.copy()) if arr.size else torch.empty(0, dtype=torch.int64)
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        if t.numel() and t.is_floating_point() and torch.equal(t, t.round()) and torch.isfinite(t).all():
            t = t.long()
        else:
            raise TypeError(f"{name} must hold integers, got dtype {t.dtype}")
    t = t.to(device="cpu", dtype=torch.int64).contiguous()
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0:
            raise ValueError(f"{name} holds a negative id ({lo}); ids are 0-based")
        if size is not None and hi >= size:
            raise ValueError(f"{name} holds id {hi}, out of range for size {size}")
    return t


def check_scores(name: str, scores: Tensor, *, ndim: int | None = None, nonempty: bool = False) -> Tensor:
    """Reject scores that are not a floating tensor of finite values (of ``ndim`` dims, not empty if asked)."""
    if not isinstance(scores, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {scores.dtype}")
    if ndim is not None and scores.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(scores.shape)}")
    if nonempty and scores.numel() == 0:
        raise ValueError(f"{name} is empty: there is nothing to score")
    if scores.numel() and not torch.isfinite(scores).all():
        bad = "NaN" if torch.isnan(scores).any() else "infinite"
        raise ValueError(f"{name} contains {bad} values")
    return scores


def check_per_user_scores(name: str, scores: Tensor, batch: int) -> Tensor:
    """``(B, M)`` scores with ``M >= 1`` for ``batch`` users; ``(B,)`` is read as ``M = 1``."""
    scores = check_scores(name, scores)
    if scores.dim() == 1:
        scores = scores[:, None]  # (B, 1)
    if scores.dim() != 2 or scores.shape[0] != batch or scores.shape[1] == 0:
        raise ValueError(f"{name} must have shape (B={batch}, M>=1), got {tuple(scores.shape)}")
    return scores


def check_k(k, *, maximum: int | None = None) -> int:
    """``k`` of a top-K list: an int >= 1 and, when ``maximum`` is given, <= it."""
    k = check_int("k", k, minimum=1)
    if maximum is not None and k > maximum:
        raise ValueError(f"k must be <= the number of items ({maximum}), got {k}")
    return k


def check_ks(ks, *, maximum: int | None = None) -> tuple[int, ...]:
    """Several cutoffs: one int or an iterable of ints, each checked by :func:`check_k`."""
    if isinstance(ks, (numbers.Integral, np.integer)) and not isinstance(ks, bool):
        ks = (ks,)
    try:
        ks = tuple(ks)
    except TypeError:
        raise TypeError(f"k must be an int or a list of ints, got {type(ks).__name__}") from None
    if not ks:
        raise ValueError("k must name at least one cutoff, got an empty list")
    return tuple(sorted(set(check_k(k, maximum=maximum) for k in ks)))


# ----------------------------------------------------------------- columns of Interactions
def check_unique_pairs(user: Tensor, item: Tensor, num_items: int) -> None:
    """Raise naming the first repeated (user, item) pair and how many repeats there are."""
    if not user.numel():
        return
    unique_key, counts = torch.unique(user * num_items + item, return_counts=True)
    if unique_key.numel() != user.numel():
        first = int(unique_key[counts > 1][0])
        raise ValueError(f"duplicate interaction (user {first // num_items}, item {first % num_items}); "
                         f"{user.numel() - unique_key.numel()} duplicates in all "
                         "(pass allow_duplicates=True to keep them)")


def check_item_features(value, num_items: int, names: list | None) -> Tensor | None:
    """Optional float ``item_features`` ``(num_items, F)``, finite, with ``F`` matching ``item_feature_names``."""
    if value is None:
        return None
    feats = torch.as_tensor(value, dtype=torch.float32)
    if feats.dim() != 2 or feats.shape[0] != num_items:
        raise ValueError(f"item_features must have shape (num_items={num_items}, F), got {tuple(feats.shape)}")
    if not torch.isfinite(feats).all():
        raise ValueError("item_features contains NaN or infinite values")
    if names is not None and len(names) != feats.shape[1]:
        raise ValueError(f"item_feature_names has {len(names)} names for {feats.shape[1]} feature columns")
    return feats


def check_column(name: str, value, length: int) -> Tensor | None:
    """An optional per-interaction column ``(length,)``: float64 if it holds floats (finite), else int64."""
    if value is None:
        return None
    t = torch.as_tensor(np.asarray(value) if not isinstance(value, Tensor) else value).detach().cpu()
    if t.dim() != 1 or t.numel() != length:
        raise ValueError(f"{name} must have shape ({length},) like user and item, got {tuple(t.shape)}")
    if t.is_floating_point():
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return t.to(torch.float64)
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must be numeric, got dtype {t.dtype}")
    return t.to(torch.int64)


def check_list(name: str, value, length: int | None) -> list | None:
    """An optional list with one entry per row (any length when ``length`` is None)."""
    if value is None:
        return None
    out = list(value)
    if length is not None and len(out) != length:
        raise ValueError(f"{name} must have one entry per row ({length}), got {len(out)}")
    return out


def check_raw_ids(name: str, value, length: int) -> np.ndarray:
    """Distinct source ids, one per index; default ``0 .. length-1``."""
    if value is None:
        return np.arange(length)
    arr = np.asarray(value)
    if arr.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {arr.shape}")
    if len(np.unique(arr)) != length:
        raise ValueError(f"{name} must not repeat an id")
    return arr


@contextlib.contextmanager
def quiet_sparse_csr():
    """Silence torch's "sparse CSR support is in beta" warning for the code inside.

    The CSR features used here (construction, matmul, its backward) are the
    tested ones; the warning would only distract learners.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Ss]parse CSR tensor support is in beta.*")
        yield
