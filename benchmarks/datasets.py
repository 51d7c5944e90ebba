"""Speech datasets: corpus recipes built from Debian packages, and a loader for any folder of audio.

Two recipes, both writing 16 kHz mono FLAC with long silences shortened and a ``manifest.csv``:

- ``asterisk`` (``python -m benchmarks.datasets asterisk OUT``): the Asterisk prompts
  (``asterisk-core-sounds-{en,es,fr,it,ru}-g722``, CC-BY-SA-3.0 / CC-BY-3.0) under
  ``OUT/{train,dev,test}/{lang}/``; file-level, seeded 90/5/5 split within each voice.
- ``speech`` (``python -m benchmarks.datasets speech OUT``): the Asterisk voices plus ``festvox-ru``
  (one male Russian voice, BSD-like notice) and the KDE ``klettres-data`` / ``ktuberling-data`` clips
  (GPL-2+, one voice per package and language), under ``OUT/{train,dev,test,unseen}/{corpus}/{voice}/``.
  Seen voices are split 90/5/5 by file (the Asterisk files land in the same split as in the
  ``asterisk`` recipe); the voices of :data:`UNSEEN_VOICES` go whole to ``unseen``, a test split of
  speakers no model trains or tunes on. Narrowband files (sampled below 16 kHz, or with no energy
  above 4 kHz) and exact duplicates are skipped and counted. Each corpus's license goes beside the data
  (``OUT/LICENSES.md`` and the Debian copyright files under ``OUT/licenses/``).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ecc.audio import AUDIO_SUFFIXES, load_audio, to_mono_rate

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
# whole voices held out of train and dev: one Asterisk voice and four KDE languages (both packages)
UNSEEN_VOICES = frozenset({"asterisk/fr", "klettres/de", "ktuberling/de", "klettres/hu", "klettres/nl",
                           "ktuberling/nl", "klettres/uk", "ktuberling/uk"})
NARROWBAND_DB = -45.0  # energy 4-7.5 kHz relative to 0-4 kHz below this: a narrowband recording


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


@dataclass(frozen=True)
class Corpus:
    """A speech corpus from a Debian package: its voices' source files and its license."""

    name: str
    packages: str  # the apt packages that provide it
    license: str
    copyright: tuple[Path, ...]  # Debian copyright files, copied beside the data
    root: Path

    def voices(self) -> dict[str, list[Path]]:
        """``{voice: source files}``; a voice is ``corpus/language`` (or the corpus's one speaker)."""
        audio = lambda folder: sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES + (".g722",)
                                      and p.is_file() and p.stat().st_size > 0)
        if self.name == "asterisk":
            found = {lang: audio(self.root / folder) for lang, (folder, _) in ASTERISK_VOICES.items()}
        elif self.name == "festvox-ru":
            found = {"msu_ru_nsh": audio(self.root)}
        else:  # KDE: one folder per language
            found = {d.name: audio(d) for d in sorted(self.root.iterdir()) if d.is_dir()}
        voices = {f"{self.name}/{k}": v for k, v in found.items() if v}
        if not voices:
            raise FileNotFoundError(f"no audio for {self.name} under {self.root}: apt-get install {self.packages}")
        return voices


DOC = Path("/usr/share/doc")
CORPORA = (
    Corpus("asterisk", " ".join(f"asterisk-core-sounds-{l}-g722" for l in ASTERISK_VOICES), "CC-BY-SA-3.0 / CC-BY-3.0",
           tuple(DOC / f"asterisk-core-sounds-{l}-g722" / "copyright" for l in ASTERISK_VOICES), ASTERISK_ROOT),
    Corpus("festvox-ru", "festvox-ru", "BSD-like (Nickolay V. Shmyrev, 2005; notice kept in licenses/)",
           (DOC / "festvox-ru" / "copyright",), Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav")),
    Corpus("klettres", "klettres-data", "GPL-2+", (DOC / "klettres-data" / "copyright",), Path("/usr/share/klettres")),
    Corpus("ktuberling", "ktuberling-data", "GPL-2+", (DOC / "ktuberling-data" / "copyright",),
           Path("/usr/share/ktuberling/sounds")),
)


def read_source(path: Path) -> tuple[np.ndarray, int]:
    """A corpus source file as mono float32 at 16 kHz, and its native sample rate (G.722 via ffmpeg)."""
    if path.suffix == ".g722":
        pcm = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "g722", "-i", str(path), "-f", "s16le",
                              "-ac", "1", "-ar", str(SAMPLE_RATE), "-"], check=True, capture_output=True).stdout
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, SAMPLE_RATE
    audio = load_audio(path, None)
    return to_mono_rate(audio.samples, audio.sample_rate, SAMPLE_RATE), audio.sample_rate


