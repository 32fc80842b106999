"""The environment cell every notebook starts with, derived from `_config.yml`.

    python scripts/env_cell.py          # print the canonical cell
    python scripts/env_cell.py --write  # put it into every chapters/**/*.md notebook

The repository URL is read from `_config.yml` (repository.url), the single
place it is configured; tests/book/test_notebooks.py checks every notebook
against `env_cell()`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_MARKER = "# Environment cell (identical on every page)"


def repo_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def env_cell() -> str:
    return f'''{CELL_MARKER}: on Colab install helpers; everywhere seed, pick the device, read the scale.
FULL_SCALE = False  # True: full scale (GPU/Colab); or set the environment variable LLMBOOK_SCALE=full
import importlib.util, subprocess, sys
if "google.colab" in sys.modules and importlib.util.find_spec("helpers") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+{repo_url()}.git"], check=True)
import helpers
env = helpers.setup(seed=0, full=FULL_SCALE)'''


_FIRST_CELL = re.compile(r"```\{code-cell\} ipython3\n(?:---\n.*?\n---\n)?(.*?)```", re.S)


def write_all() -> list[Path]:
    changed = []
    for md in sorted((ROOT / "chapters").glob("**/*.md")):
        text = md.read_text(encoding="utf-8")
        m = _FIRST_CELL.search(text)
        if m is None or CELL_MARKER not in m.group(1):
            continue
        new = text[:m.start(1)] + env_cell() + "\n" + text[m.end(1):]
        if new != text:
            md.write_text(new, encoding="utf-8")
            changed.append(md)
    return changed


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        for path in write_all():
            print(f"updated {path.relative_to(ROOT)}")
    else:
        print(env_cell())
