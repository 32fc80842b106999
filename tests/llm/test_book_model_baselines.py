"""scripts/book_model_baselines.py: the char GPT's per-character score shares p(<unk>) among the characters it stands for."""

import math

import torch

from helpers.models.gpt import GPT, GPTConfig
from helpers.text import CharTokenizer

from ._scripts import load_script as _load


def load_script():
    return _load("book_model_baselines")


def test_unknown_characters_pay_for_the_share_of_unk_they_get():
    train = "人民日报人民日报新年讲话\n很好很好"
    tok = CharTokenizer.from_text(train, max_vocab=8, unk_token="<unk>")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=4, n_layer=1, n_head=2, n_embd=8, dropout=0.0))
    text = "人民猫报新年"                                   # 猫 never seen; some seen characters are outside the vocabulary
    got = load_script().char_gpt_nats_per_char(model, tok, text, set(train))
    outside = set(train) - set(tok.stoi)
    ids = tok.encode("\n" + text)
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(ids) - 1, 4):                 # the same windows of block_size
            x = torch.tensor([ids[s: s + 4]])[:, : len(ids[s + 1: s + 5])]
            logp = torch.log_softmax(model(x)[0][0], dim=-1)
            for j, target in enumerate(ids[s + 1: s + 5]):
                total -= logp[j, target].item()
                if target == tok.unk_id:
                    total += math.log(len(outside) + 1)
    assert outside                                           # the case under test exists
    assert abs(got - total / len(text)) < 1e-6                # float32 sums