def high_band_db(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Energy in 4-7.5 kHz relative to 0-4 kHz, dB: about -20 for wideband speech, below -45 when the
    recording was narrowband (8 kHz) before it was upsampled."""
    n = 512
    if len(x) < n:
        return -np.inf
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * np.hanning(n)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(0)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    low, high = power[freqs < 4000].sum(), power[(freqs >= 4000) & (freqs < 7500)].sum()
    return float(10 * np.log10(high / max(low, 1e-20) + 1e-20))


def _convert_source(job: tuple[Path, Path]) -> float | None:
    """Convert one source to FLAC at ``dst``; seconds written, or ``None`` for a narrowband file."""
    src, dst = job
    x, native = read_source(src)
    if native < SAMPLE_RATE or high_band_db(x) < NARROWBAND_DB:
        return None
    x = trim_silence(x, SAMPLE_RATE)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, np.clip(x, -1, 1), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return len(x) / SAMPLE_RATE


def prepare_speech(out: Path, config: SplitConfig = SplitConfig(), jobs: int = 2,
                   corpora: tuple[Corpus, ...] = CORPORA) -> Path:
    """Build the multi-voice corpus under ``out`` (see the module docstring); returns the manifest path.

    Existing outputs are kept, so an interrupted run resumes. Prints what was skipped.
    """
    planned, seen_bytes, duplicates = [], set(), 0
    for corpus in corpora:
        for voice, files in corpus.voices().items():
            unique = []
            for f in files:
                digest = hashlib.sha1(f.read_bytes()).digest()
                duplicates += digest in seen_bytes
                if digest not in seen_bytes:
                    seen_bytes.add(digest)
                    unique.append(f)
            splits = ({f: "unseen" for f in unique} if voice in UNSEEN_VOICES else split_files(unique, config))
            source_root = corpus.root / ASTERISK_VOICES[voice.split("/")[1]][0] if corpus.name == "asterisk" else corpus.root
            for src, split in splits.items():
                rel = src.relative_to(source_root)
                if corpus.name != "asterisk" and corpus.name != "festvox-ru":
                    rel = rel.relative_to(rel.parts[0])  # the language folder is the voice
                dst = out / split / voice / rel.with_suffix(".flac")
                planned.append((corpus, voice, split, src, dst))
    results = {}
    todo = [(src, dst) for *_, src, dst in planned if not dst.exists()]
    with ProcessPoolExecutor(jobs) as pool:
        for (src, _), seconds in tqdm(zip(todo, pool.map(_convert_source, todo, chunksize=8)), total=len(todo),
                                      desc="speech", unit="file"):
            results[src] = seconds
    manifest, narrowband = out / "manifest.csv", 0
    with manifest.open("w") as handle:
        handle.write("path,corpus,voice,split,license,seconds\n")
        for corpus, voice, split, src, dst in planned:
            if not dst.exists():
                narrowband += results.get(src, 0) is None
                continue
            handle.write(f"{dst.relative_to(out).as_posix()},{corpus.name},{voice},{split},"
                         f"\"{corpus.license}\",{sf.info(dst).duration:.3f}\n")
    _write_licenses(out, corpora)
    print(f"speech: skipped {narrowband} narrowband and {duplicates} duplicate files", file=sys.stderr)
    return manifest


def _write_licenses(out: Path, corpora: tuple[Corpus, ...]) -> None:
    """``out/LICENSES.md`` (corpus, packages, license, voices held out) and the copyright files."""
    (out / "licenses").mkdir(parents=True, exist_ok=True)
    lines = ["# Licenses of the speech data in this folder", "",
             "| corpus | Debian packages | license | copyright files |", "|---|---|---|---|"]
    for corpus in corpora:
        names = []
        for path in corpus.copyright:
            if path.is_file():
                name = f"{path.parent.name}.copyright"
                shutil.copyfile(path, out / "licenses" / name)
                names.append(f"licenses/{name}")
        lines.append(f"| {corpus.name} | {corpus.packages} | {corpus.license} | {', '.join(names)} |")
    lines += ["", "Voices held out whole (split `unseen`): " + ", ".join(sorted(UNSEEN_VOICES)) + "."]
    (out / "LICENSES.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.datasets", description="Prepare speech datasets.")
    sub = parser.add_subparsers(dest="dataset", required=True)
    ast = sub.add_parser("asterisk", help="Asterisk prompts (Debian asterisk-core-sounds-*-g722) to FLAC + split")
    ast.add_argument("out", type=Path, help="output folder, e.g. data/asterisk")
    speech = sub.add_parser("speech", help="Asterisk + festvox-ru + KDE clips, with an unseen-speaker split")
    speech.add_argument("out", type=Path, help="output folder, e.g. data/speech")
    for p in (ast, speech):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    prepare = prepare_asterisk if args.dataset == "asterisk" else prepare_speech
    manifest = prepare(args.out, SplitConfig(seed=args.seed), args.jobs)
    print(f"wrote {manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()
