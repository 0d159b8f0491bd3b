"""A test-only interpreter of BOSH ops files that follows go-patch v0.2.0 (the engine bosh-cli
v7 pins), refusals included: the real `bosh interpolate` cannot be built here (its module is
not served by the Go proxy), and an interpreter that accepts what BOSH rejects would hide bugs.

Rules (shared/reference/bosh-and-iam.md, "The ops-file engine's rules"):
- a path is `/`-separated tokens, `~0` is `~`, `~1` is `/`, `~7` is `:`; a bare `:` separates
  modifiers (`prev`, `next`, `before`, `after`); the empty path is the document root;
- an all-digit token is an array index (never a map key); `-` as the last token appends;
  `key=value` selects the one array item whose `key` equals `value` (none or several: error);
- a trailing `?` makes that token optional and carries to every later token; `replace` on a
  missing map key without `?` is an error (the final one too), with `?` it is created;
  `key=value?` with no match appends `{key: value}` and continues into it (or, last, appends
  the value);
- types `replace`, `remove` (an absent optional target is a no-op), `test`;
- documents are YAML 1.1 as gopkg.in/yaml.v2 reads them (`y`, `n`, `on`, `off` are booleans).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import yaml


class PatchError(ValueError):
    pass


MODIFIERS = ("prev", "next", "before", "after")


@dataclass(frozen=True)
class Index:
    index: int
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AfterLast:
    pass


@dataclass(frozen=True)
class Matching:
    key: str
    value: str
    optional: bool
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Key:
    key: str
    optional: bool


Token = Index | AfterLast | Matching | Key


@dataclass(frozen=True)
class Pointer:
    text: str
    tokens: tuple[Token, ...] = field(default=())


_ESCAPES = {"~0": "~", "~1": "/", "~7": ":"}


def _unescape(token: str) -> str:
    """One pass, left to right, as Go's strings.Replacer: `~01` is `~1`, not `/`."""
    return re.sub(r"~[017]", lambda m: _ESCAPES[m.group(0)], token)


def parse_pointer(path: str) -> Pointer:
    if path == "":
        return Pointer(path)
    if not path.startswith("/"):
        raise PatchError(f"Expected to start with '/' in path {path!r}")
    pieces = path.split("/")[1:]
    tokens: list[Token] = []
    optional = False
    for position, raw in enumerate(pieces):
        last = position == len(pieces) - 1
        head, *mods = raw.split(":")
        for mod in mods:
            if mod not in MODIFIERS:
                raise PatchError(
                    "Expected to find one of the following modifiers: 'prev', 'next', "
                    f"'before', or 'after' but found {mod!r}"
                )
        tok = _unescape(head)
        if last and tok == "-":
            if mods:
                raise PatchError("Expected not to find any modifiers with after last index token")
            tokens.append(AfterLast())
            continue
        if re.fullmatch(r"[+-]?[0-9]+", tok):
            tokens.append(Index(int(tok), tuple(mods)))
            continue
        if tok.endswith("?"):
            optional = True
        key, eq, value = tok.partition("=")
        if eq:
            value = value.removesuffix("?") if optional else value
            tokens.append(Matching(key, value, optional, tuple(mods)))
            continue
        if mods:
            raise PatchError("Expected not to find any modifiers with key token")
        tokens.append(Key(tok.removesuffix("?") if optional else tok, optional))
    return Pointer(path, tuple(tokens))


def _where(tokens: tuple[Token, ...], upto: int, pointer: Pointer) -> str:
    return "/" + "/".join(pointer.text.split("/")[1:upto + 1])


def _index(position: int, modifiers: tuple[str, ...], items: list[Any], path: str) -> int:
    for mod in modifiers:
        if mod == "prev":
            position -= 1
        elif mod == "next":
            position += 1
        else:
            raise PatchError(f"Expected not to find modifier {mod!r} at path {path!r}")
    if position < 0:
        position += len(items)
    if not 0 <= position < len(items):
        raise PatchError(
            f"Expected to find array index '{position}' but found array of length "
            f"'{len(items)}' for path {path!r}"
        )
    return position


