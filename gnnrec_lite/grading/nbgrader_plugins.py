"""The nbgrader plug-ins that ``course/nbgrader_config.py`` loads.

Introduced with the homework (see ``course/README.md``). Each closes a gap
between what nbgrader does by default and what fair grading of real
submissions needs:

* :class:`SafeExecute` (in :mod:`.execute`): the student's cells in a
  sandboxed kernel, the test cells in the grader, per-cell time budgets, and a
  kernel that dies fails the cells left instead of losing the submission.
* :class:`LimitOutputSize`: nbgrader's line cap plus a cap on characters.
* :class:`HideHiddenTests`: feedback without hidden-test source and without
  the tracebacks that would quote it.
* :class:`LatePenaltyPerDay`: a share of the score per started day late.
* :class:`FlagSuspicious`: flags a submission whose code tampers with the
  grading, so the formgrader shows it to a person.
* :class:`ClearSolutionsWithStub`: nbgrader's ``ClearSolutions``, with a stub
  that says what to write where the source asks for one.
"""

from __future__ import annotations

import json
import re

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import ClearSolutions, LimitOutput, NbGraderPreprocessor
from traitlets import Float, Integer

from .execute import KERNEL_DIED, SafeExecute
from .results import scan_cells

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


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


class FlagSuspicious(NbGraderPreprocessor):
    """Flag the submission in the gradebook when its code tampers with the grading
    (:func:`.results.scan_cells`): the formgrader then shows it to a person. Never unflags."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader") or {}
        if info.get("db_url") and scan_cells(nb):
            from nbgrader.api import Gradebook

            with Gradebook(info["db_url"]) as gb:
                submission = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
                submission.flagged = True
                gb.db.commit()
        return nb, resources


STUB_MARK = re.compile(r"BEGIN SOLUTION\s*#\s*stub:\s*(?P<message>\S.*?)\s*$")


def stub_line(message: str) -> str:
    """``raise NotImplementedError("message")``: the line a released stub runs."""
    return "raise NotImplementedError(" + json.dumps(message, ensure_ascii=False) + ")"


class ClearSolutionsWithStub(ClearSolutions):
    """nbgrader's ``ClearSolutions``; a region opened by ``### BEGIN SOLUTION  # stub: MESSAGE`` becomes
    ``# YOUR CODE HERE`` and ``raise NotImplementedError("MESSAGE")``, so the stub says what to write
    (``MESSAGE`` is e.g. ``write this function: ...``). Regions without the mark get nbgrader's stub."""

    def _replace_solution_region(self, cell, language):
        marks = [STUB_MARK.search(line) for line in cell.source.split("\n") if self.begin_solution_delimeter in line]
        if cell.cell_type != "code" or not any(marks):
            return super()._replace_solution_region(cell, language)
        default, lines, in_solution = self.code_stub[language].split("\n"), [], False
        for line in cell.source.split("\n"):
            if self.begin_solution_delimeter in line:
                if in_solution:
                    raise RuntimeError("encountered nested begin solution statements")
                in_solution, mark = True, STUB_MARK.search(line)
                stub = ["# YOUR CODE HERE", stub_line(mark.group("message"))] if mark else default
                indent = re.match(r"\s*", line).group(0)
                lines.extend(indent + stub_line_ for stub_line_ in stub)
            elif self.end_solution_delimeter in line:
                in_solution = False
            elif not in_solution:
                lines.append(line)
        if in_solution:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(lines)
        return True


__all__ = ["HIDDEN_BEGIN", "HIDDEN_END", "KERNEL_DIED", "STUB_MARK", "ClearSolutionsWithStub", "FlagSuspicious",
           "HideHiddenTests", "LatePenaltyPerDay", "LimitOutputSize", "SafeExecute", "stub_line", "strip_hidden"]
