"""hw2's named wrong answers lose points, its correct variants keep them, and the feedback names the cause.

Each answer is the reference solution of ``solutions/hw2/hw2.ipynb`` with some
solution cells edited. It is graded without nbgrader, as a learner's *Restart &
Run All* grades it: the setup cell and the answer cells run in one namespace,
then every test cell runs in full (its visible and its hidden part) in a copy
of it, and a cell that raises loses its points. The same answers through the
real nbgrader give the same scores (``gnnrec grade hw2``, measured for
``course/README.md``); the nbgrader batch of ``test_homework_nbgrader.py``
grades the reference, the stub, the cheats and one of these answers for real.

The cases come from issue 13, item 5 (the hw2 ones) and item 4 (the training
loop and the NGCF layer). The grades before the change, on the notebook of
the commit before it, are in ``course/README.md``.
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw2" / "hw2.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.data]  # Part C's training test trains on MovieLens-100K

# --------------------------------------------------------------------------------------------- answers, as edits
DENSE_THEN_SPARSE = '''
def normalized_adjacency(train):
    n = train.num_users + train.num_items
    a = torch.zeros(n, n)  # the dense N x N matrix the task forbids
    a[train.user, train.item + train.num_users] = 1.0
    a[train.item + train.num_users, train.user] = 1.0
    degree = a.sum(1)
    inv = torch.zeros(n)
    inv[degree > 0] = degree[degree > 0].rsqrt()
    return (inv[:, None] * a * inv[None, :]).to_sparse()
'''

NAN_ADJACENCY = '''
def normalized_adjacency(train):
    n = train.num_users + train.num_items
    a = torch.zeros(n, n)
    a[train.user, train.item + train.num_users] = 1.0
    a[train.item + train.num_users, train.user] = 1.0
    inv = a.sum(1).rsqrt()  # inf for a node without edges, and inf * 0 is NaN
    return (inv[:, None] * a * inv[None, :]).to_sparse()
'''

HOMOGENEOUS_EDGE_INDEX = '''
from gnnrec_lite.graph import to_homogeneous_edge_index


def normalized_adjacency(train):
    n = train.num_users + train.num_items
    row, col = to_homogeneous_edge_index(train)  # allowed: only the adjacency builders are off limits
    degree = torch.zeros(n).index_add_(0, row, torch.ones(len(row)))
    inv = torch.where(degree > 0, degree.clamp(min=1).rsqrt(), torch.zeros(n))
    return torch.sparse_coo_tensor(torch.stack([row, col]), inv[row] * inv[col], (n, n)).coalesce()
'''

LIBRARY_ADJACENCY = '''
def normalized_adjacency(train):
    return gl.to_adjacency(train)
'''

PER_USER_SAMPLER = '''
def sample_batch(train, batch_size, generator):
    """A different correct sampler: each user's negative drawn directly from the items it lacks."""
    items = [set() for _ in range(train.num_users)]
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        items[u].add(i)
    owned = [sorted(s) for s in items]
    missing = [sorted(set(range(train.num_items)) - s) for s in items]
    active = [u for u in range(train.num_users) if owned[u]]
    users = torch.tensor(active)[torch.randint(len(active), (batch_size,), generator=generator)]
    pos, neg = [], []
    for u in users.tolist():
        pos.append(owned[u][int(torch.randint(len(owned[u]), (1,), generator=generator))])
        neg.append(missing[u][int(torch.randint(len(missing[u]), (1,), generator=generator))])
    return users, torch.tensor(pos), torch.tensor(neg)
'''

LIBRARY_FIT = '''
def fit(model, train, num_epochs, batch_size, lr, reg, seed):
    from gnnrec_lite.train import train_bpr
    history = train_bpr(model, train, num_epochs=num_epochs, batch_size=batch_size, lr=lr, reg=reg, seed=seed,
                        num_negatives=1, eval_every=0, progress=False)
    return [row["loss"] for row in history.rows]
