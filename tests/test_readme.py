"""The README's two set-up commands are the ones the project actually runs."""

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The commands in the README's "Two commands" section, in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", section)


def test_two_commands():
    assert len(readme_commands()) == 2


def test_ci_runs_the_readme_test_command():
    ci_command = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert readme_commands()[1] == ci_command


def test_main_command_runs_the_an4_recipe():
    main = readme_commands()[0]
    assert main.startswith("bash scripts/setup_env.sh")
    assert "recipes/an4/run.sh" in main
    assert os.access(REPO / "recipes" / "an4" / "run.sh", os.X_OK)
