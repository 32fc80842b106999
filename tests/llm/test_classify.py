"""SequenceClassifier: padding never changes a sequence's pooled state; training, prediction, bad inputs."""

import pytest
import torch

from helpers.llm.classify import (SequenceClassifier, pad_batch, pool, pooled_features, predict,
                                  train_classifier)
from helpers.lora import apply_lora
from helpers.models.gpt import GPT, GPTConfig
from helpers.models.llama import Llama, LlamaConfig


def tiny_llama(seed=0):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=40, n_embd=16, n_layer=2, n_head=4, n_kv_head=2, max_seq_len=16,
                             tie_word_embeddings=True)).eval()


SEQS = [[1, 2, 3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13], [14]]


def test_pad_batch_pads_right_and_truncates():
    ids, mask = pad_batch(SEQS, max_len=5, pad_id=0)
    assert ids.shape == mask.shape == (4, 5) and ids.dtype == torch.long and mask.dtype == torch.bool
    assert ids[0].tolist() == [1, 2, 3, 4, 5]                       # truncated: the first max_len tokens kept
    assert ids[1].tolist() == [8, 9, 0, 0, 0] and mask[1].tolist() == [True, True, False, False, False]
    assert mask.sum(1).tolist() == [5, 2, 4, 1]
    assert pad_batch([[3, 4]], max_len=8)[0].shape == (1, 2)        # cut to the longest sequence


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_pooling_with_padding_equals_each_sequence_alone(pooling):
    model = tiny_llama()
    clf = SequenceClassifier(model, n_classes=3, pooling=pooling).eval()
    ids, mask = pad_batch(SEQS, max_len=16, pad_id=39)
    with torch.no_grad():
        batched = clf.pooled(ids, mask)
        for i, s in enumerate(SEQS):
            h = model.features(torch.tensor([s]))[0]                # (T_i, d), no padding at all
            ref = h.mean(0) if pooling == "mean" else h[-1]
            torch.testing.assert_close(batched[i], ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(clf(ids, mask), clf.head(batched))
    # the pad id does not matter (causal attention: pads come after every real token)
    ids0, _ = pad_batch(SEQS, max_len=16, pad_id=0)
    with torch.no_grad():
        torch.testing.assert_close(clf.pooled(ids0, mask), batched)


def test_pool_matches_a_hand_computed_case():
    h = torch.arange(12.0).view(2, 3, 2)                            # (B=2, T=3, d=2)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    assert pool(h, mask, "mean").tolist() == [[1.0, 2.0], [8.0, 9.0]]
    assert pool(h, mask, "last").tolist() == [[2.0, 3.0], [10.0, 11.0]]


def test_works_with_gpt_and_without_mask():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8))
    clf = SequenceClassifier(gpt, n_classes=2)
    ids = torch.randint(0, 20, (3, 5))
    torch.testing.assert_close(clf(ids), clf(ids, torch.ones(3, 5, dtype=torch.bool)))


def test_pooled_features_and_predict_agree_with_forward_and_keep_the_mode():
    clf = SequenceClassifier(tiny_llama(), n_classes=2)
    ids, mask = pad_batch(SEQS, max_len=16)
    clf.train()
    feats = pooled_features(clf.model, ids, mask, batch_size=3)     # batches of 3 and 1, each cut to its length
    pred = predict(clf, ids, mask, batch_size=3)
    assert clf.training and clf.model.training
    clf.eval()
    with torch.no_grad():
        torch.testing.assert_close(feats, clf.pooled(ids, mask), atol=1e-5, rtol=1e-5)
        assert pred.tolist() == clf(ids, mask).argmax(-1).tolist()


def test_training_fits_a_separable_task_and_is_seeded():
    # label = whether the text starts with token 1: the model must learn it from the ids
    seqs = [[1 + (i % 2), 5 + i % 7, 3] for i in range(32)]
    labels = torch.tensor([1 - i % 2 for i in range(32)])
    ids, mask = pad_batch(seqs, max_len=8)
    runs = []
    for _ in range(2):
        clf = SequenceClassifier(tiny_llama(), n_classes=2)
        runs.append(train_classifier(clf, ids, mask, labels, epochs=15, lr=3e-3, head_lr=1e-2, batch_size=8, seed=1))
    assert runs[0] == runs[1]                                       # same seed, same losses
    assert runs[0][-1] < 0.1 < runs[0][0]
    assert (predict(clf, ids, mask) == labels).all()


def test_lora_trains_only_adapters_and_head():
    clf = SequenceClassifier(tiny_llama(), n_classes=2)
    apply_lora(clf, ["q_proj", "v_proj"], rank=2, alpha=4, trainable=["head"])
    frozen = {n: p.clone() for n, p in clf.named_parameters() if not p.requires_grad}
    ids, mask = pad_batch(SEQS, max_len=16)
    train_classifier(clf, ids, mask, torch.tensor([0, 1, 0, 1]), epochs=2, lr=1e-2)
    assert all(torch.equal(p, frozen[n]) for n, p in clf.named_parameters() if n in frozen)


def test_bad_inputs_are_refused():
    model = tiny_llama()
    with pytest.raises(TypeError, match="features"):
        SequenceClassifier(torch.nn.Linear(2, 2), n_classes=2)
    with pytest.raises(ValueError, match="n_classes"):
        SequenceClassifier(model, n_classes=1)
    with pytest.raises(ValueError, match="pooling"):
        SequenceClassifier(model, n_classes=2, pooling="max")
    with pytest.raises(ValueError, match="empty"):
        pad_batch([[1], []], max_len=4)
    with pytest.raises(ValueError, match="non-empty list"):
        pad_batch([], max_len=4)
    with pytest.raises(ValueError, match="max_len"):
        pad_batch([[1]], max_len=0)
    clf = SequenceClassifier(model, n_classes=2)
    ids, mask = pad_batch(SEQS, max_len=16)
    with pytest.raises(ValueError, match="shape of ids"):
        clf(ids, mask[:, :-1])
    with pytest.raises(ValueError, match="right padding"):
        clf(ids, mask.flip(1))                                      # left padding is refused
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        clf(ids.float(), mask)
    with pytest.raises(ValueError, match="lie in 0..1"):
        train_classifier(clf, ids, mask, torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="shape"):
        train_classifier(clf, ids, mask, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="head_lr"):
        train_classifier(clf, ids, mask, torch.tensor([0, 1, 0, 1]), head_lr=0.0)
    for p in clf.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameter"):
        train_classifier(clf, ids, mask, torch.tensor([0, 1, 0, 1]))


def test_pool_pooled_features_and_predict_refuse_bad_input():
    model = tiny_llama()
    ids, mask = pad_batch(SEQS, max_len=16)
    h = torch.randn(*ids.shape, 8)
    with pytest.raises(ValueError, match="pooling"):
        pool(h, mask, pooling="max")
    with pytest.raises(ValueError, match="pooling"):
        pooled_features(model, ids, mask, pooling="sum")
    with pytest.raises(ValueError, match="right padding"):
        pooled_features(model, ids, mask.flip(1))
    clf = SequenceClassifier(model, n_classes=2)
    with pytest.raises(ValueError, match="shape of ids"):
        predict(clf, ids, mask[:, :-1])
