"""`@frozen` behaves as `@dataclass(frozen=True)` does: compared with a real one, field by field."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar

import pytest

from troubleshooter.frozen import frozen, record


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


@record
class MineMutable:
    a: int
    items: list[int] = field(default_factory=list)


@dataclass
class TheirsMutable:
    a: int
    items: list[int] = field(default_factory=list)


@frozen
class Checked:
    low: int
    high: int = 10

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low above high")


def test_arguments_are_bound_as_a_dataclass_binds_them() -> None:
    assert Mine(1, "y", None, (2,)) == Mine(a=1, b="y", items=(2,))
    for args, kwargs in (((), {}), ((1, "y", None, (), 5), {}), ((1,), {"a": 2}),
                         ((1,), {"nope": 2})):
        with pytest.raises(TypeError) as mine:
            Mine(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            Theirs(*args, **kwargs)
        assert str(mine.value).split("__init__() ")[1].split(" ")[0] == \
            str(theirs.value).split("__init__() ")[1].split(" ")[0]


def test_default_factories_are_called_per_instance_and_post_init_runs() -> None:
    one, two = MineMutable(1), MineMutable(2)
    one.items.append(3)
    assert two.items == [] and one.items == [3]
    assert Checked(1).high == 10
    with pytest.raises(ValueError, match="low above high"):
        Checked(11)


def test_a_record_is_a_mutable_dataclass() -> None:
    value = MineMutable(1)
    value.a = 5
    value.items.append(1)
    assert repr(value).replace("MineMutable", "TheirsMutable") == repr(TheirsMutable(5, [1]))
    assert value == MineMutable(5, [1]) and value != MineMutable(5)
    with pytest.raises(TypeError):
        hash(value)
    assert dataclasses.asdict(value) == {"a": 5, "items": [1]}
    assert dataclasses.replace(value, a=6) == MineMutable(6, [1])
    assert MineMutable.__match_args__ == TheirsMutable.__match_args__


def test_field_order_and_class_variables_are_checked() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @frozen
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @frozen
        class AfterFactory:
            a: list[int] = field(default_factory=list)
            b: int  # type: ignore[misc]
    with pytest.raises(TypeError, match="outside __init__ needs a default"):
        @frozen
        class Unset:
            a: int = field(init=False)

    @frozen
    class WithClassVar:
        kind: ClassVar[str] = "x"
        a: int

    assert [f.name for f in dataclasses.fields(WithClassVar)] == ["a"]
    assert WithClassVar(1).kind == "x"


@frozen
class Base:
    a: int
    b: str = "x"
    note: Any = field(default=None, compare=False)


@frozen
class Derived(Base):
    c: int = 3
    b: str = "y"  # redefined: keeps its place, takes the new default


@dataclass(frozen=True)
class TheirBase:
    a: int
    b: str = "x"
    note: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class TheirDerived(TheirBase):
    c: int = 3
    b: str = "y"


class Plain(Base):
    """Not decorated: a subclass that inherits the fields."""


def test_a_subclass_inherits_and_overrides_fields_as_a_dataclass_does() -> None:
    # Read before any instance exists (the fields are made at their first read).
    assert [(f.name, f.default) for f in dataclasses.fields(Derived)] == \
        [(f.name, f.default) for f in dataclasses.fields(TheirDerived)]
    assert Derived.__match_args__ == TheirDerived.__match_args__
    assert repr(Derived(1)).replace("Derived", "TheirDerived") == repr(TheirDerived(1))
    assert Derived(1, note=1) == Derived(1, note=2) and Derived(1) != Derived(1, c=4)
    assert Plain(1) == Plain(1) and Plain(1) != Base(1)
    assert dataclasses.is_dataclass(Plain) and dataclasses.replace(Plain(1), a=2).a == 2


def test_the_fields_are_made_once_and_are_real_fields() -> None:
    @frozen
    class Fresh:
        a: int
        b: int = field(default=2, repr=False)

    assert "__dataclass_fields__" in Fresh.__dict__
    first = dataclasses.fields(Fresh(1))
    assert dataclasses.fields(Fresh) == first and first[0] is dataclasses.fields(Fresh)[0]
    assert isinstance(Fresh.__dict__["__dataclass_fields__"], dict)  # made, and kept
    assert (first[1].default, first[1].repr, first[1].type) == (2, False, "int")
    assert repr(Fresh(1)).endswith(".Fresh(a=1)") and Fresh.b == 2


@frozen
class Hashing:
    a: int
    b: int = field(default=0, hash=False)  # compared, not hashed
    c: int = field(default=0, compare=False, hash=True)  # hashed, not compared


@dataclass(frozen=True)
class TheirHashing:
    a: int
    b: int = field(default=0, hash=False)
    c: int = field(default=0, compare=False, hash=True)


@pytest.mark.parametrize("values", [(1, 0, 0), (1, 2, 0), (1, 0, 3), (4, 5, 6)])
def test_hash_and_equality_follow_each_field_s_flags(values: tuple[int, int, int]) -> None:
    assert hash(Hashing(*values)) == hash(TheirHashing(*values))  # the same tuple hashed
    assert (Hashing(*values) == Hashing(1, 0, 0)) == (TheirHashing(*values) ==
                                                     TheirHashing(1, 0, 0))


@frozen
class Grandchild(Derived):
    d: int = 0


@dataclass(frozen=True)
class TheirGrandchild(TheirDerived):
    d: int = 0


def test_fields_come_from_the_furthest_base_first() -> None:
    assert [(f.name, f.default) for f in dataclasses.fields(Grandchild)] == \
        [(f.name, f.default) for f in dataclasses.fields(TheirGrandchild)]
    assert Grandchild(1).b == TheirGrandchild(1).b == "y"
