"""Every training recipe in scripts/zoo parses as a TrainConfig (fields, family, model config)."""
import json
from pathlib import Path

import pytest

from ecc.train import TrainConfig

RECIPES = sorted((Path(__file__).parent.parent / "scripts" / "zoo").glob("*.json"))


def test_the_recipes_are_there():
    assert len(RECIPES) >= 10


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_parses(recipe: Path):
    config = TrainConfig.from_dict(json.loads(recipe.read_text()))
    assert config.steps > 0 and config.out.startswith("runs/")
