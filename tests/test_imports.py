"""One-way imports: entropy <- ecc <- benchmarks. ``ecc`` reaches the benchmark commands only through
the ``ecc.commands`` entry point."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_packages(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("folder, forbidden", [("entropy", {"ecc", "benchmarks"}), ("ecc", {"benchmarks"})])
def test_no_upward_imports(folder, forbidden):
    offenders = {path: sorted(names & forbidden) for path, names in _imported_packages(folder).items()
                 if names & forbidden}
    assert offenders == {}


def test_the_ecc_program_loads_no_benchmark_code_until_asked():
    code = ("import sys, ecc.cli, ecc.codec, ecc.train, ecc.vocoder_train, ecc.streaming, ecc.zoo\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'benchmarks'], 'benchmarks imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    help_text = subprocess.run([sys.executable, "-m", "ecc", "--help"], capture_output=True, text=True, check=True).stdout
    assert "bench" in help_text and "prepare-data" in help_text  # registered through the entry point
