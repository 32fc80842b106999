"""helpers.env: seeding, device selection, scale, progress switch."""

import random

import numpy as np
import pytest
import torch

from helpers import env


def test_seed_everything_makes_all_generators_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    env.seed_everything(123)
    first = draw()
    env.seed_everything(123)
    assert draw() == first
    env.seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_non_negative_int(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        env.seed_everything(bad)


def test_device_order_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.get_device() == torch.device("cpu")
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert env.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_device() == torch.device("cuda")


def test_requested_device_must_exist(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.get_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        env.get_device("cuda:0")
    with pytest.raises(RuntimeError, match="MPS is not available"):
        env.get_device("mps")


def test_scale_from_flag_argument_and_environment(monkeypatch):
    monkeypatch.delenv(env.SCALE_ENV_VAR, raising=False)
    assert env.get_scale() == "default"
    assert env.get_scale(full=True) == "full"
    assert env.get_scale("FULL") == "full"
    monkeypatch.setenv(env.SCALE_ENV_VAR, "full")
    assert env.get_scale() == "full"
    monkeypatch.setenv(env.SCALE_ENV_VAR, "huge")
    with pytest.raises(ValueError, match="unknown scale 'huge'.*LLMBOOK_SCALE=full"):
        env.get_scale()


def test_progress_switch(monkeypatch):
    monkeypatch.setenv(env.PROGRESS_ENV_VAR, "none")
    assert env.progress_enabled() is False
    monkeypatch.setenv(env.PROGRESS_ENV_VAR, "bar")
    assert env.progress_enabled() is True
    monkeypatch.setenv(env.PROGRESS_ENV_VAR, "sometimes")
    with pytest.raises(ValueError, match="use 'bar' or 'none'"):
        env.progress_enabled()
    monkeypatch.delenv(env.PROGRESS_ENV_VAR)
    assert isinstance(env.progress_enabled(), bool)


def test_setup_seeds_prints_one_line_and_returns_env(capsys, monkeypatch):
    monkeypatch.delenv(env.SCALE_ENV_VAR, raising=False)
    e = env.setup(seed=7, device="cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("device=cpu | scale=default | seed=7 | python ")
    assert f"torch {torch.__version__}" in out[0]
    assert e.device == torch.device("cpu") and e.scale == "default" and not e.full
    a = torch.rand(3)
    env.setup(seed=7, device="cpu", quiet=True)
    assert torch.equal(a, torch.rand(3))
    assert env.setup(full=True, quiet=True).full


def test_find_upwards_returns_the_nearest_match_or_none(tmp_path, monkeypatch):
    from helpers.env import find_upwards

    (tmp_path / "benchmarks" / "run").mkdir(parents=True)
    (tmp_path / "a" / "b" / "benchmarks" / "other").mkdir(parents=True)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir()
    assert find_upwards("benchmarks/run", deep) == tmp_path / "benchmarks" / "run"
    assert find_upwards("benchmarks/other", deep) == tmp_path / "a" / "b" / "benchmarks" / "other"
    assert find_upwards("benchmarks/missing", deep) is None
    monkeypatch.chdir(deep)
    assert find_upwards("benchmarks/run") == tmp_path / "benchmarks" / "run"
