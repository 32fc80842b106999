"""Load a script of scripts/ as a module, and run it on a tiny configuration (shared by the script tests)."""

import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str):
    """``scripts/<name>.py`` as a fresh module (its ``main(argv)`` is then called in-process)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, argv) -> int:
    """``main(argv)`` of the script; restores torch's thread count, which the scripts may change."""
    threads = torch.get_num_threads()
    try:
        return load_script(name).main([str(a) for a in argv])
    finally:
        torch.set_num_threads(threads)