def _insert(items: list[Any], position: int, modifiers: tuple[str, ...], value: Any,
            path: str) -> list[Any]:
    """The last token of a replace on an array item: replace it, or insert before/after."""
    placement = [m for m in modifiers if m in ("before", "after")]
    moves = tuple(m for m in modifiers if m not in ("before", "after"))
    if len(placement) > 1:
        raise PatchError(f"Expected to find at most one of 'before' or 'after' in {path!r}")
    position = _index(position, moves, items, path)
    if placement == ["before"]:
        return [*items[:position], value, *items[position:]]
    if placement == ["after"]:
        return [*items[:position + 1], value, *items[position + 1:]]
    return [*items[:position], value, *items[position + 1:]]


def _matches(items: list[Any], token: Matching) -> list[int]:
    return [i for i, item in enumerate(items)
            if isinstance(item, dict) and item.get(token.key) == token.value]


def _array(obj: Any, path: str) -> list[Any]:
    if not isinstance(obj, list):
        raise PatchError(f"Expected to find an array at path {path!r} but found "
                         f"'{type(obj).__name__}'")
    return obj


def _map(obj: Any, path: str) -> dict[Any, Any]:
    if not isinstance(obj, dict):
        raise PatchError(f"Expected to find a map at path {path!r} but found "
                         f"'{type(obj).__name__}'")
    return obj


class _Slot:
    """Where the current object lives, so it can be replaced whole (arrays are values)."""

    def __init__(self, holder: Any, key: Any) -> None:
        self.holder, self.key = holder, key

    def set(self, value: Any) -> None:
        self.holder[self.key] = value


Step = tuple[_Slot, Any]


def _replace_matching(token: Matching, obj: Any, slot: _Slot, last: bool, value: Any,
                      path: str) -> Step:
    items = _array(obj, path)
    found = _matches(items, token)
    if token.optional and not found:
        if last:
            slot.set([*items, value])
            return slot, None
        new_item: dict[Any, Any] = {token.key: token.value}
        grown = [*items, new_item]
        slot.set(grown)
        return _Slot(grown, len(grown) - 1), new_item
    if len(found) != 1:
        raise PatchError(f"Expected to find exactly one matching array item for path "
                         f"{path!r} but found {len(found)}")
    if last:
        slot.set(_insert(items, found[0], token.modifiers, value, path))
        return slot, None
    position = _index(found[0], token.modifiers, items, path)
    return _Slot(items, position), items[position]


def _replace_key(token: Key, following: Token | None, obj: Any, value: Any, path: str,
                 next_path: str) -> Step:
    mapping = _map(obj, path)
    if token.key not in mapping and not token.optional:
        raise PatchError(f"Expected to find a map key {token.key!r} for path {path!r}")
    if following is None:
        mapping[token.key] = value
        return _Slot(mapping, token.key), None
    if token.key not in mapping:
        if isinstance(following, (AfterLast, Matching)):
            mapping[token.key] = []
        elif isinstance(following, Key):
            mapping[token.key] = {}
        else:
            raise PatchError("Expected to find key, matching index or after last index "
                             f"token at path {next_path!r}")
    return _Slot(mapping, token.key), mapping[token.key]


def replace(doc: Any, pointer: Pointer, value: Any) -> Any:
    tokens = pointer.tokens
    value = copy.deepcopy(value)
    if not tokens:
        return value
    root = [doc]
    slot, obj = _Slot(root, 0), doc
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        path = _where(tokens, i + 1, pointer)
        if isinstance(token, Index):
            items = _array(obj, path)
            if last:
                slot.set(_insert(items, token.index, token.modifiers, value, path))
            else:
                position = _index(token.index, token.modifiers, items, path)
                slot, obj = _Slot(items, position), items[position]
        elif isinstance(token, AfterLast):
            items = _array(obj, path)
            if not last:
                raise PatchError(f"Expected after last index token to be last in path "
                                 f"{pointer.text!r}")
            slot.set([*items, value])
        elif isinstance(token, Matching):
            slot, obj = _replace_matching(token, obj, slot, last, value, path)
        else:
            following = None if last else tokens[i + 1]
            slot, obj = _replace_key(token, following, obj, value, path,
                                     _where(tokens, i + 2, pointer))
    return root[0]


