"""Equal sets of ids held once, whoever builds them."""

from __future__ import annotations

from k8s_aws.support import shared_sets
from k8s_aws.support.shared_sets import shared


def test_an_equal_set_is_the_copy_already_held() -> None:
    first = shared(frozenset(f"i-{n:017x}" for n in range(1000)))
    again = shared(frozenset(f"i-{n:017x}" for n in reversed(range(1000))))
    assert again is first
    other = shared(frozenset({"i-1"}))
    assert other is not first and other == frozenset({"i-1"})


def test_the_table_starts_over_past_its_size() -> None:
    shared_sets._HELD.clear()
    for n in range(shared_sets.HELD_MAX):
        shared(frozenset({str(n)}))
    assert len(shared_sets._HELD) == shared_sets.HELD_MAX
    shared(frozenset({"one more"}))
    assert len(shared_sets._HELD) == 1
