from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.flac"))


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    assert SAMPLES, "the committed sample clips are missing"
    return SAMPLES
