"""docs/synthetic.md lists the generator's settings with their current defaults."""

from pathlib import Path

import yaml

from pbr.synthetic.params import SyntheticParams

DOC = Path(__file__).resolve().parents[2] / "docs" / "synthetic.md"
MARKER = "<!-- generated from SyntheticParams"  # the settings block follows it


def test_documented_defaults_are_the_generators():
    text = DOC.read_text()
    block = text.split(MARKER)[1].split("```yaml\n")[1].split("```")[0]
    defaults = SyntheticParams().to_dict()
    for key in ("scale", "seed", "pilot_rule", "dates"):
        defaults.pop(key)
    assert yaml.safe_load(block) == defaults
