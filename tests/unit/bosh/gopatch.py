"""A small go-patch interpreter (BOSH ops files) for the op shapes our generator emits:
`replace` with `name=value` array matching, optional `?` segments, `-` append and `~1`."""

from __future__ import annotations

from typing import Any


class PatchError(ValueError):
    pass


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _tokens(path: str) -> list[str]:
    if not path.startswith("/"):
        raise PatchError(f"path {path!r} must start with /")
    return [_unescape(t) for t in path[1:].split("/")]


def _replace(doc: Any, tokens: list[str], value: Any, optional: bool = False) -> None:
    head, rest = tokens[0], tokens[1:]
    optional = optional or head.endswith("?")
    key = head.rstrip("?")
    if isinstance(doc, list):
        if key == "-":
            if rest:
                raise PatchError("'-' must be the last segment")
            doc.append(value)
            return
        if "=" not in key:
            raise PatchError(f"array segment {key!r} needs name=value")
        field, _, wanted = key.partition("=")
        found = [i for i, item in enumerate(doc) if isinstance(item, dict)
                 and item.get(field) == wanted]
        if len(found) != 1:
            raise PatchError(f"expected one item {key!r}, found {len(found)}")
        if not rest:
            doc[found[0]] = value
            return
        _replace(doc[found[0]], rest, value, optional)
        return
    if not isinstance(doc, dict):
        raise PatchError(f"cannot descend into {type(doc).__name__} at {key!r}")
    if not rest:
        doc[key] = value
        return
    if key not in doc:
        if not optional:
            raise PatchError(f"missing key {key!r}")
        doc[key] = [] if rest[0] == "-" or "=" in rest[0] else {}
    _replace(doc[key], rest, value, optional)


def apply(manifest: Any, ops: list[dict[str, Any]]) -> Any:
    for op in ops:
        if op.get("type") != "replace":
            raise PatchError(f"unsupported op type {op.get('type')!r}")
        _replace(manifest, _tokens(op["path"]), op["value"])
    return manifest
