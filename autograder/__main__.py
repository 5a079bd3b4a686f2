"""Command line: `python -m autograder release [ASSIGNMENT ...]`."""

import argparse
import sys

from . import release


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    release_cmd = commands.add_parser(
        "release", help="regenerate notebooks/ from solutions/ with nbgrader (edited notebooks are kept aside)")
    release_cmd.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    args = parser.parse_args(argv)
    if args.command == "release":
        release.release(args.assignments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
