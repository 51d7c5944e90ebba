"""The `ecc bench --html` listening page in a real headless browser: it loads without console errors,
every audio source exists and decodes, every plot loads; a screenshot is kept as a test artifact
(``test-artifacts/``, not committed)."""
import os
import shutil
from pathlib import Path

import pytest

from ecc.cli import main

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs the Debian package chromium (scripts/install.sh)")
def test_listening_page_in_headless_chromium(tmp_path, sample_paths):
    from browser import Chromium

    out = tmp_path / "bench"
    assert main(["bench", str(sample_paths[0].parent), "--codecs", "opus,ecc", "--points", "opus=6k,12k",
                 "--points", "ecc=ecc-0k6,ecc-1k5", "--metrics", "pesq", "--html", "--listen", "2",
                 "--out", str(out)]) == 0
    page = out / "index.html"
    text = page.read_text()
    assert text.count("<audio") == 2 * (1 + 4)  # per clip: the reference, then 2 Opus + 2 ECC points
    assert text.index("reference") < text.index("listen/00-opus")
    with Chromium() as browser:
        browser.open(page.as_uri())
        report = browser.evaluate("listeningPageSelfTest()")
        assert report["audio"] == 10 and report["decoded"] == 10, report["failed"]
        assert report["images"] == []  # every plot loaded
        assert browser.console_errors() == []
        shot = browser.screenshot(ARTIFACTS / "listening-page.png")
    assert shot.stat().st_size > 10_000
