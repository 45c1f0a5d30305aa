"""Homework 3 graded without nbgrader: the reference, the stub, and named answers, wrong and right.

Each answer is the source notebook with one solution cell edited the way a learner might write it. The
notebook runs as a learner's kernel runs it at home (setup, read-only and answer cells in order, the test
cells with their hidden bodies), and a test cell's points count when it raises nothing. Wrong answers must
lose points, correct variants (negatives with or without replacement, an error message in other words)
must keep them all. Parts A to C run without Part D, which trains three models (the slow tests run it);
tests/test_homework_nbgrader.py grades the reference, the stub and one wrong answer with the real nbgrader.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw3" / "hw3.ipynb"
AUTO = {"A": 2, "B": 2, "C": 3, "D": 3}  # autograded points per part; Part E (2) is graded by a person


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _part(cell) -> str | None:
    match = re.match(r"part([A-Z])-", _meta(cell).get("grade_id", ""))
    return match.group(1) if match else None


def source() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def edit(nb, grade_id: str, old: str, new: str):
    """``nb`` with ``old`` replaced by ``new`` in the cell ``grade_id`` (``old`` must be there)."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    cell = next(c for c in nb.cells if _meta(c).get("grade_id") == grade_id)
    assert old in cell.source, f"{old!r} not in {grade_id}"
    cell.source = cell.source.replace(old, new, 1)
    return nb


def stub(nb):
    """What `make release` hands out: every solution region replaced by its stub."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and _meta(cell).get("solution"):
            cell.source = re.sub(r"( *)### BEGIN SOLUTION.*?### END SOLUTION",
                                 lambda m: f'{m.group(1)}raise NotImplementedError("write this function")',
                                 cell.source, flags=re.S)
    return nb


def grade(nb, parts: str = "ABCD") -> dict:
    """``{grade_id: (points earned, points, message)}`` of the test cells of ``parts``, run as at home.

    Every setup, read-only and answer cell runs (an answer cell that raises goes on, as nbgrader does); Part D's
    cells run only when ``D`` is in ``parts``.
    """
    ns: dict = {"__name__": "__main__"}
    out = {}
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or not meta:
            continue
        part = _part(cell)
        if part is not None and part not in parts and not meta.get("solution"):
            continue
        if part == "D" and "D" not in parts:
            continue
        code = cell.source.replace("hwcheck.setup()", "torch.set_num_threads(1)")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, meta["grade_id"], "exec"), ns)
            error = None
        except Exception as exc:  # noqa: BLE001  (the verdict of a test cell; an answer cell just goes on)
            error = f"{type(exc).__name__}: {exc}"
        if meta.get("grade"):
            out[meta["grade_id"]] = (0 if error else meta["points"], meta["points"], error)
    return out


def points(result: dict) -> dict:
    """Points per part letter."""
    by_part: dict = {}
    for grade_id, (got, _, _) in result.items():
        letter = grade_id[4]
        by_part[letter] = by_part.get(letter, 0) + got
    return by_part


def failures(result: dict) -> str:
    return "\n\n".join(f"{gid}: {msg}" for gid, (_, _, msg) in result.items() if msg)


# ----------------------------------------------------------------------------- answers, Parts A to C
WITH_REPLACEMENT = "neg_items = torch.randint(train.num_items, (num_negatives,), generator=generator)  # (M,)"
PAIR_LOOP = """    u = user_emb[users]  # (B, D)
    pos = (u * item_emb[pos_items]).sum(1)  # (B,)
    neg = u @ item_emb[neg_items].T  # (B, M): one product for the whole batch"""
REJECT = """    while clash.any():  # draw again where a negative is the user's own item
        neg_items[clash] = torch.randint(train.num_items, (int(clash.sum()),), generator=generator)
        clash = owned[users[:, None], neg_items]"""
DRAW_POSITIVE = "offset = (torch.rand(batch_size, generator=generator, dtype=torch.float64) * degree[users]).long()"

