"""Registry of codec families: the name and the container id of each, and its codec class.

A family registers its :class:`~ecc.neural_codec.NeuralCodec` subclass with :func:`register`;
model files record the family's name, containers its id, so :func:`ecc.neural_codec.load_codec`
and ``ecc decode`` find the class. Ids 1-63 are the library's; 64 and above are free for
families defined elsewhere (a test's, a user's).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """A registered codec family."""

    name: str
    id: int
    codec: type


_FAMILIES: dict[str, Family] = {}


def register(codec: type) -> type:
    """Class decorator: register a ``NeuralCodec`` subclass under its ``family`` and ``family_id``."""
    name, family_id = codec.family, codec.family_id
    if not 0 < family_id < 2**14:
        raise ValueError(f"family id must lie in [1, 16383], got {family_id}")
    for known in _FAMILIES.values():
        if known.name != name and known.id == family_id:
            raise ValueError(f"family id {family_id} is taken by {known.name!r}")
    _FAMILIES[name] = Family(name, family_id, codec)
    return codec


def _builtin() -> None:
    from . import codec, mel_codec  # noqa: F401  (register "ecc", "ecc-mel")


def families() -> list[Family]:
    """Every registered family, by id."""
    _builtin()
    return sorted(_FAMILIES.values(), key=lambda f: f.id)


def family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` listing the known ones."""
    _builtin()
    if name not in _FAMILIES:
        raise ValueError(f"unknown codec family {name!r}; registered: {', '.join(sorted(_FAMILIES))}")
    return _FAMILIES[name]


def family_name(family_id: int) -> str:
    """The name of family ``family_id`` (``"unknown family N"`` if none is registered)."""
    for f in families():
        if f.id == family_id:
            return f.name
    return f"unknown family {family_id}"