'''

# name -> (edits: [(grade_id, old, new)], the test cells that must fail, a phrase their messages must hold)
WRONG = {
    "dense-then-to_sparse": ([("partA-code", None, DENSE_THEN_SPARSE)], {"partA-hidden"}, "built a dense matrix"),
    "bincount-without-minlength": (
        [("partA-code", "torch.bincount(row, minlength=n)", "torch.bincount(row)")],
        {"partA-hidden", "partC-model"}, "the last item (item 3) without an edge"),
    "degrees-per-side-without-minlength": (
        [("partA-code", "torch.bincount(row, minlength=n).float()",
          "torch.cat([torch.bincount(train.user), torch.bincount(train.item)]).float()")],
        {"partA-hidden", "partC-model"}, "the last user (user 2) without an edge"),
    "nan-adjacency": ([("partA-code", None, NAN_ADJACENCY)], {"partA-hidden", "partC-model", "partC-train"},
                      "NaN"),
    "row-normalized-D^-1-A": (
        [("partA-code", "values = inv_sqrt[row] * inv_sqrt[col]", "values = inv_sqrt[row] ** 2")],
        {"partA-visible", "partA-hidden", "partC-model"}, "the cause is upstream, in Part A"),
    "library-adjacency": ([("partA-code", None, LIBRARY_ADJACENCY)], {"partA-hidden", "partC-model"},
                          "gnnrec_lite.graph.to_adjacency"),
    "sum-over-layers": ([("partB-code", "return total / (num_layers + 1)", "return total")],
                        {"partB-visible", "partB-hidden", "partC-model"}, "the cause is upstream, in Part B"),
    "propagate-detach": ([("partB-code", "x = torch.sparse.mm(adj, x)", "x = torch.sparse.mm(adj, x).detach()")],
                         {"partB-hidden", "partC-model"}, "gradients must reach the embeddings"),
    "propagate-in-place": ([("partB-code", "total = total + x", "total += x")],
                           {"partB-hidden"}, "gradients must reach the embeddings"),
    "no-propagation": ([("partC-model-code", "return propagate(self.adj, x, self.num_layers)", "return x")],
                       {"partC-model"}, "user embeddings"),
    "sampler-returns-positives": (
        [("partC-code", "neg = torch.randint(train.num_items, (batch_size,), generator=generator)  # (B,)",
          "neg = indices[indptr[users] + (torch.rand(batch_size, generator=generator) * degree[users]).long()]"),
         ("partC-code", "while clash.any():", "while False:")],
        {"partC-visible", "partC-hidden", "partC-train"}, "negatives are one of their user's items"),
    "sampler-without-rejection": ([("partC-code", "while clash.any():", "while False:")],
                                  {"partC-visible", "partC-hidden"}, "draw those again"),
    "l2-on-final-embeddings": (
        [("partC-code", "l2 = user_e[users].pow(2).sum() + item_e[pos].pow(2).sum() + item_e[neg].pow(2).sum()",
          "l2 = user_z[users].pow(2).sum() + item_z[pos].pow(2).sum() + item_z[neg].pow(2).sum()")],
        {"partC-visible", "partC-hidden"}, "reg = 0.1"),
    "l2-not-divided-by-batch": ([("partC-code", "reg * l2 / (2 * len(users))", "reg * l2 / 2")],
                                {"partC-visible", "partC-hidden", "partC-train"}, "reg = 0.1"),
    "loss-detached": ([("partC-code", "return -torch.nn.functional.logsigmoid(diff).mean() +",
                        "return (-torch.nn.functional.logsigmoid(diff)).mean().detach() +")],
                      {"partC-visible", "partC-hidden", "partC-train"}, "gradients must reach the embeddings"),
    "no-zero-grad": ([("partC-code", "    optimizer.zero_grad()\n", "")], {"partC-hidden"},
                     "step 2 differs when zero_grad is missing"),
    "library-training-loop": ([("partC-code", "def fit(model", "def unused_fit(model"),
                               ("partC-code", "\n\ndef batch_loss", LIBRARY_FIT + "\n\ndef batch_loss")],
                              {"partC-train"}, "gnnrec_lite.train"),
    "ngcf-relu": ([("partD-code", "torch.nn.functional.leaky_relu((m + h) @ w1 + (m * h) @ w2 + b, 0.2)",
                    "torch.relu((m + h) @ w1 + (m * h) @ w2 + b)")], {"partD-visible", "partD-hidden"},
                  "the layer's output"),
    "ngcf-default-slope": ([("partD-code", "(m * h) @ w2 + b, 0.2)", "(m * h) @ w2 + b)")],
                           {"partD-visible", "partD-hidden"}, "the layer's output"),
    "ngcf-without-self-term": ([("partD-code", "(m + h) @ w1", "m @ w1")], {"partD-visible", "partD-hidden"},
                               "the layer's output"),
}
CORRECT = {  # a different way to a right answer keeps full marks
    "to_homogeneous_edge_index": [("partA-code", None, HOMOGENEOUS_EDGE_INDEX)],
    "a sampler that draws from the missing items": [("partC-code", "def sample_batch(", "def unused_sampler("),
                                                    ("partC-code", "\n\ndef batch_loss",
                                                     PER_USER_SAMPLER + "\n\ndef batch_loss")],
    "train_step returning a 0-d tensor's item by float()": [("partC-code", "return loss.item()",
                                                             "return float(loss.detach())")],
}


# --------------------------------------------------------------------------------------------- grading
def _source():
    return nbformat.read(SOURCE, as_version=4)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer_cells(edits, *, notebook=SOURCE) -> dict:
    """grade_id -> source of every solution cell, with ``edits`` applied (``old`` None: replace the whole cell)."""
    cells = {_meta(c)["grade_id"]: c.source for c in nbformat.read(notebook, as_version=4).cells
             if _meta(c).get("solution") and c.cell_type == "code"}
    for grade_id, old, new in edits:
        if old is None:
            cells[grade_id] = new.strip("\n")
        else:
            assert old in cells[grade_id], f"{old!r} not in {grade_id}"
            cells[grade_id] = cells[grade_id].replace(old, new, 1)
    return cells


_trained: dict = {}  # Part C's training test, by the answers it depends on: answers that share them share a run


def grade(edits, *, answers=None) -> dict:
    """grade_id -> (points earned, points, message) for every test cell, as Restart & Run All grades them."""
    answers = answer_cells(edits) if answers is None else answers
    ns: dict = {}
    results = {}
    for cell in _source().cells:
        meta, grade_id = _meta(cell), _meta(cell).get("grade_id")
        if cell.cell_type != "code" or grade_id is None:
            continue
        if meta.get("solution"):
            with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(answers[grade_id], grade_id, "exec"), ns)
            continue
        if not meta.get("grade"):  # the setup cell
            exec(compile(cell.source.replace("hwcheck.setup()", "pass"), grade_id, "exec"), ns)
            continue
        key = (grade_id, *(answers[g] for g in ("partA-code", "partB-code", "partC-model-code", "partC-code")))
        if grade_id == "partC-train" and key in _trained:
            results[grade_id] = _trained[key]
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, grade_id, "exec"), dict(ns))
            results[grade_id] = (meta["points"], meta["points"], "")
        except Exception as exc:  # noqa: BLE001  (any failure loses the cell's points)
            results[grade_id] = (0, meta["points"], f"{type(exc).__name__}: {exc}")
        if grade_id == "partC-train":
            _trained[key] = results[grade_id]
    return results


def score(results) -> int:
    return sum(earned for earned, _, _ in results.values())


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------- tests
def test_the_reference_gets_full_marks_and_the_released_stubs_none():
    results = grade([])
    assert score(results) == 10 and sum(p for _, p, _ in results.values()) == 10, results
    stubs = answer_cells([], notebook=ROOT / "assignments" / "hw2" / "hw2.ipynb")
    assert all("NotImplementedError(\"write this" in src for gid, src in stubs.items() if gid != "partD-answer"), stubs
    stubbed = grade([], answers=stubs)
    assert score(stubbed) == 0, {gid: r for gid, r in stubbed.items() if r[0]}


@pytest.mark.parametrize("name", list(WRONG))
def test_a_named_wrong_answer_loses_points_and_says_why(name):
    edits, failing, phrase = WRONG[name]
    results = grade(edits)
    failed = {gid for gid, (earned, _, _) in results.items() if not earned}
    assert failed == failing, {gid: results[gid][2][:400] for gid in failed ^ failing}
    assert 0 < score(results) < 10
    messages = " ".join(results[gid][2] for gid in failed)
    assert phrase in messages, messages[:2000]


@pytest.mark.parametrize("name", list(CORRECT))
def test_a_correct_variant_keeps_full_marks(name):
    results = grade(CORRECT[name])
    assert score(results) == 10, {gid: r[2][:400] for gid, r in results.items() if not r[0]}


def test_upstream_mistakes_are_named_in_part_c():
    """Part C's feedback names Part A or B, and the input that shows it, when they are the cause."""
    from gnnrec_lite.grading import hw2check

    for name, part in (("row-normalized-D^-1-A", "Part A's normalized_adjacency(gl.southern_women())"),
                       ("bincount-without-minlength", "Part A's normalized_adjacency(gl.Interactions(4, 5"),
                       ("sum-over-layers", "Part B's propagate with 2 layers"),
                       ("propagate-detach", "Part B's propagate passes the wrong gradient back to emb")):
        ns = _parts_a_and_b(WRONG[name][0])
        found = hw2check.upstream(ns["normalized_adjacency"], ns["propagate"])
        assert part in found and "the cause is upstream" in found, (name, found)
    ns = _parts_a_and_b([])
    assert hw2check.upstream(ns["normalized_adjacency"], ns["propagate"]) == ""


def _parts_a_and_b(edits) -> dict:
    ns: dict = {"torch": torch, "math": math}
    for grade_id, source in answer_cells(edits).items():
        if grade_id in ("partA-code", "partB-code"):
            exec(compile(source, grade_id, "exec"), ns)
    return ns


def test_training_does_not_make_guard_report_a_replaced_manual_seed():
    """Adam imports torch._dynamo, which wraps torch.manual_seed: guard() must not call that the notebook's doing
    (it did, under hw2's Part C on every feedback page). In a fresh process, so the import happens after setup()."""
    code = ("import torch; from gnnrec_lite.grading import hwcheck; hwcheck.setup(); before = torch.manual_seed\n"
            "torch.optim.Adam([torch.zeros(1, requires_grad=True)])\n"
            "print(torch.manual_seed is not before, hwcheck.guard())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "True []", out
