"""Bad input to helpers.train.logits_to_labels raises an error naming the argument."""

import pytest
import torch

from helpers.train import logits_to_labels


def test_logits_to_labels_refuses_lists_scalars_and_sequence_logits():
    with pytest.raises(TypeError, match="logits is a list; pass a tensor"):
        logits_to_labels([[0.1, 0.9]])
    with pytest.raises(ValueError, match=r"logits has shape \(\); pass \(B, C\) class scores"):
        logits_to_labels(torch.tensor(0.3))
    with pytest.raises(ValueError, match=r"logits has shape \(2, 3, 5\)"):
        logits_to_labels(torch.zeros(2, 3, 5))
