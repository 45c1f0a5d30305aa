"""hw4's grades without nbgrader: the stub, the reference, named wrong answers and correct variants.

A submission here is the source notebook with some answer lines edited, run
as a learner runs it at home: the setup cell, the answer cells, then every
test cell with its hidden tests, in one namespace; a test cell that raises
scores 0. Wrong answers are the mistakes a learner is likely to make (the
start item kept in its own neighbourhood, raw counts as weights, messages
sent the wrong way along the edges, ...): each must lose points, and correct
variants must not. The real nbgrader grades the reference, the stub, one
wrong answer and the cheats in tests/test_homework_nbgrader.py.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest

from gnnrec_lite.grading.nbgrader_plugins import stub_line

ROOT = Path(__file__).resolve().parents[1]
SOURCE = nbformat.read(ROOT / "solutions" / "hw4" / "hw4.ipynb", as_version=4)
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader's code stub (course/nbgrader_config.py)
REGION = re.compile(r"^( *)### BEGIN SOLUTION(?:\s*#\s*stub:\s*(.*?))?\n.*?### END SOLUTION", re.S | re.M)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _stub(source: str) -> str:
    """What `make release` leaves of an answer cell: each solution region becomes the stub, indented alike."""
    def replace(match):
        indent, message = match.group(1), match.group(2)
        stub = STUB if message is None else f"# YOUR CODE HERE\n{stub_line(message)}"
        return "\n".join(indent + line for line in stub.splitlines())

    return REGION.sub(replace, source)


def grade(edits=(), *, stub: bool = False) -> tuple[dict, dict]:
    """Points per test cell, and each failed cell's message, for the reference with ``edits`` applied:
    ``(grade_id, old, new)`` replaces ``old`` (which must occur) in that answer cell."""
    ns: dict = {}
    points, messages = {}, {}
    for cell in SOURCE.cells:
        meta = _meta(cell)
        if cell.cell_type != "code":
            continue
        source = cell.source
        if meta.get("solution"):
            source = _stub(source) if stub else source
            for grade_id, old, new in edits:
                if grade_id == meta["grade_id"]:
                    assert old in source, f"{old!r} is not in {grade_id}"
                    source = source.replace(old, new)
        elif meta["grade_id"] == "setup":
            source = source.replace("hwcheck.setup()", "pass")  # leave this process's warnings and threads alone
        code = compile(source, meta["grade_id"], "exec")
        if not meta.get("grade"):
            exec(code, ns)
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, ns)
            points[meta["grade_id"]] = meta["points"]
        except Exception as exc:  # noqa: BLE001  (a failing test cell scores zero, whatever it raised)
            points[meta["grade_id"]], messages[meta["grade_id"]] = 0, f"{type(exc).__name__}: {exc}"
    return points, messages


A, B, C = "partA-code", "partB-code", "partC-code"
COUNT = "            counts[here] += 1  # the item this hop reached\n"
RESTART = "                here = item\n"
NORMALIZE = "(top_c[kept] / top_c[kept].sum()).float()"
PROPAGATE = "n = self.propagate(edge_index, x=(msg, None)"
MSG = "msg = F.relu(self.lin_q(x_src))"
OUT = "h = F.relu(self.lin_w(torch.cat([x_dst, n], dim=1)))"

# name -> (edits, expected score of 10, a phrase the failing test's message must hold)
WRONG = {
    "the start item in its own neighbourhood": ([(B, "counts[item] = 0.0", "pass")], 8, "neighbors"),
    "raw visit counts as weights": ([(B, NORMALIZE, "top_c[kept].float()")], 8, "sum of the weights"),
    "weights divided by every visit": ([(B, NORMALIZE, "(top_c[kept] / counts.sum()).float()")], 8,
                                       "sum of the weights"),
    "ties to the higher item id": ([(B, "torch.sort(counts, descending=True, stable=True)",
                                     "torch.sort(counts.flip(0), descending=True, stable=True)"),
                                    (B, "top_c[:num_neighbors], top_i[:num_neighbors]",
                                     "top_c[:num_neighbors], counts.numel() - 1 - top_i[:num_neighbors]")], 9,
                                   "two items tied"),
    "unvisited items as neighbours": ([(B, "kept = top_c > 0", "kept = top_c >= 0")], 9,
                                      "fewer visited items than num_neighbors"),
    "counts the restart instead of the hop": ([(A, COUNT, ""),
                                               (A, RESTART, RESTART + "            counts[here] += 1\n")],
                                              8, "total variation"),
    "never restarts": ([(A, "< restart_prob", "< 0.0")], 8, "restart_prob=1"),
    "draws from the global RNG": ([(A, "(1,), generator=generator)", "(1,))")], 8, "same generator seed"),
    "the edge weight inside the transform": ([(C, MSG, "msg = x_src"),
                                              (C, "return edge_weight.view(-1, 1) * x_j",
                                               "return F.relu(self.lin_q(edge_weight.view(-1, 1) * x_j))")], 6,
                                             "the layer's output"),
    "messages sent from targets to sources": ([(C, PROPAGATE, "n = self.propagate(edge_index.flip(0), x=(msg, None)")],
                                              5, "one-way edges"),
    "no L2 normalization": ([(C, "return F.normalize(h, dim=1)", "return h")], 5, "the layer's output"),
    "no ReLU after W": ([(C, OUT, "h = self.lin_w(torch.cat([x_dst, n], dim=1))")], 6, "the layer's output"),
    "no ReLU on the messages": ([(C, MSG, "msg = self.lin_q(x_src)")], 5, "the target's output"),
    "mean instead of weighted sum": ([(C, 'super().__init__(aggr="add")', 'super().__init__(aggr="mean")')], 5,
                                     "the target's output"),
    "division by a zero norm": ([(C, "return F.normalize(h, dim=1)", "return h / h.norm(dim=1, keepdim=True)")], 8,
                                "NaN"),
    "the output detached": ([(C, "return F.normalize(h, dim=1)", "return F.normalize(h, dim=1).detach()")], 8,
                            "no gradient reached"),
    "pooling without propagate": ([(C, PROPAGATE + ", edge_weight=edge_weight,\n                           "
                                    "size=(x_src.shape[0], x_dst.shape[0]))",
                                    "n = torch.zeros(x_dst.shape[0], msg.shape[1]).index_add(0, edge_index[1], "
                                    "edge_weight[:, None] * msg[edge_index[0]])")], 8, "self.propagate"),
}

CORRECT = {
    "messages transformed per edge": [(C, MSG, "msg = x_src"),
                                      (C, "return edge_weight.view(-1, 1) * x_j",
                                       "return edge_weight.view(-1, 1) * F.relu(self.lin_q(x_j))")],
    "x passed as one tensor": [(C, "x=(msg, None)", "x=msg")],
    "the norm by hand": [(C, "return F.normalize(h, dim=1)",
                          "return h / h.norm(dim=1, keepdim=True).clamp(min=1e-12)")],
    "a Python sort and float64 weights": [(B, "top_c, top_i = torch.sort(counts, descending=True, stable=True)",
                                           "order = sorted(range(len(counts)), key=lambda v: (-float(counts[v]), v))\n"
                                           "    top_i = torch.tensor(order)\n    top_c = counts[top_i]"),
                                          (B, NORMALIZE, "top_c[kept] / top_c[kept].sum()"),
                                          (B, "weights = torch.zeros(num_neighbors)",
                                           "weights = torch.zeros(num_neighbors, dtype=torch.float64)")],
    "draws with torch.rand": [(A, "users[int(torch.randint(len(users), (1,), generator=generator))]",
                               "users[int(float(torch.rand(1, generator=generator)) * len(users))]"),
                              (A, "items[int(torch.randint(len(items), (1,), generator=generator))]",
                               "items[int(float(torch.rand(1, generator=generator)) * len(items))]")],
}


def test_the_stub_scores_zero_and_the_reference_full_marks():
    points, messages = grade(stub=True)
    assert sum(points.values()) == 0 and all("NotImplementedError" in m for m in messages.values()), messages
    points, messages = grade()
    assert sum(points.values()) == 10 and not messages, messages


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_answer_loses_points_and_is_told_why(name):
    edits, expected, phrase = WRONG[name]
    points, messages = grade(edits)
    assert sum(points.values()) == expected, (points, messages)
    assert any(phrase in m for m in messages.values()), messages


@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_variant_keeps_full_marks(name):
    points, messages = grade(CORRECT[name])
    assert sum(points.values()) == 10, messages


def test_a_hidden_test_lists_every_failing_case_with_its_input():
    """Several cases fail at once: each is listed, with the input that reproduces it and what was expected."""
    _, messages = grade(WRONG["raw visit counts as weights"][0])
    message = messages["partB-hidden"]
    assert "2 of 4 hidden cases failed" in message, message  # with one neighbour (count 1) or none, raw is right
    for case in ("the start item is the most visited", "30 items, random counts 0-5"):
        assert case in message, message
    assert "importance_neighbourhood(torch.tensor([9.0, 4, 7, 0, 4, 1]), 0, 3)" in message
    assert "expected 1, got 15" in message  # the sum of the weights


def test_the_from_scratch_checks_catch_the_library():
    first = "    users_of = [[] for _ in range(train.num_items)]\n"  # the first line of Part A's solution
    edits = [(A, first,
              "    from gnnrec_lite.walks import item_visit_counts\n"
              "    return item_visit_counts(train, [item], num_walks=num_walks, num_hops=num_hops, "
              "restart_prob=restart_prob, generator=generator)[0]\n" + first),
             (C, "        x_src, x_dst = x  # (N_src, F), (N_dst, F)\n",
              "        x_src, x_dst = x  # (N_src, F), (N_dst, F)\n        from gnnrec_lite.models.pinsage_conv import "
              "PinSAGEConv\n        conv = PinSAGEConv((x_src.shape[1], x_dst.shape[1]), self.lin_w.out_features, "
              "self.lin_q.out_features)\n        conv.lin_q, conv.lin_w = self.lin_q, self.lin_w\n"
              "        return conv(x, edge_index, edge_weight)\n")]
    points, messages = grade(edits)
    assert points["partA-hidden"] == points["partC-hidden"] == points["partC-hidden-gradients"] == 0, messages
    for grade_id in ("partA-hidden", "partC-hidden", "partC-hidden-gradients"):
        assert "must be written from scratch" in messages[grade_id], messages[grade_id]
