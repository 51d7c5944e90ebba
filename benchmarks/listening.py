"""A static listening page for an ``ecc bench`` run: the RD plots, the tables, and for a few chosen
files an audio player per codec and operating point (the reference first). No server is needed:
open ``OUT/index.html`` from disk; the decoded clips are FLAC files under ``OUT/listen/``.

The page carries ``listeningPageSelfTest()``, which the tests call in headless Chromium: it loads and
decodes every audio element's source with the Web Audio API and checks that every image loaded.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from ecc.audio import load_audio, spread_evenly

from .codecs import HARNESS_RATE, get_codec
from .metrics import METRICS

SELFTEST = """
<script>
// Self-check for headless tests: resolves to {audio, decoded, failed, images} once every audio source
// has been loaded and decoded with the Web Audio API, and every image has loaded.
window.listeningPageSelfTest = async function () {
  function load(src) {  // XMLHttpRequest, not fetch: it reads file:// pages too
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("GET", src);
      request.responseType = "arraybuffer";
      request.onload = () => request.response && request.response.byteLength ? resolve(request.response)
                                                                              : reject(new Error("no data"));
      request.onerror = () => reject(new Error("cannot load"));
      request.send();
    });
  }
  const players = [...document.querySelectorAll("audio")];
  const report = {audio: players.length, decoded: 0, failed: []};
  const context = new OfflineAudioContext(1, 16000, 16000);
  await Promise.all(players.map(async player => {
    try {
      const buffer = await context.decodeAudioData(await load(player.src));
      if (buffer.length > 0) report.decoded += 1; else report.failed.push(player.src + ": empty");
    } catch (err) { report.failed.push(player.src + ": " + err); }
  }));
  report.images = [...document.images].filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  return report;
};
</script>
"""

STYLE = """
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; }
audio { height: 2em; vertical-align: middle; }
.clip td { text-align: left; }
</style>
"""


def pick_clips(files: list[Path], count: int, min_seconds: float = 2.0, max_seconds: float = 12.0) -> list[Path]:
    """``count`` files spread evenly over ``files``, preferring ones of ``min_seconds``..``max_seconds``."""
    durations = {f: sf.info(f).duration for f in files}
    fitting = [f for f in files if min_seconds <= durations[f] <= max_seconds] or list(files)
    return spread_evenly(fitting, count)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, na_rep="–")


def write_page(out: Path, aggregate: pd.DataFrame, metrics: list[str], files: list[Path], clips: int,
               data_label: str) -> Path:
    """Code the chosen clips with every codec and point of ``aggregate`` and write ``out/index.html``."""
    listen = out / "listen"
    listen.mkdir(parents=True, exist_ok=True)
    chosen = pick_clips(files, clips)
    sections = []
    for n, path in enumerate(tqdm(chosen, desc="listening page", unit="clip")):
        audio = load_audio(path, HARNESS_RATE).samples
        seconds = len(audio) / HARNESS_RATE
        rows = [_player_row("reference", "", f"{path.name}", _write_clip(listen / f"{n:02d}-reference.flac", audio))]
        for codec, point in aggregate[["codec", "point"]].itertuples(index=False):
            try:
                coded = get_codec(codec).code(audio, point)
            except Exception as exc:  # a codec failing on one clip: say so in the page
                rows.append(f"<tr><td>{html.escape(codec)}</td><td>{html.escape(point)}</td>"
                            f"<td colspan=2>failed: {html.escape(str(exc))}</td></tr>")
                continue
            name = f"{n:02d}-{codec}-{point}.flac".replace("/", "_")
            rows.append(_player_row(codec, point, f"{coded.file_bits / seconds / 1000:.2f} kbps",
                                    _write_clip(listen / name, coded.audio[: len(audio)])))
        sections.append(f"<h3>{html.escape(path.name)} ({seconds:.1f} s)</h3>\n<table class=clip>\n"
                        "<tr><th>codec</th><th>point</th><th>this clip</th><th>listen</th></tr>\n"
                        + "\n".join(rows) + "\n</table>")
    plots = "".join(f'<img src="rd_{m}.png" alt="{html.escape(METRICS[m].label)} vs bitrate">\n'
                    for m in metrics if (out / f"rd_{m}.png").is_file())
    columns = ["codec", "point", "files", "file_kbps", "payload_kbps", *metrics]
    bd = out / "bd_rate.csv"
    bd_html = f"<h2>BD-rate</h2>\n{_table(pd.read_csv(bd))}" if bd.is_file() else ""
    page = (f"<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>ecc bench: {html.escape(data_label)}"
            f"</title>{STYLE}</head><body>\n<h1>Rate–distortion results</h1>\n<p>Data: {html.escape(data_label)}. "
            "File kbps = coded file bits / duration (containers included).</p>\n"
            f"{plots}<h2>Results</h2>\n{_table(aggregate[[c for c in columns if c in aggregate.columns]])}\n{bd_html}\n"
            f"<h2>Listen</h2>\n<p>{len(chosen)} clips, decoded by every codec and operating point above "
            "(16-bit FLAC at 16 kHz), the reference first.</p>\n" + "\n".join(sections)
            + f"\n{SELFTEST}</body></html>\n")
    path = out / "index.html"
    path.write_text(page)
    return path


def _write_clip(path: Path, audio: np.ndarray) -> str:
    sf.write(path, np.clip(audio, -1, 1), HARNESS_RATE, format="FLAC", subtype="PCM_16")
    return f"listen/{path.name}"


def _player_row(codec: str, point: str, rate: str, src: str) -> str:
    return (f"<tr><td>{html.escape(codec)}</td><td>{html.escape(point)}</td><td>{html.escape(rate)}</td>"
            f'<td><audio controls preload=none src="{html.escape(src)}"></audio></td></tr>')
