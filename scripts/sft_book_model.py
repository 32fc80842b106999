"""Instruction-tune the book model (SFT) into the book's chat model, deterministic under its seed.

    python scripts/sft_book_model.py --config book --out runs/chat     # about 40 min on 2 CPU cores
    python scripts/sft_book_model.py --config full --out runs/chat-full  # more data and steps (GPU)
    python scripts/sft_book_model.py --config tiny --out /tmp/chat     # seconds (the test)

What it does, in order (each step is printed to the log):

1. **Tasks** (:func:`helpers.llm.tasks.build_tasks`): ``n_train`` instructions per task for
   training and ``n_test`` held-out ones, split by source item; the script checks that no
   held-out word, review or number pair appears in a training prompt.
2. **Base model**: exact match of the shipped book model's greedy replies on every held-out set.
3. **The chat model** (run ``chat``): every weight of the shipped book model trained on the mixture,
   loss on the replies only, averaged per example (``average``: a ``join`` reply is about 9 tokens,
   a ``length`` reply 2, so averaging per token would give ``join`` half of the gradient); exact match
   on every held-out set at the end.
4. **Comparisons**, on one task (``compare``), each from the shipped book model with the same batches:

   - ``full``    every weight, loss on the replies only;
   - ``prompt``  the same, but the loss also on the prompt tokens (the mistake the lesson shows);
   - ``lora``    LoRA adapters (rank ``lora_rank``) on every projection, the other weights frozen
                 except the token embedding (tied to the output layer): the chat markers never
                 occur in pretraining, so their rows must be learned.

5. **Interference** (runs ``with_count``, ``with_sentiment``, ``with_first_char``): the comparison task
   trained beside one other task, twice the steps, so it sees as many of its own instructions as ``full``;
   exact match on both held-out sets (event ``pair``). Which task costs it accuracy?

6. **Output** (``--out``): ``log.jsonl`` (one JSON object per event), ``train_log.txt`` (what was
   printed) and ``chat-model/``, the ``chat`` run saved with its weights in float16 (the folder that
   ships in ``helpers/llm/artifacts/chat-model``). The saved folder is loaded back and evaluated
   again (event ``shipped``), so the numbers quoted by the lessons are those of the shipped weights.

``--runs`` picks some of ``chat,full,prompt,lora,with_count,with_sentiment,with_first_char``; with
``--append`` their events are added to the log already in ``--out`` (e.g. the comparisons after a chat
run), and the shipped folder keeps the chat run's recipe.
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
from helpers.llm.book_model import BOOK_MODEL_DIR, book_recipe, load_book_model, save_book_model  # noqa: E402
from helpers.llm.evaluate import exact_match  # noqa: E402
from helpers.llm.sft import generate_replies, reply_tokens, sft_examples, train_sft  # noqa: E402
from helpers.llm.tasks import build_tasks, check_disjoint, conversation  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from pretrain_book_model import Log  # noqa: E402  (train_log.txt and log.jsonl, written as they happen)

BOOK_TASKS = ("length", "first_char", "count", "sentiment", "join")
PAIRED = ("count", "sentiment", "first_char")     # trained beside the comparison task in the runs with_<task>
RUNS = ("chat", "full", "prompt", "lora") + tuple(f"with_{t}" for t in PAIRED)
CONFIGS = {
    "tiny": dict(tasks=("length", "count"), n_train=24, n_test=6, steps=4, batch_size=4, lr=1e-3, average="example",
                 log_every=2,
                 compare=dict(task="length", n_train=12, steps=3, lora_rank=4, lora_lr=2e-3)),
    "book": dict(tasks=BOOK_TASKS, n_train=dict(length=10485, first_char=6000, count=6000, sentiment=6000, join=6000),
                 n_test=200, steps=3000, batch_size=16, lr=1e-3, average="example", log_every=50,
                 compare=dict(task="length", n_train=4800, steps=300, lora_rank=16, lora_lr=3e-3)),
    "full": dict(tasks=BOOK_TASKS + ("addition",), n_train=6900, n_test=400, steps=8000, batch_size=32, lr=1e-3,
                 average="example", log_every=200,
                 compare=dict(task="length", n_train=9600, steps=600, lora_rank=16, lora_lr=3e-3)),
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


def train_and_evaluate(log: Log, run: str, model, examples, steps: int, batch_size: int, lr: float,
                       log_every: int, seed: int, tok, test, event: str = "run", average: str = "token") -> dict:
    """Train ``model`` in place (LoRA adapters merged afterwards), log the loss curve and the held-out scores."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"run {run}: {trainable:,} trainable parameters, {steps} steps of {batch_size}, lr {lr}, "
        f"loss averaged by {average}")
    t0 = time.time()
    losses = train_sft(model, examples, steps=steps, batch_size=batch_size, lr=lr, average=average,
                       generator=torch.Generator().manual_seed(seed))
    seconds = time.time() - t0
    curve = [sum(losses[i:i + log_every]) / len(losses[i:i + log_every]) for i in range(0, len(losses), log_every)]
    merge_lora(model)
    model.eval()
    scores = evaluate(model, tok, test)
    report(log, f"{run}, {seconds:.0f} s, final loss {curve[-1]:.3f}", scores)
    log.event(event, run=run, trainable=trainable, lr=lr, average=average, seconds=round(seconds, 1),
              loss_every=log_every, loss=[round(v, 4) for v in curve], scores=scores)
    return scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="book")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", help=f"comma-separated subset of the runs ({','.join(RUNS)})")
    parser.add_argument("--base", type=Path, default=BOOK_MODEL_DIR, help="the pretrained model folder")
    parser.add_argument("--append", action="store_true",
                        help="add to the log already in --out (e.g. the comparison runs after the chat run) "
                             "instead of starting a new one")
    args = parser.parse_args(argv)
    cfg = dict(CONFIGS[args.config])
    runs = RUNS if args.runs is None else tuple(args.runs.split(","))
    unknown = [r for r in runs if r not in RUNS]
    if unknown or not runs:
        parser.error(f"--runs {args.runs!r}: choose from {','.join(RUNS)}")
    if args.seed < 0:
        parser.error(f"--seed {args.seed} must be >= 0")
    if args.append and not (args.out / "log.jsonl").is_file():
        parser.error(f"--append: there is no log.jsonl in {args.out} to add to; run without --append first")
    threads = torch.get_num_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out, resume=args.append)
    recipe = {**cfg, "runs": list(runs), "seed": args.seed, "config": args.config,
              "lora_targets": list(LORA_TARGETS), "max_len": MAX_LEN, "max_new_tokens": MAX_NEW_TOKENS}
    log(f"SFT of the book model: config {args.config}, seed {args.seed}, runs {','.join(runs)}, "
        f"torch {torch.__version__}, {threads} threads, {platform.machine()}")
    log.event("start", recipe=recipe, torch=torch.__version__, threads=threads, machine=platform.machine())

    train, test = build_tasks(cfg["tasks"], cfg["n_train"], cfg["n_test"], seed=args.seed)
    check_disjoint(train, [i for items in test.values() for i in items])
    base, tok = load_book_model(args.base)
    full_examples = sft_examples(tok, [conversation(i) for i in train], max_len=MAX_LEN)
    per_task = cfg["n_train"] if isinstance(cfg["n_train"], int) else ", ".join(f"{t} {n}" for t, n in cfg["n_train"].items())
    log(f"tasks: {len(train)} training instructions ({per_task} per task), "
        f"{cfg['n_test']} held-out per task; no held-out source in training (checked); "
        f"{reply_tokens(full_examples)} reply tokens")
    log.event("tasks", tasks=list(cfg["tasks"]), n_train=len(train), n_test=cfg["n_test"],
              reply_tokens=reply_tokens(full_examples),
              tokens=sum(len(x) for x, _ in full_examples))

    scores = evaluate(base, tok, test)
    report(log, "base model", scores)
    log.event("eval", run="base", scores=scores)

    if "chat" in runs:
        torch.manual_seed(args.seed)
        model, _ = load_book_model(args.base)
        scores = train_and_evaluate(log, "chat", model, full_examples, cfg["steps"], cfg["batch_size"], cfg["lr"],
                                    cfg["log_every"], args.seed, tok, test, average=cfg["average"])
        dest = save_book_model(model, tok, args.out / "chat-model", recipe=recipe, dtype=torch.float16)
        shipped, _ = load_book_model(dest)
        scores = evaluate(shipped, tok, test)
        report(log, "chat, as shipped in float16", scores)
        log.event("shipped", scores=scores)

    cmp = cfg["compare"]
    compared = [r for r in runs if r in ("full", "prompt", "lora")]
    if compared:
        ctrain, ctest = build_tasks((cmp["task"],), cmp["n_train"], cfg["n_test"], seed=args.seed)
        log(f"comparisons on the {cmp['task']} task alone: {len(ctrain)} instructions, {cmp['steps']} steps")
        log.event("compare_tasks", task=cmp["task"], n_train=len(ctrain), steps=cmp["steps"])
    for run in compared:
        torch.manual_seed(args.seed)   # LoRA's A matrices are random: the same whatever ran before in this process
        model, _ = load_book_model(args.base)
        lr = cfg["lr"]
        examples = sft_examples(tok, [conversation(i) for i in ctrain], max_len=MAX_LEN,
                                train_on_prompt=(run == "prompt"))
        if run == "lora":
            # The chat markers <|im_start|>/<|im_end|> never occur in pretraining, so their embeddings
            # are untrained; with the embedding frozen the model could hardly learn to stop.
            apply_lora(model, LORA_TARGETS, rank=cmp["lora_rank"], alpha=2.0 * cmp["lora_rank"],
                       trainable=("embed_tokens",))
            lr = cmp["lora_lr"]
        train_and_evaluate(log, run, model, examples, cmp["steps"], cfg["batch_size"], lr,
                           max(1, cmp["steps"] // 30), args.seed, tok, ctest, event="compare")
    paired = [r for r in runs if r.startswith("with_")]
    if paired:    # twice the steps, half of them on the comparison task: as many of its instructions as ``full``
        log(f"interference: the {cmp['task']} task beside one other task, {cmp['n_train']} instructions each, "
            f"{2 * cmp['steps']} steps")
        log.event("pair_tasks", task=cmp["task"], n_train=cmp["n_train"], steps=2 * cmp["steps"])
    for run in paired:
        torch.manual_seed(args.seed)
        ptrain, ptest = build_tasks((cmp["task"], run[len("with_"):]), cmp["n_train"], cfg["n_test"], seed=args.seed)
        check_disjoint(ptrain, [i for items in ptest.values() for i in items])
        model, _ = load_book_model(args.base)
        examples = sft_examples(tok, [conversation(i) for i in ptrain], max_len=MAX_LEN)
        train_and_evaluate(log, run, model, examples, 2 * cmp["steps"], cfg["batch_size"], cfg["lr"],
                           max(1, cmp["steps"] // 15), args.seed, tok, ptest, event="pair", average=cfg["average"])
    log("done")
    log.event("done")
    log.text.close()
    log.json.close()
    if (args.out / "chat-model").is_dir():      # the logs ship inside the model folder, checksummed
        shipped_recipe = book_recipe(args.out / "chat-model").get("recipe", recipe)   # the chat run's, if appended
        save_book_model(*load_book_model(args.out / "chat-model"), args.out / "chat-model", recipe=shipped_recipe,
                        logs=(args.out / "train_log.txt", args.out / "log.jsonl"), dtype=torch.float16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
