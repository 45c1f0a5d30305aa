"""Tests the notebook cannot reach: the grader runs the test cells itself and calls the notebook's code remotely.

Introduced with the homework (``course/README.md``, "Tests the notebook cannot
reach"). A test cell that runs in the student's kernel shares a process with
the code it judges, and that code can rewrite it (an IPython input
transformer), replace its checks, patch builtins, trace it or kill it. So the
autograder (:class:`.execute.SafeExecute`) sends only the student's cells and
the read-only setup cell to the kernel; each test cell, taken from the
gradebook (never from the submission), runs here, in the grader, in a fresh
namespace made of the setup cell's names and, for every other name the cell
reads, the notebook's value as plain data or a :class:`.remote.Remote` proxy.
The notebook's code still runs in its kernel; only data comes back, and the
verdict (an exception, or none) is reached by code the notebook never touches.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import linecache
import time
import traceback
import warnings

import nbformat
import torch

from .remote import Channel, KernelDied

_BUILTIN_NAMES = set(dir(builtins))


def student_names(source: str, known) -> list[str]:
    """Names ``source`` reads but never binds, and that ``known`` (the setup cell's names) and builtins lack:
    the ones that come from the notebook."""
    loaded, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(known) - _BUILTIN_NAMES)


@contextlib.contextmanager
def judging(channel: Channel):
    """hwcheck's checks travel with each call into the kernel while the grader runs a test (one thread here)."""
    from . import hwcheck

    previous, threads = hwcheck._judge, torch.get_num_threads()
    hwcheck._judge = channel
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, category, *_, **__: print(f"{category.__name__}: {message}")
            yield
    finally:
        hwcheck._judge = previous
        torch.set_num_threads(threads)


class Judge:
    """Runs one submission's trusted cells in the grader: :meth:`setup` for read-only cells, :meth:`test` for tests."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.base: dict = {"__name__": "__main__"}

    def setup(self, source: str) -> str | None:
        """Run a read-only setup cell here too, for its names (imports); returns why it failed, or None."""
        try:
            with judging(self.channel), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, "<setup cell>", "exec"), self.base)
        except Exception as exc:  # noqa: BLE001  (reported, and the tests then fail on the missing names)
            return f"{type(exc).__name__}: {exc}"
        return None

    def test(self, grade_id: str, source: str, seconds: float | None) -> list:
        """Run a test cell here; its outputs as nbformat outputs (stdout, stderr, then the error, if any)."""
        filename = f"<test cell {grade_id}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace, out, err, error = dict(self.base), io.StringIO(), io.StringIO(), None
        self.channel.deadline = time.monotonic() + seconds if seconds else None
        self.channel.printed = 0
        try:
            with judging(self.channel), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    namespace.update(self._notebook_values(source))
                    exec(compile(source, filename, "exec"), namespace)
                except Exception as exc:  # noqa: BLE001  (any failure is the test's verdict)
                    error = exc
        finally:
            self.channel.deadline = None
            self._release()
        outputs = [nbformat.v4.new_output("stream", name=name, text=buffer.getvalue())
                   for name, buffer in (("stdout", out), ("stderr", err)) if buffer.getvalue()]
        if error is not None:
            outputs.append(error_output(error, filename))
        return outputs

    def _notebook_values(self, source: str) -> dict:
        names = student_names(source, self.base)
        if not names:
            return {}
        answer = self.channel.request({"op": "lookup", "names": names})
        return {name: self.channel.decode(value) for name, value in answer.get("values", {}).items() if name in names}

    def _release(self) -> None:
        if not self.channel.dead:
            try:
                self.channel.request({"op": "release"})
            except Exception:  # noqa: BLE001  (a kernel that cannot release is judged by the next cell)
                pass


def error_output(exc: BaseException, filename: str) -> nbformat.NotebookNode:
    """An nbformat error output: the test cell's own frames, then the notebook's frames, then the error."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = ["Traceback (most recent call last):"]
    lines += [f"  {filename[1:-1]}, line {f.lineno}{'' if f.name == '<module>' else f', in {f.name}'}\n"
              f"    {(f.line or '').strip()}" for f in frames]
    notebook = getattr(exc, "__gnnrec_traceback__", None)
    if notebook:
        lines += ["In the notebook's code:", *notebook]
    ename = type(exc).__name__
    lines.append(f"{ename}: {exc}")
    return nbformat.v4.new_output("error", ename=ename, evalue=str(exc), traceback=lines)


__all__ = ["Judge", "KernelDied", "error_output", "judging", "student_names"]
