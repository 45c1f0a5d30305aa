"""Notebook helpers: record results, run a notebook with parameters, read its records back.

Introduced in lecture 01. A lecture calls :func:`record` on each key result;
the reader sees one quiet line (4 significant digits, long lists summarised)
and the executed notebook keeps the full value as a display output of MIME
type ``application/vnd.gnnrec.record+json`` holding ``{"name": ..., "value": ...}``.
The lecture's checked claims live next door, in ``claims.py``. Tests and ``make course`` run a notebook with
:func:`run_notebook`, which injects parameters after the cell tagged
``parameters`` (as papermill does), and read the values with
:func:`read_records`.
"""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import tempfile
from numbers import Integral, Real
from pathlib import Path

RECORD_MIME = "application/vnd.gnnrec.record+json"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def _jsonable(name: str, value):
    """``value`` as plain JSON types (tensors and numpy scalars included), or a clear error."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # torch tensors, numpy arrays and numpy scalars
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"record {name!r}: value must be finite, got {value}")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(name, v) for k, v in value.items()}
    raise TypeError(f"record {name!r}: value must be a number, string, bool, list or dict "
                    f"(or a tensor/array of numbers), got {type(value).__name__}")


SHOWN_ITEMS = 6  # lists and dicts longer than this are summarised on the page


def compact(value) -> str:
    """A short reading of a recorded value: 4 significant digits, long lists and dicts summarised.

    ``[0.12639, 0.80281, ..., 0.99121]`` with 12 values reads
    ``[0.1264, 0.8028, ..., 0.9912] (12 values)``. What is stored keeps full
    precision; this is only what the page shows.
    """
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (bool, int, str)) or value is None:
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = [json.dumps(v) if isinstance(v, str) else compact(v) for v in value]
        if len(inner) <= SHOWN_ITEMS:
            return "[" + ", ".join(inner) + "]"
        return f"[{inner[0]}, {inner[1]}, ..., {inner[-1]}] ({len(inner)} values)"
    if isinstance(value, dict):
        inner = [f"{k}: {json.dumps(v) if isinstance(v, str) else compact(v)}" for k, v in value.items()]
        if len(inner) <= SHOWN_ITEMS:
            return "{" + ", ".join(inner) + "}"
        return f"{{{inner[0]}, {inner[1]}, ...}} ({len(inner)} entries)"
    return str(value)


def record(name: str, value) -> None:
    """Store ``value`` in the notebook under ``name`` and show it in one quiet line.

    The page shows a compact reading (:func:`compact`); the executed notebook
    keeps the full value as JSON for the tests and the course build. Returns
    nothing, so a ``record`` on a cell's last line is not echoed as the
    cell's result a second time.

    Args:
        name (str): a short key such as ``"mf/recall@20"``; write it as a
            literal string so that grep finds every use of it.
        value: a number, string, bool, or a list/dict of them; tensors and
            numpy values are converted. Non-finite floats are refused, so a
            diverged run cannot be recorded as a result.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"record name must be a non-empty string, got {name!r}")
    stored = _jsonable(name, value)
    from IPython.display import display

    text = f"{name} = {compact(stored)}"
    display({RECORD_MIME: {"name": name, "value": stored}, "text/plain": text,
             "text/html": f'<div style="font-size: smaller; color: #6a737d">{_escape(text)}</div>'}, raw=True)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _load(nb):
    import nbformat

    if isinstance(nb, (str, os.PathLike)):
        return nbformat.read(str(nb), as_version=4)
    return nb


def read_records(nb) -> dict:
    """All records of an executed notebook (a path or an ``nbformat`` node), name -> value.

    A name recorded twice keeps its last value, as re-running a cell would.
    """
    nb = _load(nb)
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RECORD_MIME in data:
                payload = data[RECORD_MIME]
                if isinstance(payload, str):  # some writers store JSON payloads as text
                    payload = json.loads(payload)
                found[payload["name"]] = payload["value"]
    return found


