"""Baselines for the book model, on the same held-out People's Daily characters it is scored on.

    python scripts/book_model_baselines.py            # ~3 min on 2 CPU cores; writes the JSON below

- Kneser–Ney character n-grams (:class:`helpers.llm.ngram.KneserNeyLM`), orders 1 to 5, counted on
  the People's Daily training documents of :func:`helpers.llm.corpus.build_corpus`.
- The character-level GPT of lesson 5.4 with that lesson's default recipe (2,000-character
  vocabulary, 2 layers, 64 dimensions, context 32, 500 steps), trained on the same training text.
  Its ``<unk>`` id stands for every character outside the vocabulary; to score real characters,
  ``p(<unk>)`` is shared equally among the training characters it stands for plus one slot for
  characters never seen (the n-gram's unknown slot is the same idea).

Writes ``helpers/llm/artifacts/baselines.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import helpers  # noqa: E402
from helpers.llm.corpus import build_corpus  # noqa: E402
from helpers.llm.ngram import KneserNeyLM  # noqa: E402
from helpers.lm import train_lm  # noqa: E402
from helpers.models.gpt import GPT, GPTConfig  # noqa: E402
from helpers.text import CharTokenizer  # noqa: E402

DEFAULT_OUT = ROOT / "helpers" / "llm" / "artifacts" / "baselines.json"


@torch.no_grad()
def char_gpt_nats_per_char(model, tok: CharTokenizer, text: str, train_chars: set[str]) -> float:
    """Per-character NLL of ``text`` under a char GPT, preceded by a newline, windows of ``block_size``."""
    unk = tok.unk_id                                   # the id every unknown character gets
    unknown_share = len(train_chars - set(tok.stoi)) + 1
    ids = torch.tensor(tok.encode("\n" + text))
    T = model.config.block_size
    model.eval()
    total = 0.0
    for s in range(0, len(ids) - 1, T):
        x = ids[s: s + T][None]
        y = ids[s + 1: s + T + 1]
        x = x[:, :len(y)]
        logp = torch.log_softmax(model(x)[0][0].float(), dim=-1)
        nll = -logp[torch.arange(len(y)), y]
        nll = nll + (y == unk).float() * math.log(unknown_share)
        total += nll.sum().item()
    return total / len(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    env = helpers.setup(seed=0, full=False)
    corpus = build_corpus(("peoples_daily", "reviews", "poetry"), held_out=0.05, max_poems=30_000)
    train, held = corpus.text("train", "peoples_daily"), corpus.text("held_out", "peoples_daily")
    result = {"held_out_chars": len(held), "train_chars": len(train), "ngram": {},
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "threads": torch.get_num_threads()}
    for order in (1, 2, 3, 4, 5):
        t0 = time.time()
        lm = KneserNeyLM.fit(train, order)
        result["ngram"][str(order)] = lm.nats_per_char(held)
        print(f"Kneser-Ney {order}-gram: {result['ngram'][str(order)]:.4f} nats/char ({time.time() - t0:.0f} s)",
              flush=True)
    # lesson 5.4's character GPT, its default recipe
    tok = CharTokenizer.from_text(train, max_vocab=2000, unk_token="<unk>")
    train_ids = torch.tensor(tok.encode(train))
    val_ids = torch.tensor(tok.encode(held))
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64, dropout=0.0,
                       tie_weights=False)
    model = GPT(config).to(env.device)
    t0 = time.time()
    train_lm(model, train_ids, val_ids, max_iters=500, batch_size=16, lr=1e-2, warmup=50,
             embedding_lr_scale=5.0, eval_interval=500, eval_windows=64, seed=0, progress=False)
    result["char_gpt"] = {"recipe": "lesson 5.4 default: vocab 2000, 2 layers, 4 heads, 64 dims, block 32, "
                                    "500 steps, batch 16, lr 1e-2, embedding_lr_scale 5",
                          "params": sum(p.numel() for p in model.parameters()),
                          "nats_per_char": char_gpt_nats_per_char(model.cpu(), tok, held, set(train)),
                          "train_seconds": time.time() - t0}
    print(f"char GPT (lesson 5.4): {result['char_gpt']['nats_per_char']:.4f} nats/char", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    helpers.atomic.write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
