"""Reading nbgrader's verdict back: a :class:`Result` per student, with a score and messages per part.

Introduced with the homework. :func:`collect_results` reads the gradebook and
the autograded notebooks of a course folder; :func:`format_result` prints the
per-part table ``gnnrec grade`` shows; :func:`scan_cells` and
:func:`edited_cells` flag what a person should look at.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..datasets.cache import atomic_write_text

MESSAGE_LINES = 40  # lines of a failed test's message kept for the table (a list of failed cases)
SUSPICIOUS = {  # pattern in a student's cell -> why a person should look at it
    r"(?:\w+\.)?\b_exit\b|\bos\.kill\b": "os._exit kills the kernel",
    r"set_custom_exc|\bexcepthook\b|showtraceback|\brun_cell\b": "changes how errors are reported",
    r"input_transformers|ast_transformers|events\.register|register_magic": "changes how later cells run",
    r"\bsetprofile\b|\bsettrace\b|sys\._getframe|\bf_locals\b|\bf_back\b": "changes or reads the interpreter's frames",
    r"\bhwcheck\b": "touches the test helpers",
    r"sys\.modules|\bimportlib\b|\bbuiltins\b|__code__|\bctypes\b": "edits modules or code objects",
    r"\bsolutions\b|\bgradebook\b|\bsqlite3?\b|\bautograded\b": "reads or writes the course's files",
    r"\bsubprocess\b|\bsocket\b|\burllib\b|\brequests\b": "starts programs or opens connections",
}


@dataclass
class Part:
    """One ``## Part X`` of a homework: its cells' points and what went wrong."""

    name: str
    title: str = ""
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0  # points graded by a person, not included in score
    messages: list = field(default_factory=list)


@dataclass
class Result:
    """A student's autograde: ``score`` of ``max_score`` autograded points, plus manual points pending."""

    student: str
    homework: str
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0
    parts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # notebook-level: unreadable, not graded, suspicious code


def _part_of(grade_id: str) -> str:
    m = re.match(r"part([A-Z])", grade_id)
    return m.group(1) if m else "-"


