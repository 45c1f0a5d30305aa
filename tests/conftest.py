"""Fixtures shared by several test files."""

import pytest


@pytest.fixture(scope="session")
def split():
    """MovieLens-100K split as the lectures split it: per-user random 80/20, seed 0 (their SEED)."""
    import gnnrec_lite as gl

    return gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
