"""gnnrec_lite.notebook: records, parameter injection, execution, stripping; and the committed lectures' shape."""

import json
import math
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from gnnrec_lite.lecture import notebook
from gnnrec_lite.lecture.notebook import (
    RECORD_MIME,
    has_outputs,
    inject_parameters,
    parameter_names,
    read_records,
    record,
    run_notebook,
    strip_outputs,
)

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))


@pytest.fixture
def shown(monkeypatch):
    calls = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append((a, k)))
    return calls


def make_nb(*sources, tags=None):
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    return nb


def test_record_emits_the_mime_bundle_and_returns_nothing(shown):
    value = torch.tensor(0.25)
    assert record("mf/recall@20", value) is None  # nothing for a cell to echo
    (bundle,), kwargs = shown[0]
    assert kwargs == {"raw": True}
    assert bundle[RECORD_MIME] == {"name": "mf/recall@20", "value": 0.25}
    assert bundle["text/plain"] == "mf/recall@20 = 0.25"
    json.dumps(bundle[RECORD_MIME])  # plain JSON


def test_record_shows_a_compact_quiet_line_and_stores_full_precision(shown):
    values = [0.126394, 0.802768, 0.807860, 0.771155, 0.755750, 0.725498, 0.712358, 0.687091,
              0.684133, 0.668017, 0.666594, 0.991231]
    record("diffusion/spearman by k", values)
    record("x", 0.123456789)
    (long_list,), _ = shown[0]
    (number,), _ = shown[1]
    assert long_list[RECORD_MIME] == {"name": "diffusion/spearman by k", "value": values}  # every digit kept
    assert number[RECORD_MIME]["value"] == 0.123456789
    assert long_list["text/plain"] == "diffusion/spearman by k = [0.1264, 0.8028, ..., 0.9912] (12 values)"
    assert number["text/plain"] == "x = 0.1235"
    for bundle in (long_list, number):
        assert "<b>" not in bundle["text/html"] and "0.123456789" not in bundle["text/html"]
    assert "[0.1264, 0.8028, ..., 0.9912] (12 values)" in long_list["text/html"]


@pytest.mark.parametrize("value, shown_as", [
    (0.30072587, "0.3007"),
    (614137198.02, "6.141e+08"),
    (1.4901161193847656e-08, "1.49e-08"),
    (100000, "100000"),
    (True, "True"),
    ("Star Wars (1977)", "Star Wars (1977)"),
    ([3, 323, 2371, 2599], "[3, 323, 2371, 2599]"),
    (list(range(7)), "[0, 1, ..., 6] (7 values)"),
    ([[0.123456, 1.0], [2.0, 3.0]], "[[0.1235, 1], [2, 3]]"),
    (["Fargo (1996)", "Godfather, The (1972)"], '["Fargo (1996)", "Godfather, The (1972)"]'),
    ({"a": ["mean", "max"], "b": ["max"]}, '{a: ["mean", "max"], b: ["max"]}'),
    ({str(i): i / 3 for i in range(8)}, "{0: 0, 1: 0.3333, ...} (8 entries)"),
])
def test_compact_formatting(value, shown_as):
    assert notebook.compact(value) == shown_as


def test_record_converts_numpy_and_nested_values(shown):
    record("x", {"a": np.int64(3), "b": [np.float32(0.5), True, "s"], "c": np.arange(3)})
    assert shown[0][0][0][RECORD_MIME]["value"] == {"a": 3, "b": [0.5, True, "s"], "c": [0, 1, 2]}


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_record_rejects_bad_names(shown, name):
    with pytest.raises(ValueError, match="record name"):
        record(name, 1)


def test_record_rejects_non_finite_and_odd_values(shown):
    with pytest.raises(ValueError, match="'loss'.*finite"):
        record("loss", math.nan)
    with pytest.raises(ValueError, match="finite"):
        record("loss", [1.0, math.inf])
    with pytest.raises(TypeError, match="'obj'.*object"):
        record("obj", object())
    assert shown == []


def test_parameter_names_and_errors():
    nb = make_nb("import os", "FAST = False\nSEED: int = 0\nEPOCHS = 3  # comment", tags={1: ["parameters"]})
    assert parameter_names(nb) == ["FAST", "SEED", "EPOCHS"]
    assert notebook.read_parameters(nb) == {"FAST": False, "SEED": 0, "EPOCHS": 3}
    assert notebook.read_parameters(make_nb("N = len('ab')", tags={0: ["parameters"]})) == {"N": None}
    with pytest.raises(ValueError, match="exactly one cell tagged 'parameters', found 0"):
        parameter_names(make_nb("x = 1"))
    two = make_nb("a = 1", "b = 2", tags={0: ["parameters"], 1: ["parameters"]})
    with pytest.raises(ValueError, match="found 2"):
        parameter_names(two)


