"""`@frozen` and `@record`: dataclasses that cost a tenth of one to define.

`@dataclass` writes each method as source and compiles it: `@dataclass(frozen=True)` costs
0.25-0.5 ms a class on Python 3.11, 30 ms of start-up for the records this tool defines. These
two decorators compile nothing: one shared `__init__`, equality, hashing, repr and (for
`@frozen`) immutability, driven by the class's fields, with the results of a dataclass:

- `Name(...)` takes the fields positionally or by keyword, in their order, with their defaults
  and default factories, and raises `TypeError` for a missing, unknown or repeated argument;
  `__post_init__` runs after it;
- `==` compares the compared fields of two instances of the very same class;
- `hash()` hashes those fields for `@frozen`; a `@record` is mutable, so unhashable;
- `repr()` is `Name(field=value, ...)` over the fields shown in repr;
- for `@frozen`, assigning or deleting an attribute after `__init__` raises
  `FrozenInstanceError`.

A class keeps any of those methods it defines itself. Both are still dataclasses
(`dataclasses.replace`, `fields`, `asdict` work: each field is a real `dataclasses.Field`), and
type checkers see dataclasses (`dataclass_transform`). Not supported (refused when defined):
`InitVar` fields, and `field(init=False)` without a default. The shared `__init__` is slower
per instance than a generated one (~1 µs): for `WorkerInfo`, made for each of up to 2,000
workers a read, that is a few ms in the largest state of benchmarks/bench_rq_scale.py against
~1 ms saved at every start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T", bound=type)

_CLASS_VARS = ("ClassVar", "typing.ClassVar")


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented
    names: tuple[str, ...] = self.__frozen_names__[0]
    if other.__class__ is not self.__class__:
        return NotImplemented
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, n) for n in self.__frozen_names__[1]))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__frozen_names__[2])
    return f"{self.__class__.__qualname__}({shown})"


def _setattr(self: Any, name: str, value: Any) -> None:
    # `__init__` sets each field once; after that the record is frozen.
    if name in self.__dict__ or name not in self.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


class _Fields:
    """A class's `__dataclass_fields__`, made when first read (`dataclasses.fields`, `replace`,
    `asdict`...): a `Field` costs more to make than a class to define, and most never are read.
    It then takes this descriptor's place on the class."""

    __slots__ = ("owner", "plan")

    def __init__(self, owner: type, plan: dict[str, tuple[Any, Any]]) -> None:
        self.owner = owner
        self.plan = plan  # name -> (type, its Field, or its plain default / MISSING)

    def __get__(self, obj: Any, owner: type | None = None) -> dict[str, Field[Any]]:
        made: dict[str, Field[Any]] = {}
        for name, (kind, value) in self.plan.items():
            if not isinstance(value, Field):
                value = field(default=value)
                value.name, value.type = name, kind
                value._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
            made[name] = value
        type.__setattr__(self.owner, "__dataclass_fields__", made)
        return made


def _plan(cls: type) -> dict[str, tuple[Any, Any]]:
    """The fields `cls` inherits from dataclass bases, then its own annotated ones, as
    dataclasses would order them: name -> (type, Field or plain default). A `field(...)` the
    class declares becomes its Field (the class attribute keeps a plain default)."""
    plan: dict[str, tuple[Any, Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        for name, f in getattr(base, "__dataclass_fields__", {}).items():
            plan[name] = (f.type, f)
    for name, kind in cls.__dict__.get("__annotations__", {}).items():
        text = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
        if text.startswith(_CLASS_VARS):
            continue
        if text.startswith(("InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__qualname__}.{name}: InitVar is not supported here")
        default = cls.__dict__.get(name, MISSING)
        if isinstance(default, Field):
            default.name, default.type = name, kind
            default._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # as dataclass() does
            if default.default is not MISSING:
                setattr(cls, name, default.default)
            else:
                delattr(cls, name)
        plan[name] = (kind, default)
    return plan


def _chosen(plan: dict[str, tuple[Any, Any]]) -> tuple[tuple[str, ...], ...]:
    """The field names (__init__ takes, == compares, hash() hashes, repr() shows): a field with a
    plain default, or none, is in all four."""
    if not any(isinstance(value, Field) for _, value in plan.values()):
        every = tuple(plan)
        return every, every, every, every
    takes: list[str] = []
    compared: list[str] = []
    hashed: list[str] = []
    shown: list[str] = []
    for name, (_, value) in plan.items():
        plain = not isinstance(value, Field)
        if plain or value.init:
            takes.append(name)
        if plain or value.compare:
            compared.append(name)
        if plain or (value.compare if value.hash is None else value.hash):
            hashed.append(name)
        if plain or value.repr:
            shown.append(name)
    return tuple(takes), tuple(compared), tuple(hashed), tuple(shown)


def _initializer(cls: type, plan: dict[str, tuple[Any, Any]],
                 names: tuple[str, ...]) -> Callable[..., None]:
    owner = f"{cls.__qualname__}.__init__()"
    known = frozenset(names)
    defaults: dict[str, Any] = {}  # what fills a field that was not given
    factories: dict[str, Callable[[], Any]] = {}
    for name, (_, value) in plan.items():
        if not isinstance(value, Field):
            if value is not MISSING:
                defaults[name] = value
        elif value.default is not MISSING:
            defaults[name] = value.default
        elif value.default_factory is not MISSING:
            factories[name] = value.default_factory
        if name in defaults or name in factories:
            continue
        if name not in known:
            raise TypeError(f"{cls.__qualname__}.{name}: a field outside __init__ needs a "
                            "default here")
        if defaults or factories:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    post_init = getattr(cls, "__post_init__", None) is not None
    fields_in_order = tuple(plan)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{owner} takes {len(names) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        given = dict(zip(names, args, strict=False))  # fewer args than fields
        for key in kwargs:
            if key not in known:
                raise TypeError(f"{owner} got an unexpected keyword argument {key!r}")
            if key in given:
                raise TypeError(f"{owner} got multiple values for argument {key!r}")
        given.update(kwargs)
        values = self.__dict__
        for name in fields_in_order:
            if name in given:
                values[name] = given[name]
            elif name in defaults:
                values[name] = defaults[name]
            elif name in factories:
                values[name] = factories[name]()
            else:
                raise TypeError(f"{owner} missing required argument: {name!r}")
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _make(cls: T, methods: tuple[tuple[str, Any], ...]) -> T:
    own = cls.__dict__  # what the class defines itself, it keeps
    plan = _plan(cls)
    names, *chosen = _chosen(plan)
    for name, method in (("__dataclass_fields__", _Fields(cls, plan)), ("__match_args__", names),
                         ("__frozen_names__", tuple(chosen)),
                         ("__init__", _initializer(cls, plan, names)), *methods):
        if name not in own:
            setattr(cls, name, method)
    return cls


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def frozen(cls: T) -> T:
    """Make `cls` a frozen dataclass (see the module's docstring)."""
    return _make(cls, (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr),
                       ("__setattr__", _setattr), ("__delattr__", _delattr)))


@dataclass_transform(field_specifiers=(field, Field))
def record(cls: T) -> T:
    """Make `cls` a mutable dataclass (see the module's docstring)."""
    return _make(cls, (("__eq__", _eq), ("__hash__", None), ("__repr__", _repr)))
