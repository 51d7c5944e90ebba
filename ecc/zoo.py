"""Model zoo: trained codec models shipped in ``ecc/zoo/``, and their named presets.

Each model is a weights file (``NAME.safetensors``; legacy ECC ``NAME.pt``) with ``NAME.json``
beside it: family, weights hash, provenance (data, steps, command), and either

- ``presets``: named operating points of a variable-rate model, each ``{"name", "q", "kbps"}``
  (``kbps``: nominal, measured on the dev split), from which ``--kbps X`` interpolates, or
- ``nominal_kbps``: a fixed-rate model, named ``NAME``.

Folders listed in the environment variable ``ECC_ZOO_PATH`` (separated like ``PATH``) are searched
too, before the shipped zoo, so models exported with ``ecc export`` can be used by name (a name they
share with a shipped model means theirs, with a warning), and their files decoded. A bitstream finds
its model by weights hash in every folder, so files of a shadowed shipped model still decode.
"""
from __future__ import annotations

import functools
import json
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .neural_codec import NeuralCodec, load_codec

ZOO_DIR = Path(__file__).parent / "zoo"
DEFAULT_MODEL = "ecc-mel-1k5"
WEIGHT_SUFFIXES = (".safetensors", ".pt")


class UnknownModelError(ValueError):
    """A model name, or a bitstream's weights hash, that no installed model has."""


@dataclass(frozen=True)
class ZooEntry:
    """One named model: a preset of a variable-rate model file (``q``), or a fixed-rate file
    (``q is None``)."""

    name: str
    nominal_kbps: float
    description: str
    record: dict
    checkpoint: Path
    q: float | None = None

    @property
    def family(self) -> str:
        return self.record.get("family", "ecc")


def zoo_dirs() -> list[Path]:
    """The folders in ``ECC_ZOO_PATH``, then the shipped zoo (the first folder with a name wins)."""
    extra = [Path(p) for p in os.environ.get("ECC_ZOO_PATH", "").split(os.pathsep) if p]
    return [*extra, ZOO_DIR]


def _weights_file(record_path: Path) -> Path:
    for suffix in WEIGHT_SUFFIXES:
        if record_path.with_suffix(suffix).is_file():
            return record_path.with_suffix(suffix)
    return record_path.with_suffix(WEIGHT_SUFFIXES[0])


def _entries(path: Path) -> list[ZooEntry]:
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict):
            raise TypeError(f"a JSON {type(record).__name__}, not an object")
        weights, description = _weights_file(path), record.get("description", "")
        if "presets" in record:
            return [ZooEntry(p["name"], float(p["kbps"]), description, record, weights, float(p["q"]))
                    for p in record["presets"]]
        return [ZooEntry(path.stem, float(record["nominal_kbps"]), description, record, weights)]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed zoo record ({type(exc).__name__}: {exc})") from exc


def _all_entries() -> Iterator[ZooEntry]:
    """Every named model of every folder, in :func:`zoo_dirs` order (a name may repeat)."""
    for folder in zoo_dirs():
        for path in sorted(folder.glob("*.json")):
            yield from _entries(path)


def list_models() -> list[ZooEntry]:
    """All named models, lowest rate first; a name found in two folders is taken from the first
    (``ECC_ZOO_PATH`` before the shipped zoo), with a warning naming both files."""
    entries: dict[str, ZooEntry] = {}
    shadowed: dict[tuple[Path, Path], list[str]] = {}  # (file used, file shadowed) -> names
    for e in _all_entries():
        kept = entries.setdefault(e.name, e)
        if kept is not e and kept.checkpoint != e.checkpoint:
            shadowed.setdefault((kept.checkpoint, e.checkpoint), []).append(e.name)
    for (used, hidden), names in shadowed.items():
        warnings.warn(f"{', '.join(names)}: {used} is used, not {hidden} (ECC_ZOO_PATH comes first)", stacklevel=2)
    return sorted(entries.values(), key=lambda e: e.nominal_kbps)


def entry(name: str) -> ZooEntry:
    """The zoo record of ``name``; raises :class:`UnknownModelError` listing the known names."""
    for e in list_models():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in list_models()) or "none installed"
    raise UnknownModelError(f"unknown model {name!r}; the zoo has: {known}")


@functools.lru_cache(maxsize=8)
def _load_file(path: Path) -> NeuralCodec:
    return load_codec(path)


@functools.lru_cache(maxsize=32)
def load_model(name: str = DEFAULT_MODEL) -> NeuralCodec:
    """Load zoo model ``name`` (eval mode, coding tables ready, at its preset's operating point)."""
    found = entry(name)
    if not found.checkpoint.is_file():
        raise UnknownModelError(f"model {name!r} is listed but {found.checkpoint} is missing")
    return _load_file(found.checkpoint).at(found.q, name)


def rate_range(name: str) -> tuple[float, float]:
    """The nominal kbps range that ``--kbps`` can reach with ``name``'s model file."""
    points = _rate_points(entry(name))
    return points[0][1], points[-1][1]


def _rate_points(found: ZooEntry) -> list[tuple[float, float]]:
    """``(q, kbps)`` of every preset of ``found``'s model file, by ``q``."""
    presets = [e for e in list_models() if e.checkpoint == found.checkpoint and e.q is not None]
    return sorted((e.q, e.nominal_kbps) for e in presets)


def load_at_kbps(name: str, kbps: float) -> NeuralCodec:
    """``name``'s model file at the operating point whose nominal rate is ``kbps`` (log-rate
    interpolated between its presets); ``ValueError`` if the model cannot reach it."""
    found = entry(name)
    points = _rate_points(found)
    if len(points) < 2:
        raise ValueError(f"model {name!r} has one fixed rate ({found.nominal_kbps:g} kbps nominal); --kbps needs a variable-rate model")
    low, high = points[0][1], points[-1][1]
    if not low <= kbps <= high:
        raise ValueError(f"{kbps:g} kbps is outside the range of {name!r}'s model: {low:g} to {high:g} kbps (nominal)")
    return _load_file(found.checkpoint).at(q_at_kbps(points, kbps), f"{found.checkpoint.stem}@{kbps:g}kbps")


def q_at_kbps(points: list[tuple[float, float]], kbps: float) -> float:
    """The operating point whose rate is ``kbps``, linear in log rate between measured ``(q, kbps)``
    points (rates rising with ``q``; clamped to the points' range)."""
    qs, rates = zip(*sorted(points))
    return float(np.interp(math.log(kbps), np.log(rates), qs))


def load_model_by_hash(weights_hash: bytes) -> NeuralCodec:
    """The installed model file whose weights hash (as written in a bitstream) is ``weights_hash``
    (a variable-rate model without an operating point of its own: a bitstream carries its own);
    models whose names another folder shadows are searched too."""
    for e in _all_entries():
        if e.record.get("weights_hash", weights_hash.hex()) == weights_hash.hex() and e.checkpoint.is_file():
            model = _load_file(e.checkpoint)
            if model.weights_hash() == weights_hash:
                return model
    raise UnknownModelError(
        f"no installed model has weights {weights_hash.hex()} (searched {', '.join(map(str, zoo_dirs()))}; "
        "add folders with ECC_ZOO_PATH)"
    )
