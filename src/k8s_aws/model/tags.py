"""AWS tags as the records carry them: (key, value) pairs, so a record stays hashable."""

from __future__ import annotations

Tags = tuple[tuple[str, str], ...]


class Tagged:
    """A record with AWS tags, and the one way to read one of them."""

    tags: Tags

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)