CORRECT = {  # name -> (cell, old, new): must keep every point of Parts A to C
    "shared negatives without replacement": (
        "partC-code", WITH_REPLACEMENT,
        "neg_items = torch.randperm(train.num_items, generator=generator)[:num_negatives]  # (M,) distinct"),
    "per-user negatives without replacement, drawn among the others": (
        "partC-code",
        "    neg_items = torch.randint(train.num_items, (batch_size, num_negatives), generator=generator)",
        "    neg_items = torch.stack([torch.nonzero(~owned[u]).flatten()[torch.randperm(int((~owned[u]).sum()), "
        "generator=generator)[:num_negatives]] for u in users.tolist()])"),
    "positives by a per-user Python loop": (
        "partC-code", "    pos_items = items[start[users] + offset]  # (B,) uniform among each user's items",
        "    picks = [int(torch.randint(int(degree[u]), (1,), generator=generator)) for u in users.tolist()]\n"
        "    pos_items = torch.stack([items[start[u] + p] for u, p in zip(users.tolist(), picks)])"),
    "loss with einsum and logsigmoid": (
        "partC-code", PAIR_LOOP + "\n    pairs = F.softplus(neg - pos[:, None])  # (B, M): -log sigmoid(pos - neg)",
        "    u = user_emb[users]\n    pos = torch.einsum('bd,bd->b', u, item_emb[pos_items])\n"
        "    neg = torch.einsum('bd,md->bm', u, item_emb[neg_items])\n"
        "    pairs = -F.logsigmoid(pos[:, None] - neg)"),
    "ValueError messages in other words": (
        "partA-code", 'raise ValueError(f"restart_prob must be in (0, 1], got {restart_prob}")',
        'raise ValueError("Restart probability out of range")'),
}

WRONG = {  # name -> (cell, old, new, points of Parts A, B, C it keeps)
    "positives always the user's first item": (
        "partC-code", DRAW_POSITIVE, "offset = torch.zeros(batch_size, dtype=torch.long)  # (B,)", (2, 2, 2)),
    "positives never the user's last item (off by one)": (
        "partC-code", DRAW_POSITIVE,
        "offset = (torch.rand(batch_size, generator=generator, dtype=torch.float64) * (degree[users] - 1)).long()",
        (2, 2, 2)),
    "users drawn in proportion to their number of items": (
        "partC-code", "users = active[torch.randint(len(active), (batch_size,), generator=generator)]  # (B,)",
        "users = train.user[torch.randint(len(train), (batch_size,), generator=generator)]  # (B,)", (2, 2, 2)),
    "negatives scored user by user (a Python loop)": (
        "partC-code", PAIR_LOOP,
        "    u = user_emb[users]\n    pos = (u * item_emb[pos_items]).sum(1)\n"
        "    neg = torch.stack([u[b] @ item_emb[neg_items].T for b in range(len(users))])", (2, 2, 2)),
    "negatives scored pair by pair (a (B, M, D) broadcast)": (
        "partC-code", PAIR_LOOP,
        "    u = user_emb[users]\n    pos = (u * item_emb[pos_items]).sum(1)\n"
        "    neg = (u[:, None, :] * item_emb[neg_items][None, :, :]).sum(-1)", (2, 2, 2)),
    "per-user negatives that may be the user's items (no redraw)": (
        "partC-code", REJECT, "    pass", (2, 2, 1)),
    "shared negatives that are positives left in the loss (valid all True)": (
        "partC-code", "valid = ~owned[users][:, neg_items]  # (B, M)",
        "valid = torch.ones(batch_size, num_negatives, dtype=torch.bool)  # (B, M)", (2, 2, 1)),
    "the loss averages over every pair, masked ones included": (
        "partC-code", "return pairs[valid].mean()", "return pairs.mean()", (2, 2, 2)),
    "shared negatives drawn by popularity (from the training interactions)": (
        "partC-code", WITH_REPLACEMENT,
        "neg_items = train.item[torch.randint(len(train), (num_negatives,), generator=generator)]  # (M,)",
        (2, 2, 2)),
    "the hard-negative pool keeps the positives": (
        "partB-code", "keep[torch.as_tensor(positives, dtype=torch.long)] = False", "pass", (2, 0, 3)),
    "the curriculum without its cap": (
        "partB-code", "return int(min(max_hard, step * (epoch - 1)))", "return int(step * (epoch - 1))", (2, 1, 3)),
    "walks that never restart": (
        "partA-code", "                here = user\n    return counts", "                pass\n    return counts",
        (1, 2, 3)),
}


def test_the_source_has_the_points_this_file_expects():
    nb = source()
    got: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and _meta(cell).get("grade"):
            got[_part(cell)] = got.get(_part(cell), 0) + _meta(cell)["points"]
    assert got == AUTO
    written = sum(_meta(c)["points"] for c in nb.cells if c.cell_type == "markdown" and _meta(c).get("grade"))
    assert written == 2