def test_inject_parameters_places_a_cell_after_the_parameters_cell():
    nb = make_nb("import os", "FAST = False\nEPOCHS = 3", "print(FAST)", tags={1: ["parameters"]})
    out = inject_parameters(nb, {"FAST": True, "EPOCHS": 1})
    assert len(nb.cells) == 3  # the original is untouched
    assert out.cells[2].metadata["tags"] == ["injected-parameters"]
    assert "FAST = True\nEPOCHS = 1" in out.cells[2].source
    with pytest.raises(ValueError, match=r"\['EPOCH'\] are not set"):
        inject_parameters(nb, {"EPOCH": 1})


def test_run_notebook_injects_executes_and_records(tmp_path):
    nb = make_nb("FAST = False\nN = 3", "from gnnrec_lite.lecture.notebook import record\nrecord('n', N * 2)\n"
                 "record('fast', FAST)", tags={0: ["parameters"]})
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    assert read_records(run_notebook(path)) == {"n": 6, "fast": False}
    executed = run_notebook(path, {"N": 5, "FAST": True})
    assert read_records(executed) == {"n": 10, "fast": True}
    assert not has_outputs(nbformat.read(path, 4))  # the file on disk is not changed


def test_run_notebook_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        run_notebook(tmp_path / "missing.ipynb")
    path = tmp_path / "bad.ipynb"
    nbformat.write(make_nb("raise ValueError('boom in cell')"), path)
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="boom in cell"):
        run_notebook(path)


def test_read_records_keeps_the_last_value_of_a_name():
    nb = make_nb("", "")
    for cell, value in zip(nb.cells, (1, 2)):
        cell.outputs = [nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": "a", "value": value},
                                                                      "text/plain": "a"})]
    assert read_records(nb) == {"a": 2}


def test_strip_outputs_keeps_tags_and_nbgrader_metadata():
    nb = make_nb("print(1)", tags={0: ["parameters"]})
    cell = nb.cells[0]
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "a", "points": 2}
    cell.metadata["execution"] = {"iopub.status.busy": "x"}
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    cell.execution_count = 4
    strip_outputs(nb)
    assert not has_outputs(nb)
    assert cell.metadata == {"tags": ["parameters"], "nbgrader": {"grade": True, "grade_id": "a", "points": 2}}


def test_to_html_writes_a_file(tmp_path):
    out = notebook.to_html(make_nb("1 + 1"), tmp_path / "x" / "n.html")
    assert out.read_text().lstrip().lower().startswith("<!doctype html>")


# ------------------------------------------------------------------------------------------- committed lectures
def test_there_are_lectures():
    assert len(LECTURES) >= 3


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_committed_lecture_is_clean_and_parameterised(path):
    nb = nbformat.read(path, 4)
    nbformat.validate(nb)
    assert not has_outputs(nb), f"{path.name} was committed with outputs: run strip_outputs on it"
    assert {"FAST", "SEED", "EPOCHS"} <= set(parameter_names(nb))
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# Lecture")
    assert "After this lecture you can" in first.source and "Assumes" in first.source
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text and "## Exercises" in text and text.index("## Summary") < text.index("## Exercises")
    tags = [set(c.metadata.get("tags", [])) for c in nb.cells]
    assert any("exercise" in t for t in tags) and any("exercise-check" in t for t in tags)
    assert "record(" in "".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_every_lecture_has_a_test_file(path):
    number = path.stem.split("_")[0]
    assert (ROOT / "tests" / f"test_lecture{number}.py").is_file()


def test_strip_command_cleans_files_in_place(tmp_path, capsys):
    nb = make_nb("print(1)", tags={0: ["parameters"]})
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    from gnnrec_lite import cli

    assert cli.main(["strip", str(path)]) == 0
    assert f"stripped {path}" in capsys.readouterr().out
    clean = nbformat.read(path, 4)
    assert not has_outputs(clean) and clean.cells[0].metadata["tags"] == ["parameters"]
    assert notebook.strip_files([path]) == []  # already clean: untouched
    with pytest.raises(FileNotFoundError, match="no notebook"):
        notebook.strip_files([tmp_path / "none.ipynb"])


def test_run_notebook_leaves_no_kernel_running(tmp_path):
    import psutil

    path = tmp_path / "pid.ipynb"
    nbformat.write(make_nb("import os\nfrom gnnrec_lite.lecture.notebook import record\n"
                           "record('pid', os.getpid())"), path)
    pid = read_records(run_notebook(path))["pid"]
    assert pid != os.getpid()
    try:
        proc = psutil.Process(pid)
        proc.wait(timeout=10)  # a kernel that is shutting down gets a moment
    except psutil.NoSuchProcess:
        pass
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
