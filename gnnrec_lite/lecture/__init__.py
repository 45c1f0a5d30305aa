"""Helpers for the lecture notebooks: records and claims, running notebooks, figures and live widgets.

One of the package's three parts (core, lecture helpers, grading); it uses the
core and nothing else. ``notebook`` records results and runs notebooks,
``claims`` states a lecture's checked claims, ``plotting`` draws the course's
figures and ``widgets`` makes them interactive.
"""

from .claims import claim, read_claims
from .notebook import read_records, record

__all__ = ["claim", "read_claims", "read_records", "record"]