def read_parameters(nb) -> dict:
    """Names assigned in the notebook's ``parameters`` cell and their values (error if it has none or several).

    Literal values (numbers, strings, tuples, ...) are returned as they are
    written; anything else as ``None``.
    """
    nb = _load(nb)
    cells = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"a notebook needs exactly one cell tagged {PARAMETERS_TAG!r}, found {len(cells)}")
    values = {}
    for node in ast.parse(cells[0].source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    values[target.id] = None
    return values


def parameter_names(nb) -> list[str]:
    """Names assigned in the notebook's ``parameters`` cell (error if it has none or several)."""
    return list(read_parameters(nb))


def inject_parameters(nb, parameters: dict):
    """A copy of ``nb`` with a cell setting ``parameters`` right after its ``parameters`` cell.

    Every name must already be assigned in the parameters cell, so a typo
    (``EPOCH=3``) is an error instead of a silently ignored setting.
    """
    import copy

    import nbformat

    nb = copy.deepcopy(_load(nb))
    known = parameter_names(nb)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(f"parameters {unknown} are not set in the notebook's parameters cell (it sets {known})")
    index = next(i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []))
    source = "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    cell.id = INJECTED_TAG
    nb.cells.insert(index + 1, cell)
    return nb


def run_notebook(path, parameters: dict | None = None, *, timeout: int = 600, cwd=None,
                 kernel_name: str = "python3", env: dict | None = None, allow_errors: bool = False):
    """Execute the notebook at ``path`` top to bottom and return the executed ``nbformat`` node.

    Args:
        path: the ``.ipynb`` file.
        parameters (dict, optional): values injected after the ``parameters``
            cell, e.g. ``{"FAST": True}``.
        timeout (int): seconds allowed per cell.
        cwd: working directory of the kernel (default: the notebook's folder).
        kernel_name (str): the Jupyter kernel; ``python3`` is the running
            interpreter's when it comes from the same environment.
        env (dict, optional): extra environment variables for the kernel.
        allow_errors (bool): run every cell even after one raises (the
            errors stay in the outputs; :func:`cell_errors` lists them).

    Raises:
        FileNotFoundError: no such notebook.
        nbclient.exceptions.CellExecutionError: a cell failed (unless
            ``allow_errors``); the message shows the cell and the traceback.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = _load(path)
    if parameters:
        nb = inject_parameters(nb, parameters)
    cwd = Path(cwd) if cwd is not None else path.parent
    saved = {}
    if env:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update({k: str(v) for k, v in env.items()})
    # Local sockets (ipc) in a private folder: no TCP ports, and no warning about unencrypted TCP.
    sockets = tempfile.mkdtemp(prefix="gnnrec-kernel-")
    km = KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(sockets, "kernel"))
    try:
        NotebookClient(nb, km=km, timeout=timeout, kernel_name=kernel_name, allow_errors=allow_errors,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if km.has_kernel:  # nbclient only shuts down kernels it started itself
            km.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def cell_errors(nb) -> list[tuple[int, str]]:
    """``[(cell index, "Name: message")]`` for every code cell whose outputs hold an error."""
    found = []
    for index, cell in enumerate(_load(nb).cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append((index, f"{output.get('ename')}: {output.get('evalue', '')}".rstrip(": ")))
    return found


def strip_outputs(nb):
    """Clear outputs, execution counts and run metadata; keep tags and nbgrader metadata.

    Returns the notebook, changed in place.
    """
    nb = _load(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)
    for key in ("widgets", "papermill"):
        nb.metadata.pop(key, None)
    return nb


def has_outputs(nb) -> bool:
    """True when any code cell carries outputs or an execution count."""
    nb = _load(nb)
    return any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
               for c in nb.cells)


def strip_files(paths) -> list[Path]:
    """Strip every notebook in ``paths`` in place (atomically); returns the ones that changed."""
    import nbformat

    from ..datasets.cache import atomic_write_text

    changed = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"no notebook at {path}")
        nb = _load(path)
        before = nbformat.writes(nb)
        after = nbformat.writes(strip_outputs(nb))
        if after != before:
            atomic_write_text(path, after + ("\n" if not after.endswith("\n") else ""))
            changed.append(path)
    return changed


def to_html(nb, path) -> Path:
    """Render an executed notebook to a standalone HTML file (written atomically)."""
    from nbconvert import HTMLExporter

    from ..datasets.cache import atomic_write_bytes

    body, _ = HTMLExporter().from_notebook_node(_load(nb))
    path = Path(path)
    atomic_write_bytes(path, body.encode("utf-8"))
    return path
