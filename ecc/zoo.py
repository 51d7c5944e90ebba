"""Model zoo: named, trained ECC checkpoints shipped in ``ecc/zoo/``.

Each model is ``NAME.pt`` (config, weights, coding tables) with ``NAME.json`` beside it: nominal
kbps, the weights hash that its bitstreams carry, and the data, steps and command that produced it.
Folders listed in the environment variable ``ECC_ZOO_PATH`` (separated like ``PATH``) are searched
too, after the shipped zoo, so models exported with ``ecc export`` can be used by name, and their
files decoded.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .codec import ECCCodec

ZOO_DIR = Path(__file__).parent / "zoo"
DEFAULT_MODEL = "ecc-1k5"


class UnknownModelError(ValueError):
    """A model name, or a bitstream's weights hash, that no installed model has."""


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model's record (``NAME.json``)."""

    name: str
    nominal_kbps: float
    description: str
    record: dict
    checkpoint: Path


def zoo_dirs() -> list[Path]:
    """The shipped zoo, then the folders in ``ECC_ZOO_PATH``."""
    extra = [Path(p) for p in os.environ.get("ECC_ZOO_PATH", "").split(os.pathsep) if p]
    return [ZOO_DIR, *extra]


def list_models() -> list[ZooEntry]:
    """All zoo models, lowest rate first; a name found in two folders is taken from the first."""
    entries: dict[str, ZooEntry] = {}
    for folder in zoo_dirs():
        for path in sorted(folder.glob("*.json")):
            if path.stem in entries:
                continue
            try:
                record = json.loads(path.read_text())
                entries[path.stem] = ZooEntry(path.stem, float(record["nominal_kbps"]), record.get("description", ""),
                                              record, path.with_suffix(".pt"))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}: malformed zoo record ({type(exc).__name__}: {exc})") from exc
    return sorted(entries.values(), key=lambda e: e.nominal_kbps)


def entry(name: str) -> ZooEntry:
    """The zoo record of ``name``; raises :class:`UnknownModelError` listing the known names."""
    for e in list_models():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in list_models()) or "none installed"
    raise UnknownModelError(f"unknown model {name!r}; the zoo has: {known}")


@functools.lru_cache(maxsize=8)
def load_model(name: str = DEFAULT_MODEL) -> ECCCodec:
    """Load zoo model ``name`` (eval mode, coding tables ready)."""
    found = entry(name)
    if not found.checkpoint.is_file():
        raise UnknownModelError(f"model {name!r} is listed but {found.checkpoint} is missing")
    return ECCCodec.load(found.checkpoint, name=name)


def load_model_by_hash(weights_hash: bytes) -> ECCCodec:
    """The installed model whose weights hash (as written in a bitstream) is ``weights_hash``."""
    for e in list_models():
        if e.record.get("weights_hash", weights_hash.hex()) == weights_hash.hex() and e.checkpoint.is_file():
            model = load_model(e.name)
            if model.weights_hash() == weights_hash:
                return model
    raise UnknownModelError(
        f"no installed model has weights {weights_hash.hex()} (searched {', '.join(map(str, zoo_dirs()))}; "
        "add folders with ECC_ZOO_PATH)"
    )
