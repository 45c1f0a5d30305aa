"""The nbgrader plug-ins that ``course/nbgrader_config.py`` loads.

Introduced with the homework (see ``course/README.md``). Each closes a gap
between what nbgrader does by default and what fair grading of real
submissions needs:

* :class:`SafeExecute`: per-cell time budgets by ``grade_id``; a kernel that
  dies (``os._exit``, a segfault, the out-of-memory killer) fails the cells
  left instead of losing the whole submission; a graded cell that did not run
  never passes.
* :class:`LimitOutputSize`: nbgrader's line cap plus a cap on characters.
* :class:`HideHiddenTests`: feedback without hidden-test source and without
  the tracebacks that would quote it.
* :class:`LatePenaltyPerDay`: a share of the score per started day late.
"""

from __future__ import annotations

import re

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import Execute, LimitOutput, NbGraderPreprocessor
from traitlets import Dict, Float, Integer

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KERNEL_DIED = "KernelDied"


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class SafeExecute(Execute):
    """nbgrader's ``Execute``, with per-cell time budgets, and a kernel that dies fails the cells left.

    ``cell_timeouts`` maps a ``grade_id`` to its own budget in seconds; every
    other cell gets ``timeout``.

    Plain nbgrader drops a submission whose kernel dies (``os._exit``, a
    segfault, the out-of-memory killer): no grades, no feedback. Here the cell
    that killed it and every code cell after it get an error output, so tests
    that did not run score zero and the feedback says why.
    """

    cell_timeouts = Dict(help="seconds allowed for the cells with these grade_ids, instead of `timeout`"
                         ).tag(config=True)
    _dead_at: str | None = None  # where the kernel died

    def _get_timeout(self, cell):
        grade_id = (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell is not None and grade_id in self.cell_timeouts:
            return self.cell_timeouts[grade_id]
        return super()._get_timeout(cell)

    def preprocess_cell(self, cell, resources, index):
        if self._dead_at is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error(KERNEL_DIED, f"not run: the kernel died in {self._dead_at}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead_at = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            cell.outputs.append(_error(KERNEL_DIED, "the kernel died while running this cell (os._exit, a crash "
                                                    "or too much memory); the cells after it were not run"))
            return cell, resources

    def preprocess(self, nb, resources=None, km=None):
        self._dead_at = None
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError:  # died outside a cell (start-up, shut-down): judged below
            pass
        for cell in nb.cells:  # whatever happened, a graded cell that did not run must not pass
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if (cell.cell_type == "code" and meta.get("grade") and cell.get("execution_count") is None
                    and not any(out.output_type == "error" for out in cell.outputs)):
                cell.outputs.append(_error(KERNEL_DIED if self._dead_at is not None else "NotRun",
                                           "this test cell was not run, so it cannot pass"))
        return nb, resources


class LimitOutputSize(LimitOutput):
    """nbgrader's ``LimitOutput`` (lines) plus a cap on characters per cell, so one huge line cannot
    bloat the autograded notebook and the feedback."""

    max_chars = Integer(20_000, help="characters of output kept per cell").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        for out in cell.outputs:
            if out.output_type == "stream":
                if len(out.text) > budget:
                    out.text = out.text[:budget] + f"\n... output truncated ({len(out.text):,} characters) ..."
                budget = max(0, budget - len(out.text))
            elif out.output_type in ("execute_result", "display_data"):
                size = sum(len(str(v)) for v in out.data.values())
                if size > self.max_chars:
                    text = str(out.data.get("text/plain", ""))[:budget]
                    out.data = {"text/plain": text + f"\n... output removed ({size:,} characters) ..."}
            elif out.output_type == "error" and len(out.evalue) > budget:
                out.evalue = out.evalue[:budget] + " ... (truncated)"
        return cell, resources


def strip_hidden(source: str) -> str:
    """``source`` with every hidden-test region replaced by one comment line."""
    pattern = re.escape(HIDDEN_BEGIN) + r".*?" + re.escape(HIDDEN_END)
    return re.sub(pattern, "# (hidden tests: not shown)", source, flags=re.S)


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: remove hidden-test source, and reduce the tracebacks of those cells to
    ``ename: evalue`` (a traceback quotes the failing line of the test)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            cell.source = strip_hidden(cell.source)
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [f"{out.ename}: {out.evalue}",
                                     "(a hidden test's traceback is not shown: reproduce the case in your own cell)"]
        return cell, resources


class LatePenaltyPerDay(LateSubmissionPlugin):
    """Late penalty: ``fraction_per_day`` of the score per started day late, never below zero.

    nbgrader's own choices are "none" and "zero"; this is the usual middle way.
    A submission is late when its ``timestamp.txt`` is after the assignment's
    due date in the gradebook (``nbgrader db assignment add hw1 --duedate=...``).
    """

    fraction_per_day = Float(0.1, help="share of the score lost per started day").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = -(-total_seconds_late // 86400)  # started days
        return min(score, score * self.fraction_per_day * days)
