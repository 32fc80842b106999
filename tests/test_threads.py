"""helpers.threads: OpenMP threads that sleep when idle, or one thread when they would spin.

Each case runs in a fresh interpreter: OpenMP reads its environment once, when torch loads it.
"""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
{pre}
import helpers, torch
env = helpers.setup(seed=0, quiet=True)
print(json.dumps({{"policy": os.environ.get("OMP_WAIT_POLICY"), "threads": torch.get_num_threads(),
                  "setting": helpers.thread_setting(), "summary": env.summary(),
                  "before": helpers.threads.TORCH_LOADED_BEFORE_HELPERS}}))
"""

def _probe(pre: str = "", **env_vars) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(env_vars)
    out = subprocess.run([sys.executable, "-c", PROBE.format(pre=pre)], env=env, capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])

    return torch._C._get_num_threads_default() if hasattr(torch._C, "_get_num_threads_default") else os.cpu_count()

def test_importing_helpers_first_makes_idle_threads_sleep_and_keeps_every_core():
    r = _probe()
    assert r["policy"] == "PASSIVE" and r["before"] is False
    assert r["threads"] == (os.cpu_count() or 1)
    assert "OMP_WAIT_POLICY=PASSIVE" in r["setting"] and r["setting"] in r["summary"]

def test_torch_imported_first_with_spinning_threads_falls_back_to_one_thread():
    r = _probe(pre="import torch")
    assert r["before"] is True and r["policy"] is None
    assert r["threads"] == 1
    assert r["setting"].startswith("threads=1 (torch was imported before helpers")

def test_a_policy_the_reader_chose_is_kept():
    r = _probe(OMP_WAIT_POLICY="ACTIVE")
    assert r["policy"] == "ACTIVE" and r["threads"] == 1

@pytest.mark.parametrize("pre", ["", "import torch"])
def test_an_explicit_thread_count_is_always_respected(pre):
    r = _probe(pre=pre, OMP_NUM_THREADS="1")
    assert r["threads"] == 1 and r["setting"] == "threads=1 (OMP_NUM_THREADS=1)"

def test_summary_names_the_thread_setting_only_on_the_cpu():
    import torch

    from helpers.env import Env

    cpu = Env(device=torch.device("cpu"), scale="default", seed=0, threads="threads=2 (x)")
    assert cpu.summary().endswith(" | threads=2 (x)")
    meta = Env(device=torch.device("meta"), scale="default", seed=0, threads="threads=2 (x)")
    assert "threads" not in meta.summary()


def test_configure_in_process_covers_each_branch(monkeypatch):
    """The same decisions, in this process (restoring torch's thread count afterwards)."""
    import torch

    from helpers import threads

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert threads.configure() == f"threads={torch.get_num_threads()} (OMP_NUM_THREADS=3)"
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr(threads, "WAIT_POLICY", "PASSIVE")
        assert threads.configure().endswith("(idle OpenMP threads sleep: OMP_WAIT_POLICY=PASSIVE)")
        monkeypatch.setattr(threads, "WAIT_POLICY", "ACTIVE")
        assert threads.configure().startswith("threads=1 (") and torch.get_num_threads() == 1
        assert threads.thread_setting() == threads.configure()
        monkeypatch.setattr(threads, "_chosen", None)
        assert threads.thread_setting().startswith("threads=1 (")
    finally:
        torch.set_num_threads(before)