def points(n: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``."""
    return f"{n:g} point" + ("" if n == 1 else "s")


def _message(cell) -> str:
    """What a student needs: the error of a failed cell (a time-out before its KeyboardInterrupt). One line,
    unless the error lists several failed cases (``hwcheck.cases``): then its lines, up to MESSAGE_LINES."""
    outputs = cell.get("outputs", [])
    if any(out.output_type == "error" and out.ename == "CellTimeoutError" for out in outputs):
        return "CellTimeoutError: the cell ran past its time limit and was stopped"
    for out in outputs:
        if out.output_type == "error":
            lines = [line[:len(line) - len(line.lstrip())] + " ".join(line.split())
                     for line in str(out.evalue).splitlines() if line.strip()]  # indents kept
            if len(lines) > 1 and re.match(r"\d+ of \d+ .* cases failed", lines[0]):
                kept = [line[:300] for line in lines[:MESSAGE_LINES]]
                more = f"\n... {len(lines) - MESSAGE_LINES} more lines" if len(lines) > MESSAGE_LINES else ""
                return f"{out.ename}: " + "\n".join(kept) + more
            value = " ".join(lines)
            return f"{out.ename}: {value[:300]}" if value else out.ename
        if out.output_type == "stream" and out.name == "stderr":
            return "wrote to stderr (a test cell that does scores zero): " + " ".join(out.text.split())[:200]
    return ""


def scan_cells(nb) -> list[str]:
    """Suspicious code in the student's (solution) cells, for a person to look at; not a verdict."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade") and not meta.get("solution"):
            continue
        for pattern, why in SUSPICIOUS.items():
            hit = re.search(pattern, cell.source)
            if hit:
                found.append(f"cell {meta.get('grade_id', '?')}: {hit.group(0)} ({why})")
    return found


def edited_cells(nb) -> list[str]:
    """Read-only cells whose source no longer matches the checksum nbgrader gave them at release."""
    from nbgrader.utils import compute_checksum

    edited = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") and meta.get("checksum") and compute_checksum(cell) != meta["checksum"]:
            edited.append(f"read-only cell {meta.get('grade_id', '?')} was edited; the original was graded")
    return edited


def collect_results(course, homework: str) -> dict[str, Result]:
    """Scores from the gradebook and messages from the autograded notebooks, per submitted student."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Path(course)
    students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{homework}") if p.is_dir())
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gnnrec") as gb:
        for student in students:
            res = out[student] = Result(student, homework)
            nb_path = course / "autograded" / student / homework / f"{homework}.ipynb"
            sub_path = course / "submitted" / student / homework / f"{homework}.ipynb"
            try:
                submission = gb.find_submission_notebook(homework, homework, student)
            except MissingEntry:
                submission = None
            if not nb_path.is_file() or submission is None:
                res.problems.append(_why_not_graded(sub_path))
                res.max_score = float(gb.find_notebook(homework, homework).max_score)
                continue
            handed_in, graded = nbformat.read(sub_path, as_version=4), nbformat.read(nb_path, as_version=4)
            res.problems.extend(edited_cells(handed_in) + scan_cells(handed_in) + how_graded(graded))
            _fill(res, graded, submission.grades)
            penalty = float(submission.late_submission_penalty or 0)
            if penalty:
                res.score -= penalty
                res.problems.append(f"late submission: {points(penalty)} off")
    return out


def how_graded(nb) -> list[str]:
    """Notes on how an autograded notebook was run: without a sandbox, or into one of the sandbox's limits."""
    from .sandbox import limit_hit

    info = nb.metadata.get("gnnrec", {})
    if info.get("sandbox") is False:
        return ["graded without a sandbox (--no-sandbox): its code could read and change the grader's files"]
    limits, notes = info.get("limits", {}), {}
    values = {"memory": f"{limits.get('memory_mb')} MB", "CPU time": f"{limits.get('cpu_seconds')} s",
              "processes": f"{limits.get('processes')} processes and threads",
              "file size": f"{limits.get('file_mb')} MB"}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = limit_hit(f"{out.get('ename', '')}: {out.get('evalue', '')}") if out.output_type == "error" else None
            if name and name not in notes:
                where = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell")
                notes[name] = f"hit the sandbox's {name} limit ({values[name]}) in {where}; graded as far as it got"
    return list(notes.values())


def _fill(res: Result, nb, grades) -> None:
    """Per-part scores and messages of one autograded notebook."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    titles = _part_titles(nb)
    for grade in grades:
        name = _part_of(grade.name)
        part = res.parts.setdefault(name, Part(name, titles.get(name, "")))
        cell = by_id.get(grade.name)
        if cell is not None and cell.source.lstrip().startswith("# This cell (id:"):
            res.problems.append(f"test cell {grade.name} was missing from the submission and was put back")
        if cell is None and grade.auto_score is None or cell is not None and cell.metadata.nbgrader.get("solution"):
            part.manual += grade.max_score  # a written answer: not part of the autograded score
            if grade.manual_score is not None:
                state = f"graded by a person: {grade.manual_score:g} / {grade.max_score:g}"
            elif grade.auto_score == 0:
                state = "no response (the answer cell is unchanged)"
            else:
                state = f"to be graded by a person ({points(grade.max_score)})"
            part.messages.append(f"{grade.name}: {state}")
            continue
        part.max_score += grade.max_score
        part.score += grade.score
        if grade.score < grade.max_score:
            text = _message(cell) if cell is not None else "cell missing"
            part.messages.append(f"{grade.name}: {text}" if text else grade.name)
    for grade_id, cell in by_id.items():  # an error in the student's own code explains the failed tests
        meta = cell.metadata.get("nbgrader", {}) if grade_id else {}
        text = _message(cell) if meta.get("solution") and not meta.get("grade") else ""
        if text and _part_of(grade_id) in res.parts:
            res.parts[_part_of(grade_id)].messages.insert(0, f"{grade_id} (your code): {text}")
    res.parts = dict(sorted(res.parts.items()))
    res.score = sum(p.score for p in res.parts.values())
    res.max_score = sum(p.max_score for p in res.parts.values())
    res.manual = sum(p.manual for p in res.parts.values())


def _part_titles(nb) -> dict:
    titles = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for m in re.finditer(r"^##\s+Part\s+([A-Z])\b[^:\n]*:?\s*(.*)$", cell.source, flags=re.M):
                titles.setdefault(m.group(1), m.group(2).strip())
    return titles


def _why_not_graded(path: Path) -> str:
    if not path.is_file():
        return f"not graded: no notebook at {path.name}"
    try:
        nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a broken file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"not graded: {path.name} is not a valid notebook (is it valid JSON?): {first[:200]}"
    return "not graded: nbgrader could not process this notebook (see the autograde log)"


def write_missing_feedback(course, homework: str, results: dict[str, Result]) -> list[Path]:
    """A small feedback page for each student nbgrader could not grade, saying why (score 0)."""
    written = []
    for student, res in results.items():
        if not res.problems or not res.problems[0].startswith("not graded"):
            continue
        path = Path(course) / "feedback" / student / homework / f"{homework}.html"
        atomic_write_text(path, f"<html><body><h1>{homework}: not graded</h1><p>Score: 0 / {res.max_score:g}</p>"
                                f"<p>{html.escape(res.problems[0])}</p></body></html>\n")
        written.append(path)
    return written


def _indented(message: str) -> list[str]:
    """A message's lines; the lines after the first indented under it."""
    first, *rest = message.split("\n")
    return [first, *(f"    {line}" for line in rest)]


def format_result(res: Result) -> str:
    """A per-part table: part, points, and the messages of the tests that failed."""
    rows = [("part", "points", "message")]
    for part in res.parts.values():
        score = f"{part.score:g} / {part.max_score:g}" if part.max_score else "-"
        if part.manual:
            score += f" (+{part.manual:g} by hand)"
        msgs = part.messages or ["all tests passed"]
        title = f"{part.name} {part.title}".strip()
        lines = [line for m in msgs for line in _indented(m)]
        rows.append((title[:48], score, lines[0]))
        rows.extend(("", "", line) for line in lines[1:])
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{res.homework} for {res.student}: {res.score:g} / {res.max_score:g} autograded points"
             + (f", {res.manual:g} more graded by hand" if res.manual else "")]
    lines += [f"  {a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows]
    lines += [f"  note: {p}" for p in res.problems]
    return "\n".join(lines)
