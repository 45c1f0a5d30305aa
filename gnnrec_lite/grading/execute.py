"""How the autograder runs a submission: the student's cells in a sandboxed kernel, the tests in the grader.

Introduced with the homework (``course/README.md``). :class:`SafeExecute`
replaces nbgrader's ``Execute`` step of ``nbgrader autograde``:

* the kernel runs in a bubblewrap sandbox with limits (:mod:`.sandbox`);
  ``c.SafeExecute.sandbox = False`` (``--no-sandbox``) runs it without one,
  and every result then says so;
* the student's cells and the read-only setup cell run in that kernel; each
  test cell runs in the grader (:mod:`.judge`), from the gradebook's copy of
  its source, calling the student's code in the kernel;
* per-cell time budgets by ``grade_id``; a kernel that dies (``os._exit``, a
  crash, a limit) fails the cells left instead of losing the submission; a
  graded cell that did not run never passes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer

from .judge import Judge
from .remote import Channel
from .sandbox import Limits, Sandbox, SandboxedKernelManager, check, describe_exit

KERNEL_DIED = "KernelDied"


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_cells(resources: dict) -> dict:
    """``{grade_id: ("test" | "setup", source)}`` from the gradebook: the cells the grader may run itself.

    Tests are autograded code cells; setup cells are read-only code cells that
    are neither tests nor answers. Empty without a gradebook (``nbgrader``
    resources), so the whole notebook then runs in the kernel.
    """
    info = (resources or {}).get("nbgrader") or {}
    if not info.get("db_url"):
        return {}
    from nbgrader.api import Gradebook

    with Gradebook(info["db_url"]) as gb:
        notebook = gb.find_notebook(info["notebook"], info["assignment"])
        tests = {c.name for c in notebook.grade_cells if c.cell_type == "code"}
        answers = {c.name for c in notebook.solution_cells}
        return {c.name: ("test" if c.name in tests else "setup", c.source) for c in notebook.source_cells
                if c.cell_type == "code" and c.name not in answers and (c.name in tests or c.locked)}


class SafeExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, tests run by the grader, per-cell budgets and dead kernels
    handled (see the module docstring)."""

    cell_timeouts = Dict(help="seconds allowed for the cells with these grade_ids, instead of `timeout`"
                         ).tag(config=True)
    sandbox = Bool(True, help="run each kernel in a bubblewrap sandbox (False: --no-sandbox)").tag(config=True)
    judge = Bool(True, help="run the test cells in the grader, calling the notebook's code in its kernel"
                 ).tag(config=True)
    memory_mb = Integer(Limits.memory_mb, help="address space of a kernel, in MB").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU time of a kernel, in seconds").tag(config=True)
    processes = Integer(Limits.processes, help="processes and threads of a kernel").tag(config=True)
    file_mb = Integer(Limits.file_mb, help="largest file a kernel may write, in MB").tag(config=True)

    _dead_at: str | None = None
    _box: Sandbox | None = None
    _judge: Judge | None = None

    @property
    def limits(self) -> Limits:
        return Limits(self.memory_mb, self.cpu_seconds, self.processes, self.file_mb)

    def _get_timeout(self, cell):
        grade_id = (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell is not None and grade_id in self.cell_timeouts:
            return self.cell_timeouts[grade_id]
        return super()._get_timeout(cell)

    # ------------------------------------------------------------------ the kernel
    def create_kernel_manager(self):
        if self.sandbox:
            check()
        info = (self.resources or {}).get("nbgrader") or {}
        self._box = Sandbox(self.limits, self._submitted(info), name=info.get("assignment") or "work")
        km = SandboxedKernelManager(kernel_name=self.kernel_name or self.nb.metadata.get("kernelspec", {}).get(
            "name", "python3"), transport="ipc", ip=str(self._box.sockets / "kernel"), config=self.config)
        km.connection_file = str(self._box.sockets / "kernel.json")
        km.sandbox = self._box if self.sandbox else None
        self.km = km
        return km

    async def async_start_new_kernel(self, **kwargs):
        kwargs["cwd"] = str(self._box.work)  # without a sandbox, the kernel still starts in the throwaway copy
        return await super().async_start_new_kernel(**kwargs)

    def _submitted(self, info: dict) -> Path | None:
        """The student's own submitted folder (never the autograded one, which holds the hidden tests)."""
        if not info.get("student") or not info.get("assignment"):
            return None
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        return Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))

    def _died(self) -> str:
        return describe_exit(self.km.exit_code() if self.km is not None else None, self.limits)

    # ------------------------------------------------------------------ cells
    def preprocess(self, nb, resources=None, km=None):
        self._dead_at, self._judge = None, None
        self._trusted = trusted_cells(resources) if self.judge else {}
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError:  # died outside a cell (start-up, shut-down): judged below
            pass
        finally:
            if self._judge is not None:
                self._judge.channel.close()
            if self._box is not None:
                self._box.cleanup()
        for cell in nb.cells:  # whatever happened, a graded cell that did not run must not pass
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if (cell.cell_type == "code" and meta.get("grade") and cell.get("execution_count") is None
                    and not any(out.output_type == "error" for out in cell.outputs)):
                cell.outputs.append(_error(KERNEL_DIED if self._dead_at is not None else "NotRun",
                                           "this test cell was not run, so it cannot pass"))
        limits = self.limits
        nb.metadata["gnnrec"] = {"sandbox": bool(self.sandbox), "tests_in_grader": bool(self._trusted),
                                 "limits": {k: getattr(limits, k) for k in Limits.__dataclass_fields__}}
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if self._dead_at is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error(KERNEL_DIED, f"not run: the kernel died in {self._dead_at}")]
            return cell, resources
        kind, source = self._trusted.get(grade_id, (None, None))
        if kind == "test" and cell.cell_type == "code":
            return self._test_cell(cell, grade_id, source), resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except Exception as exc:  # noqa: BLE001  (a dead kernel, or one that stopped answering: grade what ran)
            self._dead_at = grade_id or f"cell {index + 1}"
            why = self._died() if isinstance(exc, DeadKernelError) else f"it stopped answering ({type(exc).__name__})"
            cell.outputs.append(_error(KERNEL_DIED, f"the kernel died while running this cell: {why}; "
                                                    "the cells after it were not run"))
            return cell, resources
        if cell.cell_type == "code" and cell.source.strip():
            cell.execution_count = self.code_cells_executed  # one count for the kernel's cells and the grader's
        if kind == "setup":
            failed = self._get_judge().setup(source)
            if failed:
                self.log.warning("the setup cell %s failed in the grader: %s", grade_id, failed)
        return cell, resources

    def _get_judge(self) -> Judge:
        if self._judge is None:
            self._judge = Judge(Channel(self.km, self._died))
        return self._judge

    def _test_cell(self, cell, grade_id: str, source: str):
        """A test cell, run by the grader (see :mod:`.judge`); the cell keeps its own source for the feedback."""
        judge = self._get_judge()
        cell.outputs = judge.test(grade_id, source, self._get_timeout(cell))
        self.code_cells_executed += 1
        cell.execution_count = self.code_cells_executed
        if judge.channel.dead:
            self._dead_at = grade_id
        return cell


__all__ = ["KERNEL_DIED", "SafeExecute", "trusted_cells"]
