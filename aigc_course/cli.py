"""Command line: ``python -m aigc_course {demo,train,evaluate,generate,list}``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from aigc_course.errors import CourseError


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_list(args) -> int:
    from aigc_course.checkpoints import shipped_path
    from aigc_course.zoo import MODELS, PLANNED

    for name, entry in MODELS.items():
        shipped = "已附带权重" if shipped_path(name).is_file() else "未附带权重"
        print(f"{name:22s} {entry.chapter:24s} {shipped}  {entry.summary}")
    for name, chapter in PLANNED.items():
        print(f"{name:22s} {chapter:24s} (后续章节)")
    return 0


def cmd_train(args) -> int:
    from aigc_course.distribute import configure_devices

    strategy = configure_devices(args.devices)  # first: logical devices are fixed at TF start-up
    from aigc_course.checkpoints import save_checkpoint
    from aigc_course.runtime import by_mode, set_seed
    from aigc_course.zoo import get_entry

    entry = get_entry(args.name)
    if args.out and not str(args.out).endswith(".weights.h5"):
        raise CourseError(f"--out {args.out}: Keras weights files must end in .weights.h5. "
                          f"Fix: e.g. --out {Path(args.out).with_suffix('')}.weights.h5")
    set_seed(args.seed)
    epochs = args.epochs or by_mode(*entry.default_epochs)
    run_dir = Path(args.run_dir or Path("runs") / args.name)
    with strategy.scope():
        model, card = entry.train(entry, epochs, run_dir, verbose="auto" if sys.stdout.isatty() else 2)
    card.update(entry.evaluate(model))
    card["devices"] = int(strategy.num_replicas_in_sync)
    out = Path(args.out or run_dir / f"{args.name}.weights.h5")
    save_checkpoint(model, out, args.name, card)
    print(f"saved {out}")
    print(json.dumps({"name": args.name, **card}, ensure_ascii=False))
    return 0


def cmd_evaluate(args) -> int:
    from aigc_course.runtime import set_seed
    from aigc_course.zoo import evaluate

    set_seed(args.seed)
    print(json.dumps(evaluate(args.name, args.weights), ensure_ascii=False))
    return 0


def cmd_generate(args) -> int:
    from aigc_course.runtime import set_seed
    from aigc_course.zoo import get_entry, load_trained

    entry = get_entry(args.name)
    if entry.generate is None:
        raise CourseError(f"{args.name!r} is a classifier (a discriminative model): it scores images "
                          "but cannot generate any. Fix: choose a generative model (see `list`).")
    set_seed(args.seed)
    model, _ = load_trained(args.name, args.weights)
    try:
        entry.generate(model, args)
    except ValueError as error:  # a bad setting or prompt: say what and how to fix it, no traceback
        raise CourseError(str(error)) from error
    return 0


def cmd_demo(args) -> int:
    from aigc_course.gallery import build_gallery
    from aigc_course.runtime import set_seed

    set_seed(args.seed)
    index = build_gallery(Path(args.out))
    print(f"画廊已写入 (gallery written to) {index}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aigc_course", description="AIGC 从入门到实战")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="load the shipped models and write an HTML gallery")
    demo.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    demo.set_defaults(run=cmd_demo)

    listing = commands.add_parser("list", help="list the named models")
    listing.set_defaults(run=cmd_list)

    train = commands.add_parser("train", help="train a named model (resumes an interrupted run)")
    train.add_argument("name")
    train.add_argument("--epochs", type=int, help="default: the model's normal-mode count (quick mode: 1)")
    train.add_argument("--run-dir", help="where per-epoch checkpoints go (default: runs/NAME)")
    train.add_argument("--out", help="final weights file (default: RUN_DIR/NAME.weights.h5)")
    train.add_argument("--devices", type=int, default=1, help="train on N devices (MirroredStrategy)")
    train.set_defaults(run=cmd_train)

    for command, helptext, handler in (("evaluate", "print a model's metrics as one JSON line", cmd_evaluate),
                                       ("generate", "sample from a generative model", cmd_generate)):
        sub = commands.add_parser(command, help=helptext)
        sub.add_argument("name")
        sub.add_argument("--weights", help="a weights file (default: the shipped checkpoint)")
        if command == "generate":
            sub.add_argument("--n", type=int, help="number of samples (images: 64, texts: 3)")
            sub.add_argument("--out", default="samples.png", help="output image (image models)")
            sub.add_argument("--prompt", help="text models: the start of the text (default: a new poem / a new line)")
            sub.add_argument("--length", type=int, default=200, help="text models: characters to generate")
            sub.add_argument("--strategy", default="top_p", help="greedy, temperature, top_k, top_p or beam")
            sub.add_argument("--temperature", type=float, default=1.0)
            sub.add_argument("--top-k", type=int, default=40)
            sub.add_argument("--top-p", type=float, default=0.9)
            sub.add_argument("--beam-width", type=int, default=4)
            sub.add_argument("--repetition-penalty", type=float, default=1.0)
            sub.add_argument("--digit", type=int, help="class-conditional image models: the digit to draw "
                             "(default: all ten in turn; diffusion: any digit)")
            sub.add_argument("--steps", type=int, default=50, help="diffusion: denoising steps (1-1000)")
            sub.add_argument("--eta", type=float, default=0.0, help="diffusion: 0 = DDIM (deterministic), "
                             "1 with --steps 1000 = DDPM")
            sub.add_argument("--guidance", type=float, default=2.0, help="diffusion with --digit: "
                             "classifier-free guidance scale w (0 = the conditional model alone)")
        sub.set_defaults(run=handler)

    for sub in commands.choices.values():
        sub.add_argument("--seed", type=int, default=42)
    return parser


def main(argv=None) -> int:
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"错误 (error): {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