def test_reference_parts_a_to_c_full_marks():
    result = grade(source(), "ABC")
    assert points(result) == {"A": 2, "B": 2, "C": 3}, failures(result)


def test_stub_scores_zero():
    result = grade(stub(source()))
    assert points(result) == {"A": 0, "B": 0, "C": 0, "D": 0}, result


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_variants_keep_full_marks(name):
    result = grade(edit(source(), *CORRECT[name]), "ABC")
    assert points(result) == {"A": 2, "B": 2, "C": 3}, failures(result)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answers_lose_points(name):
    *change, keep = WRONG[name]
    result = grade(edit(source(), *change), "ABC")
    got = points(result)
    assert (got["A"], got["B"], got["C"]) == keep, failures(result)


def test_the_feedback_names_the_failed_cases_with_code_to_reproduce():
    result = grade(edit(source(), *WRONG["positives always the user's first item"][:3]), "C")
    message = result["partC-hidden"][2]
    assert "each positive is one of its user's items, drawn uniformly" in message
    assert "sample_shared_batch(lonely, 4000" in message and "expected about" in message
    result = grade(edit(source(), *WRONG["negatives scored user by user (a Python loop)"][:3]), "C")
    assert "a loop over users or pairs" in result["partC-loss"][2]
    result = grade(edit(source(), *WRONG["negatives scored pair by pair (a (B, M, D) broadcast)"][:3]), "C")
    assert "(64, 48, 8)" in result["partC-loss"][2]


def test_the_uniformity_checks_hold_for_every_correct_sampler_with_ten_seeds():
    """The statistical hidden test of Part C passes with 10 other seeds, for the reference and both variants."""
    variants = (None, "shared negatives without replacement",
                "per-user negatives without replacement, drawn among the others", "positives by a per-user Python loop")
    for name in variants:
        nb = source() if name is None else edit(source(), *CORRECT[name])
        cell = next(c for c in nb.cells if _meta(c).get("grade_id") == "partC-hidden")
        assert re.search(r"^\s*_seed = \d+\b", cell.source, flags=re.M), "partC-hidden sets `_seed = N` on its own line"
        for seed in range(10):
            cell.source = re.sub(r"^(\s*_seed = )\d+", rf"\g<1>{200 + seed}", cell.source, count=1, flags=re.M)
            result = grade(nb, "C")
            assert result["partC-hidden"][0] == 1, (name, seed, result["partC-hidden"][2])


# ----------------------------------------------------------------------------- Part D, the experiment
D_WRONG = {  # name -> (cell, old, new, Part D points it keeps of 3)
    "a reported Recall@20 its model did not produce": (
        "partD-experiment", '"recall@20": float(recall)', '"recall@20": float(recall) + 0.02', 0),
    "Recall@20 on the training split, not the held-out one": (
        "partD-experiment", "gl.evaluate((user_emb, item_emb), train, test, k=20)",
        "gl.evaluate((user_emb, item_emb), test, train, k=20)", 0),
    "initial embeddings from the global RNG (not reproducible)": (
        "partD-experiment", "user_emb = (0.1 * torch.randn(train.num_users, EMBEDDING_DIM, generator=generator))",
        "user_emb = (0.1 * torch.randn(train.num_users, EMBEDDING_DIM))", 1),
    "hard negatives counted as shared ones in the table": (
        "partD-experiment", '"hard": NUM_SHARED + BATCH_SIZE * mean_hard', '"hard": NUM_SHARED', 1),
}


@pytest.mark.slow
@pytest.mark.data
def test_reference_full_marks():
    result = grade(source())
    assert points(result) == AUTO, failures(result)


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("name", sorted(D_WRONG))
def test_part_d_wrong_answers_lose_points(name):
    *change, keep = D_WRONG[name]
    result = grade(edit(source(), *change), "D")
    assert points(result)["D"] == keep, failures(result)


@pytest.mark.slow
@pytest.mark.data
def test_part_d_feedback_points_to_the_upstream_part():
    """A Part C loss with its sign flipped: the shared and hard models do not train, and Part D's feedback says
    that the cause is upstream, naming shared_bpr_loss and Part C."""
    flipped = edit(source(), "partC-code", "F.softplus(neg - pos[:, None])", "F.softplus(pos[:, None] - neg)")
    result = grade(flipped, "CD")
    message = result["partD-rerun"][2]
    assert result["partD-rerun"][0] == 0 and "model trained" in message, failures(result)
    assert "shared_bpr_loss (Part C)" in message and "Fix those parts first" in message
