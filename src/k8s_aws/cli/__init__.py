"""Entry points: parse flags, build one frozen settings object, call in."""
