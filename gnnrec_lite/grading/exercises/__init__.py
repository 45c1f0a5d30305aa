"""Self-checking lecture exercises: ``check("05-2", my_fn)`` in a lecture, ``gnnrec check`` for a whole notebook.

See :mod:`~gnnrec_lite.grading.exercises.base`; each ``lectureLL`` module
holds that lecture's checks.
"""

from .base import EXERCISE_MIME, EXERCISES, Exercise, NotAttempted, Wrong, check, judge, load_all, read_exercises

__all__ = ["EXERCISES", "EXERCISE_MIME", "Exercise", "NotAttempted", "Wrong", "check", "judge", "load_all",
           "read_exercises"]
