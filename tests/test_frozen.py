"""`@frozen` behaves as `@dataclass(frozen=True)` does: compared with a real one, field by field."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from troubleshooter.frozen import frozen


@frozen
class Mine:
    a: int
    b: str = "x"
    hidden: Any = field(default=None, repr=False, compare=False)
    items: tuple[int, ...] = ()


@dataclass(frozen=True)
class Theirs:
    a: int
    b: str = "x"
    hidden: Any = field(default=None, repr=False, compare=False)
    items: tuple[int, ...] = ()


@frozen
class OwnRepr:
    a: int

    def __repr__(self) -> str:
        return "mine"


@frozen
class Other:
    a: int
    b: str = "x"
    hidden: Any = None
    items: tuple[int, ...] = ()


CASES = [dict(a=1), dict(a=1, b="y"), dict(a=1, hidden=[1]), dict(a=2, items=(1, 2))]


@pytest.mark.parametrize("left", CASES)
@pytest.mark.parametrize("right", CASES)
def test_equality_and_hash_as_a_frozen_dataclass(left: dict[str, Any],
                                                 right: dict[str, Any]) -> None:
    assert (Mine(**left) == Mine(**right)) == (Theirs(**left) == Theirs(**right))
    assert (Mine(**left) != Mine(**right)) == (Theirs(**left) != Theirs(**right))
    if Mine(**left) == Mine(**right):
        assert hash(Mine(**left)) == hash(Mine(**right))
    assert repr(Mine(**left)).replace("Mine", "Theirs") == repr(Theirs(**left))


def test_another_class_with_the_same_fields_is_not_equal() -> None:
    assert Mine(1) != Other(1) and Mine(1) != (1, "x", None, ())


def test_assigning_or_deleting_a_field_raises() -> None:
    value = Mine(1)
    with pytest.raises(FrozenInstanceError):
        value.a = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del value.a  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        value.new = 1  # type: ignore[attr-defined]
    assert value.a == 1


def test_still_a_dataclass() -> None:
    value = Mine(1, items=(3,))
    assert dataclasses.replace(value, a=5) == Mine(5, items=(3,))
    assert dataclasses.asdict(value) == {"a": 1, "b": "x", "hidden": None, "items": (3,)}
    assert [f.name for f in dataclasses.fields(value)] == ["a", "b", "hidden", "items"]
    assert copy.deepcopy(value) == value and pickle.loads(pickle.dumps(value)) == value


def test_a_method_the_class_defines_is_kept() -> None:
    assert repr(OwnRepr(1)) == "mine"
