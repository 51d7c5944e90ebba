"""Training data: random fixed-length crops from a folder of audio held in memory."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from .audio import audio_files, load_audio


class CropSampler:
    """Random fixed-length crops from a folder of audio held in memory (float32), skipping near-silence."""

    def __init__(self, root: str, sample_rate: int, crop: int, seed: int) -> None:
        files = audio_files(root)
        if not files:
            raise FileNotFoundError(f"no audio files under {root}")
        clips = [load_audio(f, sample_rate).samples for f in tqdm(files, desc="loading", unit="file", leave=False)]
        self.audio = np.concatenate([np.pad(c, (0, max(0, crop - len(c)))) for c in clips])
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.seconds = len(self.audio) / sample_rate

    def batch(self, size: int) -> torch.Tensor:
        out = np.empty((size, self.crop), dtype=np.float32)
        for i in range(size):
            for _ in range(10):  # prefer crops with speech in them
                start = self.rng.integers(0, len(self.audio) - self.crop)
                out[i] = self.audio[start : start + self.crop]
                if np.sqrt(np.mean(out[i] ** 2)) > 0.01:
                    break
        return torch.from_numpy(out)
