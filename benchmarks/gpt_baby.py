"""Benchmark: nanoGPT's "baby GPT" for CPUs, trained with our Keras GPT on Tiny Shakespeare.

The configuration of nanoGPT's README (shakespeare_char on a CPU): 4 layers, 4 heads, 128-d embeddings,
context 64, batch 12, 2,000 iterations, no dropout, AdamW lr 1e-3 (100 warm-up steps, cosine decay to
1e-4 at 2,000), betas (0.9, 0.99), weight decay 0.1, gradients clipped at 1; split 90/10.
One change to nanoGPT's model, on by default: rotary positions (RoPE, ``GPT(positions="rotary")``) instead
of a learned table of 64 position vectors; ``--positions learned`` runs nanoGPT's own architecture.
Batches are drawn at random offsets as nanoGPT does. Validation: the whole last 10% of the text in
non-overlapping 64-character windows (nanoGPT estimates it from 20 random batches).

Usage: python benchmarks/gpt_baby.py [--iters 2000]
The last line is one JSON object: val_nats_per_char, wall_seconds (process start to end, TF import
included), ms_per_iter (training steps only; the first call, which includes XLA compilation, excluded).
"""

import time

STARTED = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def process_start_time() -> float:
    """When this process started (Linux /proc), or when this script began where that is unknown."""
    try:
        with open("/proc/self/stat") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return STARTED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--steps-per-execution", type=int, default=50,
                        help="train steps run per call into the compiled graph (fewer Python round trips)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--untied", action="store_true", help="a separate output layer (nanoGPT ties it to the "
                        "token embedding)")
    parser.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay (nanoGPT: 0.1)")
    parser.add_argument("--positions", default="rotary", choices=("learned", "sinusoidal", "rotary"),
                        help="position information (nanoGPT: a learned table; default: rotary)")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up iterations (nanoGPT: 100)")
    args = parser.parse_args()
    began = process_start_time()

    import tensorflow as tf

    from aigc_course.data.corpora import load_char_corpus
    from aigc_course.models.gpt import GPT, compile_gpt, gpt_learning_rate, nats_per_char, random_windows
    from aigc_course.runtime import set_seed
    from aigc_course.training import train_steps_compiled

    set_seed(args.seed)
    corpus = load_char_corpus("shakespeare")
    inputs, targets = random_windows(corpus.train_ids, 64, args.iters * 12, seed=args.seed)
    model = GPT(len(corpus.vocab), context_length=64, embed_dim=128, num_heads=4, num_layers=4, dropout=0.0,
                tie_embeddings=not args.untied, positions=args.positions, name="baby_gpt")
    model(tf.zeros((1, 64), tf.int32))  # build the weights
    compile_gpt(model, gpt_learning_rate(1e-3, args.iters, warmup_steps=args.warmup), weight_decay=args.weight_decay,
                jit_compile=False)
    print(f"{model.count_params():,} parameters; {args.iters} iterations of 12 x 64 characters")

    def progress(step, logs):
        if step % 250 == 0:
            print(f"iter {step}: train loss {logs['loss']:.4f} ({time.time() - began:.0f} s)", flush=True)

    started = time.perf_counter()
    result = train_steps_compiled(model, inputs, targets, 12, args.steps_per_execution, progress)
    train_seconds = time.perf_counter() - started
    ms_per_iter = 1000 * (train_seconds - result["compile_seconds"]) / (args.iters - args.steps_per_execution)
    val = nats_per_char(model, corpus.val_ids, batch_size=256)
    wall = time.time() - began
    print(f"validation {val:.4f} nats/char over {len(corpus.val_ids):,} characters; "
          f"{ms_per_iter:.1f} ms per iteration; {wall:.1f} s in all")
    print(json.dumps({"val_nats_per_char": round(val, 4), "wall_seconds": round(wall, 1),
                      "ms_per_iter": round(ms_per_iter, 1), "iters": args.iters, "seed": args.seed,
                      "tied": not args.untied, "weight_decay": args.weight_decay, "warmup": args.warmup,
                      "positions": args.positions,
                      "parameters": model.count_params()}))


if __name__ == "__main__":
    main()
