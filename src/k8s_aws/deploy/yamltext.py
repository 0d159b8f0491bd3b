"""YAML text that YAML 1.1 readers (BOSH's and kubectl's gopkg.in/yaml.v2) read back as we
meant it: every string they would take for a boolean, null or number is quoted (a cluster or
image named `n` would otherwise become `false`), and multi-line strings are literal blocks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

# Plain scalars gopkg.in/yaml.v2 resolves to something other than a string.
_YAML11_NOT_STRINGS = re.compile(
    r"^(?:y|n|yes|no|true|false|on|off|null|~|)$|^[-+]?(?:[0-9][0-9_]*)?\.?[0-9][0-9_:.eE+-]*$"
    r"|^0[xob]|^[-+]?\.(?:inf|nan)$",
    re.IGNORECASE,
)


class Yaml11SafeDumper(yaml.SafeDumper):
    """Quotes every string YAML 1.1 would read as a boolean, null or number."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    style = "'" if _YAML11_NOT_STRINGS.match(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Yaml11SafeDumper.add_representer(str, _represent_str)


def comment(header: str) -> str:
    """`header` as `#` lines."""
    return "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=Yaml11SafeDumper, sort_keys=False, default_flow_style=False)


def dump_all(documents: Iterable[Any]) -> str:
    """Documents, each opened by `---` (so the text appends to another stream as it is)."""
    return "".join(f"---\n{dump(doc)}" for doc in documents)
