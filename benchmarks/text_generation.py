"""Benchmark: generating text with the model's state (LSTM state or Transformer key/value cache) carried
forward vs re-running the model over the whole prefix for every new character.

Usage: python benchmarks/text_generation.py [--name charlstm-shakespeare|gpt-shakespeare|...] [--length N]
Prints both timings and the speed-up; the last line is one JSON object. Both ways sample with the same
seed, so they must write the same text (for a GPT: up to its context length, after which the cached way
rebuilds its cache from the last half-context and the uncached way crops the prefix, see GPTGenerator).
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
    parser.add_argument("--length", type=int, help="new characters (default: 200 for an LSTM, 256 for a GPT)")
    parser.add_argument("--prompt", default="ROMEO:\n")
    args = parser.parse_args()

    from aigc_course.models.gpt import GPT
    from aigc_course.runtime import set_seed
    from aigc_course.sampling import DecodingSettings
    from aigc_course.zoo import get_entry, load_trained
    from aigc_course.zoo.text import vocabulary

    set_seed(0)
    model, card = load_trained(args.name, args.weights)
    is_gpt = isinstance(model, GPT)
    generator = get_entry(args.name).generator(model, vocabulary(get_entry(args.name).corpus, card))
    length = args.length or (256 if is_gpt else 200)
    settings = DecodingSettings("top_p", top_p=0.9)
    generator.generate(args.prompt, 5, settings)          # warm-up: trace the step function
    generator.generate_uncached(args.prompt, 5, settings)

    started = time.perf_counter()
    cached = generator.generate(args.prompt, length, settings, seed=1)[0]
    cached_seconds = time.perf_counter() - started
    started = time.perf_counter()
    uncached = generator.generate_uncached(args.prompt, length, settings, seed=1)
    uncached_seconds = time.perf_counter() - started
    same = length if not is_gpt else min(length, model.context_length - len(args.prompt))
    assert cached[:same] == uncached[:same], "both ways must produce the same text"
    print(f"carried state : {cached_seconds:.2f} s for {length} characters")
    print(f"re-read prefix: {uncached_seconds:.2f} s for {length} characters")
    print(json.dumps({"name": args.name, "length": length, "cached_seconds": round(cached_seconds, 3),
                      "uncached_seconds": round(uncached_seconds, 3),
                      "speedup": round(uncached_seconds / cached_seconds, 1), "identical_chars": same}))


if __name__ == "__main__":
    main()
