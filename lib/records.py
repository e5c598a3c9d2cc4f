"""Result records that compare and hash by value, arrays included.

The library's results are frozen dataclasses (:class:`lib.Transmission`,
:class:`lib.Quadrature`, :class:`lib.TransmittingSet`, ...), several of whose
fields are NumPy arrays. A dataclass's own ``==`` compares its fields as a
tuple, which for arrays raises "truth value of an array is ambiguous", and
its ``hash`` fails on them. :func:`record` makes such a class compare by
value instead:

* ``a == b`` is one ``bool``: the same class and every field equal, arrays
  elementwise with the same shape (NaN equal to NaN: the same computation
  gives the same record), dictionaries of arrays key by key;
* ``hash(a)`` agrees with ``==`` (arrays by their values, ``-0.0`` and ``0.0``
  alike, every NaN alike), so records can be set members and dictionary keys.

Records are values: their arrays must not be modified in place (a changed
array changes the hash).
"""
from __future__ import annotations

import dataclasses

import numpy as np


def _equal(x, y) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False
        try:
            return bool(np.array_equal(x, y, equal_nan=True))
        except TypeError:  # arrays without NaN (strings, objects)
            return bool(np.array_equal(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, float) and isinstance(y, float) and x != x and y != y:
        return True
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _key(x):
    """A hashable stand-in for ``x`` that equal values share."""
    if isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        if a.dtype.kind in "fc":
            a = np.where(np.isnan(a), np.nan, a + 0)  # one NaN, and -0.0 as 0.0
            a = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
        elif a.dtype.kind in "iub":
            a = a.astype(np.float64)  # equal integers and floats compare equal, so hash alike
        return ("array", a.shape, a.tobytes() if a.dtype != object else repr(a.tolist()))
    if isinstance(x, dict):
        return ("dict", tuple((k, _key(v)) for k, v in sorted(x.items(), key=lambda kv: repr(kv[0]))))
    if isinstance(x, float) and x != x:
        return ("nan",)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_key(v) for v in x))
    return x


def _record_eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return all(_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self) if f.compare)


def _record_hash(self):
    return hash((self.__class__.__qualname__,
                 *(_key(getattr(self, f.name)) for f in dataclasses.fields(self) if f.compare)))


def record(cls=None, /, **options):
    """``dataclass(frozen=True, eq=False, **options)`` with the value semantics of the module docstring."""
    def wrap(c):
        c = dataclasses.dataclass(frozen=True, eq=False, **options)(c)
        c.__eq__ = _record_eq
        c.__hash__ = _record_hash
        return c

    return wrap if cls is None else wrap(cls)


__all__ = ["record"]
