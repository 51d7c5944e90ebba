"""Every training recipe in scripts/zoo parses as a TrainConfig (fields, family, model config), and every
recipe a training script names exists."""
import json
import re
from pathlib import Path

import pytest

from ecc.train import TrainConfig

ROOT = Path(__file__).parent.parent
RECIPES = sorted((ROOT / "scripts" / "zoo").glob("*.json"))


def test_the_recipes_are_there():
    assert len(RECIPES) >= 10


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_parses(recipe: Path):
    config = TrainConfig.from_dict(json.loads(recipe.read_text()))
    assert config.steps > 0 and config.out.startswith("runs/")


def recipes_named_by(script: str) -> set[str]:
    """The scripts/zoo recipes a shell script trains: named outright, or through a loop variable
    (``for stage in a b; do … scripts/zoo/$stage.json``)."""
    named = set(re.findall(r"scripts/zoo/[\w.-]+\.json", script))
    for var, words in re.findall(r"for (\w+) in ([^;\n]+); do", script):
        if f"scripts/zoo/${var}.json" in script:
            named |= {f"scripts/zoo/{word}.json" for word in words.split()}
    return named


def test_every_recipe_a_script_trains_exists():
    """A recipe renamed or removed would otherwise surface hours into a training script."""
    named = {name for script in (ROOT / "scripts").glob("*.sh") for name in recipes_named_by(script.read_text())}
    assert {"scripts/zoo/gen1.json", "scripts/zoo/ecc-mel-e2e.json", "scripts/zoo/ecc-mel-klt96-d-mild.json"} <= named
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []
