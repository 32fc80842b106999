"""Instruction-tune the book model (SFT) into the book's chat model, deterministic under its seed.

    python scripts/sft_book_model.py --config book --out runs/chat     # about an hour on 2 CPU cores
    python scripts/sft_book_model.py --config full --out runs/chat-full  # more data and steps (GPU)
    python scripts/sft_book_model.py --config tiny --out /tmp/chat     # seconds (the test)

What it does, in order (each step is printed to the log):

1. **Tasks** (:func:`helpers.llm.tasks.build_tasks`): ``n_train`` instructions per task for
   training and ``n_test`` held-out ones, split by source item; the script checks that no
   held-out word, review or number pair appears in a training prompt.
2. **Base model**: exact match of the shipped book model's greedy replies on every held-out set.
3. **Runs**, each starting from the shipped book model with the same batches (``--seed``):

   - ``full``    every weight, loss on the replies only: the chat model that ships;
   - ``prompt``  the same, but the loss also on the prompt tokens (the mistake the lesson shows);
   - ``lora``    LoRA adapters (rank ``lora_rank``) on every projection, the other weights frozen
                 except the token embedding (tied to the output layer): the chat markers never
                 occur in pretraining, so their rows must be learned.

   Each run logs its loss and, at the end, the exact match on every held-out set.
4. **Output** (``--out``): ``log.jsonl`` (one JSON object per event), ``train_log.txt`` (what was
   printed) and ``chat-model/``, the ``full`` run saved with its weights in float16 (the folder that
   ships in ``helpers/llm/artifacts/chat-model``). The saved folder is loaded back and evaluated
   again (event ``shipped``), so the numbers quoted by the lessons are those of the shipped weights.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import helpers  # noqa: E402,F401  (sets the OpenMP wait policy before torch starts its threads)
from helpers.lora import apply_lora, merge_lora  # noqa: E402
from helpers.llm.book_model import BOOK_MODEL_DIR, load_book_model, save_book_model  # noqa: E402
from helpers.llm.evaluate import exact_match  # noqa: E402
from helpers.llm.sft import generate_replies, reply_tokens, sft_examples, train_sft  # noqa: E402
from helpers.llm.tasks import build_tasks, check_disjoint, conversation  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from pretrain_book_model import Log  # noqa: E402  (train_log.txt and log.jsonl, written as they happen)

BOOK_TASKS = ("length", "first_char", "sentiment", "join")
CONFIGS = {
    "tiny": dict(tasks=("length", "sentiment"), n_train=24, n_test=6, steps=4, batch_size=4, lr=1e-3,
                 lora_rank=4, lora_lr=2e-3, log_every=2, runs=("full", "prompt", "lora")),
    "book": dict(tasks=BOOK_TASKS, n_train=2500, n_test=200, steps=3000, batch_size=16, lr=1e-3,
                 lora_rank=16, lora_lr=3e-3, log_every=50, runs=("full", "prompt", "lora")),
    "full": dict(tasks=BOOK_TASKS + ("addition",), n_train=3000, n_test=400, steps=8000, batch_size=32, lr=1e-3,
                 lora_rank=16, lora_lr=3e-3, log_every=200, runs=("full", "prompt", "lora")),
}
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MAX_LEN = 127
MAX_NEW_TOKENS = 16


def evaluate(model, tok, test) -> dict:
    """``{task: {"exact": fraction, "n": count, "samples": first three (prompt, reply, answer)}}``."""
    out = {}
    for task, items in test.items():
        replies = generate_replies(model, tok, [i.prompt for i in items], max_new_tokens=MAX_NEW_TOKENS)
        out[task] = {"exact": exact_match(replies, [i.answer for i in items]), "n": len(items),
                     "samples": [[i.prompt, r, i.answer] for i, r in zip(items[:3], replies[:3])]}
    return out


def report(log: Log, name: str, scores: dict) -> None:
    log("  " + "  ".join(f"{t} {s['exact']:.3f}" for t, s in scores.items()) + f"   ({name})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="book")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", help="comma-separated subset of the configuration's runs (full,prompt,lora)")
    parser.add_argument("--base", type=Path, default=BOOK_MODEL_DIR, help="the pretrained model folder")
    args = parser.parse_args(argv)
    cfg = dict(CONFIGS[args.config])
    runs = cfg["runs"] if args.runs is None else tuple(args.runs.split(","))
    unknown = [r for r in runs if r not in CONFIGS[args.config]["runs"]]
    if unknown or not runs:
        parser.error(f"--runs {args.runs!r}: choose from {','.join(cfg['runs'])}")
    if args.seed < 0:
        parser.error(f"--seed {args.seed} must be >= 0")
    threads = torch.get_num_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out, resume=False)
    recipe = {**cfg, "runs": list(runs), "seed": args.seed, "config": args.config,
              "lora_targets": list(LORA_TARGETS), "max_len": MAX_LEN, "max_new_tokens": MAX_NEW_TOKENS}
    log(f"SFT of the book model: config {args.config}, seed {args.seed}, runs {','.join(runs)}, "
        f"torch {torch.__version__}, {threads} threads, {platform.machine()}")
    log.event("start", recipe=recipe, torch=torch.__version__, threads=threads, machine=platform.machine())

    train, test = build_tasks(cfg["tasks"], cfg["n_train"], cfg["n_test"], seed=args.seed)
    check_disjoint(train, [i for items in test.values() for i in items])
    base, tok = load_book_model(args.base)
    full_examples = sft_examples(tok, [conversation(i) for i in train], max_len=MAX_LEN)
    log(f"tasks: {len(train)} training instructions ({cfg['n_train']} per task), "
        f"{cfg['n_test']} held-out per task; no held-out source in training (checked); "
        f"{reply_tokens(full_examples)} reply tokens")
    log.event("tasks", tasks=list(cfg["tasks"]), n_train=len(train), n_test=cfg["n_test"],
              reply_tokens=reply_tokens(full_examples),
              tokens=sum(len(x) for x, _ in full_examples))

    scores = evaluate(base, tok, test)
    report(log, "base model", scores)
    log.event("eval", run="base", scores=scores)

    for run in runs:
        model, _ = load_book_model(args.base)
        examples = full_examples
        lr = cfg["lr"]
        if run == "prompt":
            examples = sft_examples(tok, [conversation(i) for i in train], max_len=MAX_LEN, train_on_prompt=True)
        if run == "lora":
            # The chat markers <|im_start|>/<|im_end|> never occur in pretraining, so their embeddings
            # are untrained; with the embedding frozen the model could hardly learn to stop.
            apply_lora(model, LORA_TARGETS, rank=cfg["lora_rank"], alpha=2.0 * cfg["lora_rank"],
                       trainable=("embed_tokens",))
            lr = cfg["lora_lr"]
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        log(f"run {run}: {trainable:,} trainable parameters, {cfg['steps']} steps of {cfg['batch_size']}, lr {lr}")
        t0 = time.time()
        losses = train_sft(model, examples, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=lr,
                           generator=torch.Generator().manual_seed(args.seed))
        seconds = time.time() - t0
        k = cfg["log_every"]
        curve = [sum(losses[i:i + k]) / len(losses[i:i + k]) for i in range(0, len(losses), k)]
        if run == "lora":
            merge_lora(model)
        model.eval()
        scores = evaluate(model, tok, test)
        report(log, f"{run}, {seconds:.0f} s, final loss {curve[-1]:.3f}", scores)
        log.event("run", run=run, trainable=trainable, lr=lr, seconds=round(seconds, 1),
                  loss_every=k, loss=[round(v, 4) for v in curve], scores=scores)
        if run == "full":
            dest = save_book_model(model, tok, args.out / "chat-model", recipe=recipe, dtype=torch.float16)
            shipped, _ = load_book_model(dest)
            scores = evaluate(shipped, tok, test)
            report(log, "full, as shipped in float16", scores)
            log.event("shipped", scores=scores)
    log("done")
    log.event("done")
    log.text.close()
    log.json.close()
    if (args.out / "chat-model").is_dir():      # the logs ship inside the model folder, checksummed
        save_book_model(*load_book_model(args.out / "chat-model"), args.out / "chat-model", recipe=recipe,
                        logs=(args.out / "train_log.txt", args.out / "log.jsonl"), dtype=torch.float16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
