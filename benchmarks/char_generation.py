"""Benchmark: generating 200 characters with the LSTM state carried forward vs re-reading the prefix.

Usage: python benchmarks/char_generation.py [--weights PATH] [--length 200]
Prints both timings and the speed-up; the last line is one JSON object.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="charlstm-shakespeare")
    parser.add_argument("--weights", help="default: the shipped checkpoint")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--prompt", default="ROMEO:\n")
    args = parser.parse_args()

    from aigc_course.data.corpora import load_char_corpus
    from aigc_course.models.char_lstm import CharLSTMGenerator
    from aigc_course.runtime import set_seed
    from aigc_course.sampling import DecodingSettings
    from aigc_course.zoo import CHAR_LSTM_SIZES, load_trained

    set_seed(0)
    model, _ = load_trained(args.name, args.weights)
    generator = CharLSTMGenerator(model, load_char_corpus(CHAR_LSTM_SIZES[args.name][0]).vocab)
    settings = DecodingSettings("top_p", top_p=0.9)
    generator.generate(args.prompt, 5, settings)          # warm-up: trace the step function
    generator.generate_uncached(args.prompt, 5, settings)

    started = time.perf_counter()
    cached = generator.generate(args.prompt, args.length, settings, seed=1)[0]
    cached_seconds = time.perf_counter() - started
    started = time.perf_counter()
    uncached = generator.generate_uncached(args.prompt, args.length, settings, seed=1)
    uncached_seconds = time.perf_counter() - started
    assert cached == uncached, "both ways must produce the same text"
    print(f"carried state : {cached_seconds:.2f} s for {args.length} characters")
    print(f"re-read prefix: {uncached_seconds:.2f} s for {args.length} characters")
    print(json.dumps({"name": args.name, "length": args.length, "cached_seconds": round(cached_seconds, 3),
                      "uncached_seconds": round(uncached_seconds, 3),
                      "speedup": round(uncached_seconds / cached_seconds, 1)}))


if __name__ == "__main__":
    main()
