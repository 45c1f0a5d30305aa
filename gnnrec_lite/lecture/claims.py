"""Claims: a sentence of a lecture checked on the lecture's own run, right below the sentence.

Introduced in lecture 01. A lecture states a result in its text, then checks
it in the next code cell::

    claim("LightGCN beats MF and NGCF on Recall@20",
          lambda: recall["lightgcn"] > max(recall["mf"], recall["ngcf"]),
          checked=not FAST)

The reader sees one quiet line under the cell (``✓ checked on this run``).
The executed notebook keeps the verdict as a display output of MIME type
``application/vnd.gnnrec.claim+json`` holding ``{"sentence", "holds", "note"}``,
with ``holds`` true, false, or null when the claim was not checked.
``make course`` reads them back with :func:`read_claims` and fails on any
claim that does not hold, naming the lecture and the sentence. A claim that
does not hold never raises, so one run reports every failed claim.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .notebook import _escape, _load

CLAIM_MIME = "application/vnd.gnnrec.claim+json"


def _verdict(holds) -> tuple[bool, str]:
    """``(held, note)``: evaluate ``holds`` (a truth value or a zero-argument callable); never raises."""
    try:
        value = holds() if callable(holds) else holds
        if value is None:
            return False, "the check gave None, not a truth value"
        return bool(value), ""
    except Exception as err:  # a bad index or key in a check must name the claim, not stop the notebook
        return False, f"{type(err).__name__}: {err}"


def claim(sentence: str, holds: bool | Callable[[], bool], *, checked: bool = True) -> None:
    """Check that ``sentence`` holds on this run and show the verdict in one quiet line.

    Args:
        sentence (str): what the text says, e.g. ``"MF beats the popularity
            baseline on Recall@20"``.
        holds: a truth value (``bool``, a numpy or torch bool, anything
            ``bool()`` accepts), or a zero-argument callable returning one.
            A callable is evaluated here; any exception it raises makes the
            claim not hold, with the exception named in the note.
        checked (bool): ``False`` when this run cannot produce the evidence
            (lectures pass ``checked=not FAST``); the claim is then recorded
            as not checked and a callable is not called.

    Returns nothing and never raises for a claim that does not hold; a bad
    ``sentence`` is a ``ValueError``.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"claim sentence must be a non-empty string, got {sentence!r}")
    held, note = _verdict(holds) if checked else (None, "")
    if held is None:
        line = "(checked in the full run)"
    elif held:
        line = "✓ checked on this run"
    else:
        line = "✗ does not hold on this run" + (f": {note}" if note else "")
    colour = "#b31d28" if held is False else "#6a737d"
    from IPython.display import display

    display({CLAIM_MIME: {"sentence": sentence, "holds": held, "note": note}, "text/plain": line,
             "text/html": f'<div style="font-size: smaller; color: {colour}">{_escape(line)}</div>'}, raw=True)


def read_claims(nb) -> list[dict]:
    """The claims of an executed notebook (a path or an ``nbformat`` node), in order.

    Each is ``{"sentence": str, "holds": True | False | None, "note": str}``;
    ``holds`` is ``None`` for a claim that was not checked on that run.
    """
    found = []
    for cell in _load(nb).cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(CLAIM_MIME)
            if payload is not None:
                if isinstance(payload, str):  # some writers store JSON payloads as text
                    payload = json.loads(payload)
                found.append({"sentence": payload["sentence"], "holds": payload["holds"],
                              "note": payload.get("note", "")})
    return found
