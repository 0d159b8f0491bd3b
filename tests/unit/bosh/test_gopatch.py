"""The test interpreter follows go-patch v0.2.0 rule by rule, refusals included: one
parametrized test per rule of shared/reference/bosh-and-iam.md ("The ops-file engine's
rules"). Each case is (document, ops, expected document) or (document, ops, the error)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.bosh import gopatch

Case = tuple[Any, list[dict[str, Any]], Any]


def refused(match: str) -> Any:
    return pytest.raises(gopatch.PatchError, match=match)


def check(doc: Any, ops: list[dict[str, Any]], expected: Any) -> None:
    if isinstance(expected, type(pytest.raises(ValueError))):
        with expected:
            gopatch.apply(copy.deepcopy(doc), ops)
        return
    assert gopatch.apply(copy.deepcopy(doc), ops) == expected


def r(path: str, value: Any = "v") -> dict[str, Any]:
    return {"type": "replace", "path": path, "value": value}


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"a": 1}, [r("/a", 2)], {"a": 2}),
    ({"a": {"b": 1}}, [r("/a/b", 2)], {"a": {"b": 2}}),
    # A missing final key without `?` is an error, as is a missing key on the way.
    ({"a": {}}, [r("/a/b")], refused("map key 'b'")),
    ({}, [r("/a/b")], refused("map key 'a'")),
    # With `?` it is created (maps for a following key).
    ({"a": {}}, [r("/a/b?")], {"a": {"b": "v"}}),
    ({}, [r("/a?/b")], {"a": {"b": "v"}}),
])
def test_replace_needs_the_key_unless_optional(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    # `?` carries to every later token: b and c are optional too.
    ({}, [r("/a?/b/c")], {"a": {"b": {"c": "v"}}}),
    ({"l": []}, [r("/l/name=x?/k/deep")], {"l": [{"name": "x", "k": {"deep": "v"}}]}),
    # Before the `?` nothing is optional.
    ({}, [r("/a/b?/c")], refused("map key 'a'")),
])
def test_optional_carries_to_every_later_token(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"l": [{"name": "a", "x": 1}]}, [r("/l/name=a/x", 2)], {"l": [{"name": "a", "x": 2}]}),
    # No match, or several, without `?`: an error.
    ({"l": [{"name": "a"}]}, [r("/l/name=b/x")], refused("found 0")),
    ({"l": [{"name": "a"}, {"name": "a"}]}, [r("/l/name=a/x")], refused("found 2")),
    # With `?` and no match: a new item {key: value}, continued into...
    ({"l": [{"name": "a"}]}, [r("/l/name=b?/x", 1)],
     {"l": [{"name": "a"}, {"name": "b", "x": 1}]}),
    # ...or, as the last token, the value appended as it is.
    ({"l": []}, [r("/l/name=b?", {"name": "b", "y": 2})], {"l": [{"name": "b", "y": 2}]}),
    # With `?` and a match: the item is replaced.
    ({"l": [{"name": "b", "y": 1}]}, [r("/l/name=b?", {"name": "b"})], {"l": [{"name": "b"}]}),
    # Values compare as strings: an integer 1 is not "1".
    ({"l": [{"id": 1}]}, [r("/l/id=1/x")], refused("found 0")),
    # Several matches are an error even with `?`.
    ({"l": [{"n": "a"}, {"n": "a"}]}, [r("/l/n=a?/x")], refused("found 2")),
])
def test_key_value_selects_exactly_one_item_or_appends_with_optional(
    doc: Any, ops: Any, expected: Any
) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"l": ["a", "b"]}, [r("/l/1", "c")], {"l": ["a", "c"]}),
    ({"l": [{"k": 1}]}, [r("/l/0/k", 2)], {"l": [{"k": 2}]}),
    ({"l": ["a"]}, [r("/l/3")], refused("array index '3'")),
    # An all-digit token is never a map key, even where one exists.
    ({"m": {"1": "a"}}, [r("/m/1")], refused("Expected to find an array")),
    ({"tags": {}}, [r("/tags/123")], refused("Expected to find an array")),
    # With a `?` the token is no number: a (created) key.
    ({"tags": {}}, [r("/tags/123?")], {"tags": {"123": "v"}}),
    # `-` as the last token appends; anywhere else it is a plain key.
    ({"l": ["a"]}, [r("/l/-", "b")], {"l": ["a", "b"]}),
    ({"m": {"-": {"x": 1}}}, [r("/m/-/x", 2)], {"m": {"-": {"x": 2}}}),
    ({"l": [["a"]]}, [r("/l/-/0")], refused("Expected to find a map")),
])
def test_numeric_tokens_are_indexes_and_dash_appends(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    # `:` separates modifiers...
    ({"l": ["a", "b"]}, [r("/l/0:before", "z")], {"l": ["z", "a", "b"]}),
    ({"l": ["a", "b"]}, [r("/l/0:after", "z")], {"l": ["a", "z", "b"]}),
    ({"l": [{"n": "a"}, {"n": "b"}]}, [r("/l/n=b:prev/n", "x")],
     {"l": [{"n": "x"}, {"n": "b"}]}),
    ({"l": [{"n": "a"}, {"n": "b"}]}, [r("/l/n=a:next/n", "x")],
     {"l": [{"n": "a"}, {"n": "x"}]}),
    # ...so a literal colon in a key must be written ~7; a bare one is an unknown modifier.
    ({"m": {}}, [r("/m/a:b")], refused("modifiers")),
    ({"m": {}}, [r("/m/a~7b?")], {"m": {"a:b": "v"}}),
    # ~1 is `/`, ~0 is `~`.
    ({}, [r("/kubernetes.io~1cluster~1c?", "shared")], {"kubernetes.io/cluster/c": "shared"}),
    ({}, [r("/a~0b?")], {"a~b": "v"}),
    ({}, [r("/a~01b?")], {"a~1b": "v"}),
    # A modifier on a key token is refused.
    ({"m": {"k": 1}}, [r("/m:before/k")], refused("modifiers with key token")),
])
def test_colon_separates_modifiers_and_escapes(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


def rm(path: str) -> dict[str, Any]:
    return {"type": "remove", "path": path}


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"a": 1, "b": 2}, [rm("/a")], {"b": 2}),
    ({"l": [{"n": "a"}, {"n": "b"}]}, [rm("/l/n=a")], {"l": [{"n": "b"}]}),
    ({"l": ["a", "b"]}, [rm("/l/0")], {"l": ["b"]}),
    # Absent without `?`: an error; with `?`: nothing happens.
    ({"b": 2}, [rm("/a")], refused("map key 'a'")),
    ({"b": 2}, [rm("/a?")], {"b": 2}),
    ({"l": []}, [rm("/l/n=a?/x")], {"l": []}),
    ({"l": []}, [rm("/l/n=a/x")], refused("found 0")),
    # A remove takes no value and cannot remove the whole document.
    ({"a": 1}, [{"type": "remove", "path": "/a", "value": 1}], refused("Cannot specify value")),
    ({"a": 1}, [rm("")], refused("Cannot remove entire document")),
])
def test_remove(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"a": {"b": 1}}, [{"type": "test", "path": "/a/b", "value": 1}], {"a": {"b": 1}}),
    ({"a": {"b": 1}}, [{"type": "test", "path": "/a/b", "value": 2}], refused("does not match")),
    ({"a": {}}, [{"type": "test", "path": "/a/b", "value": 1}], refused("map key 'b'")),
    ({"a": {}}, [{"type": "test", "path": "/a/b", "absent": True}], {"a": {}}),
    ({"a": {"b": 1}}, [{"type": "test", "path": "/a/b", "absent": True}],
     refused("Expected to not find")),
    # A failed test stops the ops file: nothing after it is applied.
    ({"a": 1}, [{"type": "test", "path": "/a", "value": 2}, r("/a", 3)],
     refused(r"opDefinitions\[0\]")),
])
def test_test_checks_without_changing(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({"a": 1}, [r("", {"b": 2})], {"b": 2}),
    ({"a": 1}, [{"type": "test", "path": "", "value": {"a": 1}}], {"a": 1}),
    ({"a": 1}, [r("a")], refused("start with '/'")),
])
def test_the_empty_path_is_the_document_root(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("doc", "ops", "expected"), [
    ({}, [{"type": "merge", "path": "/a", "value": 1}], refused("Unknown operation")),
    ({}, [{"type": "replace", "path": "/a?"}], refused("Missing value")),
    ({}, [{"type": "replace", "value": 1}], refused("Missing path")),
    # A replace never shares its value with the ops file: later ops cannot alias it.
    ({}, [r("/a?", {"k": [1]}), r("/b?", {"k": [1]}), r("/a/k/-", 2)],
     {"a": {"k": [1, 2]}, "b": {"k": [1]}}),
])
def test_operations_are_checked_as_a_whole(doc: Any, ops: Any, expected: Any) -> None:
    check(doc, ops, expected)


@pytest.mark.parametrize(("text", "value"), [
    ("n", False), ("N", False), ("y", True), ("yes", True), ("No", False), ("on", True),
    ("OFF", False), ("'n'", "n"), ('"yes"', "yes"), ("prod-1", "prod-1"), ("20_000", 20000),
])
def test_documents_are_read_as_yaml_1_1(text: str, value: Any) -> None:
    assert gopatch.load(f"k: {text}\n") == {"k": value}
