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
from dataclasses import MISSING, Field, FrozenInstanceError, field, fields
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T", bound=type)

_CLASS_VARS = ("ClassVar", "typing.ClassVar")


def _compared(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in fields(obj) if f.compare)


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, f.name) for f in fields(self)
                      if (f.compare if f.hash is None else f.hash)))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
    return f"{self.__class__.__qualname__}({shown})"


def _setattr(self: Any, name: str, value: Any) -> None:
    # `__init__` sets each field once; after that the record is frozen.
    if name in self.__dict__ or name not in self.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _own_fields(cls: type) -> dict[str, Field[Any]]:
    """The fields `cls` inherits from dataclass bases, then its own annotated ones, as
    dataclasses would make them (the class attribute keeps a plain default)."""
    found: dict[str, Field[Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        found.update(getattr(base, "__dataclass_fields__", {}))
    for name, kind in cls.__dict__.get("__annotations__", {}).items():
        text = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
        if text.startswith(_CLASS_VARS):
            continue
        if text.startswith(("InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__qualname__}.{name}: InitVar is not supported here")
        default = cls.__dict__.get(name, MISSING)
        made: Any = default if isinstance(default, Field) else field(default=default)
        made.name, made.type = name, kind
        made._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # as dataclass() does
        if made.default is not MISSING:
            setattr(cls, name, made.default)
        elif isinstance(default, Field):
            delattr(cls, name)
        found[name] = made
    return found


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _initializer(cls: type, made: dict[str, Field[Any]]) -> Callable[..., None]:
    owner = f"{cls.__qualname__}.__init__()"
    names = tuple(n for n, f in made.items() if f.init)
    known = frozenset(names)
    later: dict[str, Callable[[], Any]] = {}  # what fills a field that was not given
    for name, f in made.items():
        if f.default is not MISSING:
            later[name] = _constant(f.default)
        elif f.default_factory is not MISSING:
            later[name] = f.default_factory
        elif name not in known:
            raise TypeError(f"{cls.__qualname__}.{name}: a field outside __init__ needs a "
                            "default here")
        elif later:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    post_init = getattr(cls, "__post_init__", None) is not None

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
        for name in made:
            if name in given:
                values[name] = given[name]
            elif name in later:
                values[name] = later[name]()
            else:
                raise TypeError(f"{owner} missing required argument: {name!r}")
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _make(cls: T, methods: tuple[tuple[str, Any], ...]) -> T:
    own = set(cls.__dict__)  # what the class defines itself, it keeps
    made = _own_fields(cls)
    match_args = tuple(n for n, f in made.items() if f.init)
    for name, method in (("__dataclass_fields__", made), ("__match_args__", match_args),
                         ("__init__", _initializer(cls, made)), *methods):
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
