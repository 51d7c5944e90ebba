"""Training data: random fixed-length crops from a folder of audio held in memory."""
from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .audio import audio_files, load_audio


class CropSampler:
    """Random fixed-length crops from a folder of audio held in memory (float32), skipping near-silence.

    Crops start uniformly over the whole audio, so each corpus (top-level subfolder of ``root``) is
    drawn in proportion to its duration; ``weights`` (subfolder name -> factor, default 1) scales that
    share, e.g. ``{"asterisk": 3.0}`` draws Asterisk three times as often per second of audio.
    """

    def __init__(self, root: str, sample_rate: int, crop: int, seed: int,
                 weights: Mapping[str, float] | None = None) -> None:
        files = audio_files(root)
        if not files:
            raise FileNotFoundError(f"no audio files under {root}")
        clips = [load_audio(f, sample_rate).samples for f in tqdm(files, desc="loading", unit="file", leave=False)]
        clips = [np.pad(c, (0, max(0, crop - len(c)))) for c in clips]
        self.audio = np.concatenate(clips)
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.seconds = len(self.audio) / sample_rate
        self.spans: list[tuple[int, int]] = []  # weighted: [start, end) of each corpus in self.audio
        self.shares: np.ndarray | None = None  # weighted: probability of drawing each corpus
        if weights:
            self._weigh(root, files, [len(c) for c in clips], weights)

    def _weigh(self, root: str, files: list[Path], lengths: list[int], weights: Mapping[str, float]) -> None:
        parts = [f.relative_to(root).parts for f in files]
        corpora = [p[0] if len(p) > 1 else "" for p in parts]  # files directly under root: corpus ""
        unknown = set(weights) - set(corpora)
        if unknown:
            raise ValueError(f"data weights name {sorted(unknown)}, not subfolders of {root} ({sorted(set(corpora))})")
        if any(w < 0 for w in weights.values()):
            raise ValueError(f"data weights must be >= 0, got {dict(weights)}")
        mass = []
        start = 0
        for corpus, group in groupby(zip(corpora, lengths), key=lambda item: item[0]):  # sorted: contiguous
            size = sum(n for _, n in group)
            self.spans.append((start, start + size))
            mass.append(size * weights.get(corpus, 1.0))
            start += size
        total = sum(mass)
        if total <= 0:
            raise ValueError(f"data weights {dict(weights)} leave nothing to draw from")
        self.shares = np.asarray(mass) / total

    def _start(self) -> int:
        if self.shares is None:
            return int(self.rng.integers(0, len(self.audio) - self.crop))
        lo, hi = self.spans[self.rng.choice(len(self.spans), p=self.shares)]
        return int(self.rng.integers(lo, hi - self.crop + 1))  # every clip is padded to at least one crop

    def batch(self, size: int) -> torch.Tensor:
        """``[size, crop]`` float32 crops."""
        out = np.empty((size, self.crop), dtype=np.float32)
        for i in range(size):
            for _ in range(10):  # prefer crops with speech in them
                start = self._start()
                out[i] = self.audio[start : start + self.crop]
                if np.sqrt(np.mean(out[i] ** 2)) > 0.01:
                    break
        return torch.from_numpy(out)