def remove(doc: Any, pointer: Pointer) -> Any:
    tokens = pointer.tokens
    if not tokens:
        raise PatchError("Cannot remove entire document")
    root = [doc]
    slot, obj = _Slot(root, 0), doc
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        path = _where(tokens, i + 1, pointer)
        if isinstance(token, (Index, Matching)):
            items = _array(obj, path)
            if isinstance(token, Matching):
                found = _matches(items, token)
                if token.optional and not found:
                    return root[0]
                if len(found) != 1:
                    raise PatchError(f"Expected to find exactly one matching array item for "
                                     f"path {path!r} but found {len(found)}")
                position = _index(found[0], token.modifiers, items, path)
            else:
                position = _index(token.index, token.modifiers, items, path)
            if last:
                slot.set([*items[:position], *items[position + 1:]])
            else:
                slot, obj = _Slot(items, position), items[position]
        elif isinstance(token, Key):
            mapping = _map(obj, path)
            if token.key not in mapping:
                if token.optional:
                    return root[0]
                raise PatchError(f"Expected to find a map key {token.key!r} for path {path!r}")
            if last:
                del mapping[token.key]
            else:
                slot, obj = _Slot(mapping, token.key), mapping[token.key]
        else:
            raise PatchError(f"Expected not to find token '-' in remove path {pointer.text!r}")
    return root[0]


def find(doc: Any, pointer: Pointer) -> Any:
    obj = doc
    for i, token in enumerate(pointer.tokens):
        path = _where(pointer.tokens, i + 1, pointer)
        if isinstance(token, Index):
            items = _array(obj, path)
            obj = items[_index(token.index, token.modifiers, items, path)]
        elif isinstance(token, Matching):
            items = _array(obj, path)
            found = _matches(items, token)
            if len(found) != 1:
                raise PatchError(f"Expected to find exactly one matching array item for path "
                                 f"{path!r} but found {len(found)}")
            obj = items[_index(found[0], token.modifiers, items, path)]
        elif isinstance(token, Key):
            mapping = _map(obj, path)
            if token.key not in mapping:
                if token.optional:
                    return None
                raise PatchError(f"Expected to find a map key {token.key!r} for path {path!r}")
            obj = mapping[token.key]
        else:
            raise PatchError(f"Expected not to find token '-' in find path {pointer.text!r}")
    return obj


def apply_op(doc: Any, op: Any) -> Any:
    if not isinstance(op, dict):
        raise PatchError(f"Expected an operation to be a map, found {op!r}")
    kind, path = op.get("type"), op.get("path")
    if path is None:
        raise PatchError(f"Missing path in operation {op!r}")
    pointer = parse_pointer(path)
    if kind == "replace":
        if "value" not in op:
            raise PatchError(f"Missing value in replace operation for path {path!r}")
        return replace(doc, pointer, op["value"])
    if kind == "remove":
        if "value" in op:
            raise PatchError(f"Cannot specify value in remove operation for path {path!r}")
        return remove(doc, pointer)
    if kind == "test":
        if op.get("absent"):
            try:
                find(doc, pointer)
            except PatchError:
                return doc
            raise PatchError(f"Expected to not find {path!r}")
        if find(doc, pointer) != op.get("value"):
            raise PatchError(f"Found value does not match expected value for path {path!r}")
        return doc
    raise PatchError(f"Unknown operation with type {kind!r}")


def apply(manifest: Any, ops: list[Any]) -> Any:
    if not isinstance(ops, list):
        raise PatchError("Expected ops file to be an array of operations")
    for position, op in enumerate(ops):
        try:
            manifest = apply_op(manifest, op)
        except PatchError as exc:
            raise PatchError(f"Error from opDefinitions[{position}]: {exc}") from exc
    return manifest


class Yaml11Loader(yaml.SafeLoader):
    """YAML as gopkg.in/yaml.v2 reads it: PyYAML's YAML 1.1 plus `y`/`n` booleans."""


Yaml11Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE"
               r"|on|On|ON|off|Off|OFF)$"),
    list("yYnNtTfFoO"),
)
_BOOLS = {"y": True, "yes": True, "true": True, "on": True,
          "n": False, "no": False, "false": False, "off": False}


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return _BOOLS[str(loader.construct_scalar(node)).lower()]


Yaml11Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Yaml11Loader)  # a SafeLoader subclass
