"""Bad input to helpers.checkpoint.read_checkpoint raises an error naming the file and what is wrong."""

import pytest
import torch

from helpers.checkpoint import read_checkpoint


def test_read_checkpoint_refuses_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        read_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        read_checkpoint(tmp_path)                       # a folder is not a checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        read_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(ValueError, match="not written by helpers.save_checkpoint"):
        read_checkpoint(foreign)
