"""Command line: ``python -m aigc_course {demo,doctor,train,evaluate,generate,list}``.

Only the course's own errors (``CourseError``: bad input, missing data or checkpoints, each with its fix)
and argparse's become a one-line message with exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from aigc_course.errors import CourseError


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def bounded(kind, low=None, high=None, low_open: bool = False):
    """An argparse ``type`` that parses ``kind`` and checks it lies in [low, high] ((low, high] when
    ``low_open``); the error names the allowed range."""
    def describe() -> str:
        left = "(" if low_open else "["
        return f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}; "
                                             f"allowed: {describe()}") from None
        if (isinstance(value, float) and not math.isfinite(value)) or \
                (low is not None and (value <= low if low_open else value < low)) or \
                (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: {describe()}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


# Every numeric option and its range: one place, one test walks through all of them
NUMERIC_OPTIONS = {
    "--epochs": bounded(int, 1, 10_000),
    "--devices": bounded(int, 1, 64),
    "--workers": bounded(int, 1, 64),
    "--seed": bounded(int, 0, 2**31 - 1),
    "--n": bounded(int, 1, 4096),
    "--length": bounded(int, 1, 100_000),
    "--temperature": bounded(float, 0, 100, low_open=True),
    "--top-k": bounded(int, 1, 100_000),
    "--top-p": bounded(float, 0, 1, low_open=True),
    "--beam-width": bounded(int, 1, 64),
    "--repetition-penalty": bounded(float, 1, 100),
    "--digit": bounded(int, 0, 9),
    "--steps": bounded(int, 1, 1000),
    "--eta": bounded(float, 0, 1),
    "--guidance": bounded(float, 0, 100),
}


def cmd_list(args) -> int:
    from aigc_course.checkpoints import shipped_path
    from aigc_course.zoo import MODELS

    for name, entry in MODELS.items():
        shipped = "已附带权重" if shipped_path(name).is_file() else "未附带权重"
        print(f"{name:22s} {entry.chapter:24s} {shipped}  {entry.summary}")
    return 0


def cmd_train(args) -> int:
    from aigc_course.distribute import configure_devices, configure_workers

    # first: logical devices and the cluster are fixed when TensorFlow starts
    strategy = configure_workers(args.workers) if args.workers > 1 else configure_devices(args.devices)
    from aigc_course.checkpoints import save_checkpoint
    from aigc_course.runtime import by_mode, set_seed
    from aigc_course.zoo import get_entry

    entry = get_entry(args.name)
    if args.out and not str(args.out).endswith(".weights.h5"):
        raise CourseError(f"--out {args.out}: Keras weights files must end in .weights.h5. "
                          f"Fix: e.g. --out {Path(args.out).with_suffix('')}.weights.h5")
    set_seed(args.seed)
    epochs = args.epochs or by_mode(entry.default_epochs.normal, entry.default_epochs.quick)
    run_dir = Path(args.run_dir or Path("runs") / args.name)
    with strategy.scope():
        model, card = entry.train(epochs, run_dir, verbose="auto" if sys.stdout.isatty() else 2)
    card.update(entry.evaluate(model))
    card["devices"] = int(strategy.num_replicas_in_sync)
    out = Path(args.out or run_dir / f"{args.name}.weights.h5")
    resolver = getattr(strategy, "cluster_resolver", None)
    if args.workers > 1 and resolver is not None and resolver.task_id != 0:
        print(f"worker {resolver.task_id}: the final weights are saved by worker 0 (the same weights)")
    else:
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


def generate_options(args) -> "GenerateOptions":  # noqa: F821 (imported lazily: TensorFlow-free start-up)
    """The ``generate`` command's options as the registry's ``GenerateOptions``."""
    from dataclasses import fields

    from aigc_course.zoo.registry import GenerateOptions

    return GenerateOptions(**{field.name: getattr(args, field.name) for field in fields(GenerateOptions)})


def cmd_generate(args) -> int:
    from aigc_course.runtime import set_seed
    from aigc_course.zoo import get_entry, load_trained

    entry = get_entry(args.name)
    if entry.generate is None:
        raise CourseError(f"{args.name!r} is a classifier (a discriminative model): it scores images "
                          "but cannot generate any. Fix: choose a generative model (see `list`).")
    options = generate_options(args)
    set_seed(args.seed)
    model, _ = load_trained(args.name, args.weights)
    entry.generate(model, options)
    return 0


def cmd_demo(args) -> int:
    from aigc_course.gallery import build_gallery
    from aigc_course.runtime import set_seed

    set_seed(args.seed)
    index = build_gallery(Path(args.out))
    print(f"画廊已写入 (gallery written to) {index}")
    return 0


def cmd_doctor(args) -> int:
    from aigc_course.doctor import run_doctor

    return run_doctor(probe_seconds=args.probe_seconds)


def cmd_kit(args) -> int:
    from aigc_course.workshop_kit import build_kit

    platforms = tuple(name.strip() for name in args.platforms.split(",") if name.strip())
    summary = build_kit(Path(args.dest), platforms, with_data=not args.no_data)
    wheels = ", ".join(f"{name} {count}" for name, count in summary["wheels"].items())
    print(f"离线安装包已写入 (workshop kit written to) {Path(args.dest).resolve()}: {summary['course_files']} course "
          f"files; wheels: {wheels}; {summary['bytes'] / 1e9:.2f} GB. 见 (see) 安装说明.txt")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aigc_course", description="AIGC 从入门到实战")
    commands = parser.add_subparsers(dest="command", required=True)
    numeric = NUMERIC_OPTIONS

    demo = commands.add_parser("demo", help="load the shipped models and write an HTML gallery")
    demo.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    demo.set_defaults(run=cmd_demo)

    doctor = commands.add_parser("doctor", help="check this machine before a workshop (Python, TensorFlow, "
                                                "fonts, data, speed)")
    doctor.add_argument("--probe-seconds", type=bounded(float, 1, 120), default=10.0,
                        help="length of the speed probe (default 10 s)")
    doctor.set_defaults(run=cmd_doctor)

    kit = commands.add_parser("kit", help="prepare an offline workshop folder for a USB stick (wheels, data, "
                                          "course); needs a network once")
    kit.add_argument("dest", help="the folder to write (outside the course folder)")
    kit.add_argument("--platforms", default="linux-x86_64,windows-x86_64,macos-arm64",
                     help="comma-separated: linux-x86_64, windows-x86_64, macos-arm64 (default: all three)")
    kit.add_argument("--no-data", action="store_true", help="leave the data sets out")
    kit.set_defaults(run=cmd_kit)

    listing = commands.add_parser("list", help="list the named models")
    listing.set_defaults(run=cmd_list)

    train = commands.add_parser("train", help="train a named model (resumes an interrupted run)")
    train.add_argument("name")
    train.add_argument("--epochs", type=numeric["--epochs"], help="default: the model's normal-mode count "
                                                                  "(quick mode: 1)")
    train.add_argument("--run-dir", help="where per-epoch checkpoints go (default: runs/NAME)")
    train.add_argument("--out", help="final weights file (default: RUN_DIR/NAME.weights.h5)")
    train.add_argument("--devices", type=numeric["--devices"], default=1,
                       help="train on N devices of this machine (MirroredStrategy)")
    train.add_argument("--workers", type=numeric["--workers"], default=1,
                       help="train as one of N workers (MultiWorkerMirroredStrategy; the cluster comes from "
                            "TF_CONFIG, see README)")
    train.set_defaults(run=cmd_train)

    for command, helptext, handler in (("evaluate", "print a model's metrics as one JSON line", cmd_evaluate),
                                       ("generate", "sample from a generative model", cmd_generate)):
        sub = commands.add_parser(command, help=helptext)
        sub.add_argument("name")
        sub.add_argument("--weights", help="a weights file (default: the shipped checkpoint)")
        if command == "generate":
            sub.add_argument("--n", type=numeric["--n"], help="number of samples (images: 64, texts: 3)")
            sub.add_argument("--out", default="samples.png", help="output image (image models)")
            sub.add_argument("--prompt", help="text models: the start of the text (default: a new poem / a new line)")
            sub.add_argument("--length", type=numeric["--length"], default=200,
                             help="text models: characters to generate")
            sub.add_argument("--strategy", default="top_p", choices=("greedy", "temperature", "top_k", "top_p", "beam"),
                             help="text models: the decoding strategy")
            sub.add_argument("--temperature", type=numeric["--temperature"], default=1.0)
            sub.add_argument("--top-k", type=numeric["--top-k"], default=40)
            sub.add_argument("--top-p", type=numeric["--top-p"], default=0.9)
            sub.add_argument("--beam-width", type=numeric["--beam-width"], default=4)
            sub.add_argument("--repetition-penalty", type=numeric["--repetition-penalty"], default=1.0)
            sub.add_argument("--digit", type=numeric["--digit"], help="class-conditional image models: the digit "
                             "to draw (default: all ten in turn; diffusion: any digit)")
            sub.add_argument("--steps", type=numeric["--steps"], default=50, help="diffusion: denoising steps")
            sub.add_argument("--eta", type=numeric["--eta"], default=0.0, help="diffusion: 0 = DDIM "
                             "(deterministic), 1 with --steps 1000 = DDPM")
            sub.add_argument("--guidance", type=numeric["--guidance"], default=2.0, help="diffusion with --digit: "
                             "classifier-free guidance scale w (0 = the conditional model alone)")
        sub.set_defaults(run=handler)

    for sub in commands.choices.values():
        sub.add_argument("--seed", type=numeric["--seed"], default=42)
    return parser


def main(argv=None) -> int:
    _quiet_tensorflow()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse already printed usage and the one-line reason
        return int(exit_.code or 0)
    if args.command not in ("list", "doctor", "kit"):  # these run TensorFlow: import it without its start-up notices
        # (doctor imports it itself, so that a broken installation is reported with its fix)
        from aigc_course.runtime import import_tensorflow_quietly

        import_tensorflow_quietly()
    try:
        return args.run(args)
    except CourseError as error:
        print(f"错误 (error): {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
