"""Speech datasets: the Asterisk prompt corpus recipe and a loader for any folder of audio.

Recipe (``python -m benchmarks.datasets asterisk OUT``): the Debian packages
``asterisk-core-sounds-{en,es,fr,it,ru}-g722`` (G.722, 16 kHz; CC-BY-SA-3.0 / CC-BY-3.0) are
decoded with ffmpeg, long silences are shortened, and each file goes to 16 kHz mono FLAC under
``OUT/{train,dev,test}/{lang}/``. The split is file-level, seeded, 90/5/5 within each voice/language,
and recorded in ``OUT/manifest.csv``.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ecc.audio import AUDIO_SUFFIXES, Audio, load_audio

ASTERISK_ROOT = Path("/usr/share/asterisk/sounds")
ASTERISK_VOICES = {  # language -> (folder, speaker)
    "en": ("en_US_f_Allison", "Allison Smith"),
    "es": ("es_MX_f_Allison", "Allison Smith"),
    "fr": ("fr_CA_f_June", "June Wallack"),
    "it": ("it_IT_m_Carlo", "Carlo"),
    "ru": ("ru_RU_f_IvrvoiceRU", "IvrvoiceRU"),
}
SAMPLE_RATE = 16000
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class SplitConfig:
    """File-level split fractions (the rest is train) and the seed of the shuffle."""

    dev: float = 0.05
    test: float = 0.05
    seed: int = 0


def trim_silence(x: np.ndarray, rate: int, max_silence: float = 0.3, threshold_db: float = -45.0) -> np.ndarray:
    """Shorten every silence longer than ``max_silence`` s to that length (edges included).

    Silence = 10 ms frames whose RMS is ``threshold_db`` below the file's loudest frame.
    """
    hop = rate // 100
    frames = len(x) // hop
    if frames == 0:
        return x
    rms = np.sqrt(np.mean(x[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-12)
    silent = 20 * np.log10(rms / rms.max()) < threshold_db
    keep = np.ones(frames, dtype=bool)
    limit = int(max_silence * 100)
    start = None
    for i, s in enumerate(np.append(silent, False)):
        if s and start is None:
            start = i
        elif not s and start is not None:
            if i - start > limit:  # keep half the allowance at each side of the gap
                keep[start + limit // 2 : i - (limit - limit // 2)] = False
            start = None
    mask = np.repeat(keep, hop)
    mask = np.append(mask, np.ones(len(x) - len(mask), dtype=bool))
    return x[mask]


def _convert(job: tuple[Path, Path]) -> float:
    src, dst = job
    pcm = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "g722", "-i", str(src), "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"],
        check=True, capture_output=True,
    ).stdout
    x = trim_silence(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, SAMPLE_RATE)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, x, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return len(x) / SAMPLE_RATE


def split_files(files: list[Path], config: SplitConfig) -> dict[Path, str]:
    """Seeded file-level split: ``{file: split}``, at least one dev and one test file when possible."""
    order = sorted(files)
    random.Random(config.seed).shuffle(order)
    n_dev = max(1, round(len(order) * config.dev)) if len(order) >= 3 else 0
    n_test = max(1, round(len(order) * config.test)) if len(order) >= 3 else 0
    names = ["test"] * n_test + ["dev"] * n_dev + ["train"] * (len(order) - n_dev - n_test)
    return dict(zip(order, names))


def prepare_asterisk(out: Path, config: SplitConfig = SplitConfig(), jobs: int = 2, root: Path = ASTERISK_ROOT) -> Path:
    """Build the corpus under ``out``; returns the manifest path. Existing files are kept."""
    rows, todo = [], []
    for lang, (folder, speaker) in ASTERISK_VOICES.items():
        source = root / folder
        files = sorted(p for p in source.rglob("*.g722") if p.stat().st_size > 0)  # a few prompts are empty
        if not files:
            raise FileNotFoundError(f"no G.722 prompts in {source}: apt-get install asterisk-core-sounds-{lang}-g722")
        for src, split in split_files(files, config).items():
            rel = src.relative_to(source).with_suffix(".flac")
            dst = out / split / lang / rel
            rows.append((dst.relative_to(out).as_posix(), lang, speaker, split))
            if not dst.exists():
                todo.append((src, dst))
    with ProcessPoolExecutor(jobs) as pool:
        for _ in tqdm(pool.map(_convert, todo, chunksize=16), total=len(todo), desc="asterisk", unit="file"):
            pass
    manifest = out / "manifest.csv"
    with manifest.open("w") as handle:
        handle.write("path,language,speaker,split,seconds\n")
        for path, lang, speaker, split in rows:
            seconds = sf.info(out / path).duration
            handle.write(f"{path},{lang},{speaker},{split},{seconds:.3f}\n")
    return manifest


def audio_files(root: str | Path) -> list[Path]:
    """Every audio file under ``root`` (recursively), sorted; works for LibriTTS/VCTK-style trees."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def iter_audio(root: str | Path, sample_rate: int = SAMPLE_RATE) -> Iterator[tuple[Path, Audio]]:
    """Yield ``(path, mono audio at sample_rate)`` for every audio file under ``root``."""
    for path in audio_files(root):
        yield path, load_audio(path, sample_rate)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.datasets", description="Prepare speech datasets.")
    sub = parser.add_subparsers(dest="dataset", required=True)
    ast = sub.add_parser("asterisk", help="Asterisk prompts (Debian asterisk-core-sounds-*-g722) to FLAC + split")
    ast.add_argument("out", type=Path, help="output folder, e.g. data/asterisk")
    ast.add_argument("--seed", type=int, default=0)
    ast.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    manifest = prepare_asterisk(args.out, SplitConfig(seed=args.seed), args.jobs)
    print(f"wrote {manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()
