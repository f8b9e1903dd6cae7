"""The ``promptstyles`` command line: :func:`main`, with one module per group of commands. Only this package
prints; the library logs and raises."""

from .main import main

__all__ = ["main"]
