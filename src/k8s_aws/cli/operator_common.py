"""What the operator's commands share: one readable error line, comma-or-repeat lists."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def fail(error: Exception | str, code: int = 2) -> NoReturn:
    """A user mistake or a missing setting: one line, no traceback. Exit 2 for bad input and
    missing configuration (nothing was changed), 1 for a failure while acting."""
    text = str(error).strip()
    click.echo(f"Error: {text.splitlines()[0] if text else type(error).__name__}", err=True)
    sys.exit(code)


def split_list(*values: str) -> tuple[str, ...]:
    """`a,b` and repeated flags alike, in order, without empties or repeats."""
    items = [item.strip() for value in values for item in value.split(",")]
    return tuple(dict.fromkeys(item for item in items if item))
