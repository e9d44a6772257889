"""Command line: ``python -m backprop example`` (or the ``backprop`` script)."""
import argparse
import sys


def _example(args):
    from .examples import format_walkthrough

    print(format_walkthrough(args.steps))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="backprop", description="backprop: multilayer perceptrons "
                                     "trained by backpropagation in a compiled core")
    sub = parser.add_subparsers(dest="command", required=True)
    example = sub.add_parser("example", help="the worked example (Mazur), step by step")
    example.add_argument("--steps", type=int, default=10_000,
                         help="updates to run after the walkthrough (default 10000)")
    example.set_defaults(run=_example)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "steps", 1) < 1:
        parser.error("--steps must be at least 1")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
