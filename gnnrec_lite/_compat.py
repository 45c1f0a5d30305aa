"""Old import paths that keep working after the package was split into core, lecture, grading and cli.

Notebooks released before the split (a student's copy of hw1, say) import
``gnnrec_lite.hwcheck`` or ``gnnrec_lite.notebook``. A finder on
``sys.meta_path`` serves each old dotted name as the module that now holds
it, so those imports still work, silently: a warning printed in a graded cell
would cost the student points. Nothing inside the package uses these names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED_MODULES = {
    "gnnrec_lite.notebook": "gnnrec_lite.lecture.notebook",
    "gnnrec_lite.plotting": "gnnrec_lite.lecture.plotting",
    "gnnrec_lite.widgets": "gnnrec_lite.lecture.widgets",
    "gnnrec_lite.hwcheck": "gnnrec_lite.grading.hwcheck",
    "gnnrec_lite.nbgrader_plugins": "gnnrec_lite.grading.nbgrader_plugins",
    "gnnrec_lite.train_cli": "gnnrec_lite.cli.train",
}

MOVED_NAMES = {  # module -> {name: the module that now defines it}
    "gnnrec_lite": {"record": "gnnrec_lite.lecture.notebook"},
    "gnnrec_lite.sampling": {
        "HardNegativePool": "gnnrec_lite.negatives.hard",
        "hard_negative_pool": "gnnrec_lite.negatives.hard",
        "DEFAULT_HARD_WINDOW": "gnnrec_lite.negatives.hard",
        "CurriculumSchedule": "gnnrec_lite.negatives.curriculum",
        "distance_weighted_negatives": "gnnrec_lite.negatives.distance",
    },
    "gnnrec_lite.item2item": {"train_pinsage": "gnnrec_lite.train_item2item",
                              "build_encoder": "gnnrec_lite.train_item2item",
                              "Item2ItemResult": "gnnrec_lite.train_item2item"},
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old name by importing the new module and registering it under both names."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module):  # the new module ran when create_module imported it
        pass


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())


def moved_attribute(module: str, name: str):
    """``module.name`` for a name that moved to another module (see ``MOVED_NAMES``), else AttributeError.

    A module whose names moved forwards its ``__getattr__`` here.
    """
    target = MOVED_NAMES.get(module, {}).get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return getattr(importlib.import_module(target), name)
