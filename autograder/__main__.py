"""The course's command line.

  python -m autograder check [NOTEBOOK ...] [--json]    grade your own work, with hints
  python -m autograder grade [FOLDER] [--jobs N] [--csv FILE] [--json] [--similarity FILE]
                                                        grade a class (nbgrader's submitted/ layout
                                                        or a plain folder of notebooks); flags
                                                        near-copied answer cells, never rescoring
  python -m autograder release [ASSIGNMENT ...]         regenerate notebooks/ from solutions/
"""

import argparse
import json
import os
import sys
from pathlib import Path

from . import course, grading
from .grading import report, similarity
from .publishing import release


def _check(args) -> int:
    paths = [Path(p) for p in args.notebooks] or [course.learner_notebook(a) for a in course.assignments()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"no such notebook: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    subs = [grading.Submission(p, grading.guess_assignment(p)) for p in paths]
    bar = None if args.json or len(subs) < 2 else report.ProgressBar("checking")
    results = grading.grade(subs, jobs=args.jobs, progress=bar)
    if args.json:
        print(json.dumps({"notebooks": [r.to_dict() for r in results],
                          "summary": report.progress_summary(results)}, indent=1))
    else:
        for r in results:
            print(report.table(r), end="\n\n")
        print(report.progress_summary(results))
    return 0


def _grade(args) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"no such folder: {folder}", file=sys.stderr)
        return 2
    if args.csv and (Path(args.csv).is_dir() or not Path(args.csv).absolute().parent.is_dir()):
        print(f"cannot write the grades to {args.csv}: it is a folder, or its folder does not exist",
              file=sys.stderr)
        return 2
    ignored = []
    subs = grading.find_submissions(folder, ignored)
    for path in ignored:
        print(f"left out {path}: a student's extra notebook, not the assignment's", file=sys.stderr)
    if not subs:
        print(f"no notebooks under {folder}", file=sys.stderr)
        return 2
    results = grading.grade(subs, jobs=args.jobs, progress=None if args.quiet else report.ProgressBar("grading"),
                            use_sandbox=not args.no_sandbox)
    # After grading: the sandbox keeps every submission from changing another's file.
    pairs = [] if args.no_similarity else similarity.scan(subs)
    similarity.attach(results, subs, pairs)
    if args.csv:
        try:
            with open(args.csv, "w", newline="") as dest:
                report.write_csv(results, dest)
        except OSError as err:
            print(f"cannot write the grades to {args.csv} ({err.strerror or err}); here they are:", file=sys.stderr)
            report.write_csv(results, sys.stdout)
            return 1
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
    elif not args.csv:
        report.write_csv(results, sys.stdout)
    if args.csv and not args.quiet:
        bad = [r for r in results if r.verdict != "graded"]
        print(f"{len(results)} submissions graded into {args.csv}"
              + (f"; {len(bad)} could not be graded normally (see the verdict column)" if bad else ""),
              file=sys.stderr if args.json else sys.stdout)  # stdout then holds the JSON alone
    if args.similarity and not args.no_similarity:
        Path(args.similarity).write_text(similarity.report(pairs), encoding="utf-8")
    if not args.quiet and not args.no_similarity:  # on stderr when stdout carries the CSV or JSON
        print(similarity.summary(pairs) + (f"\nsimilarity report: {args.similarity}" if args.similarity else ""),
              file=sys.stdout if args.csv and not args.json else sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="grade your notebooks with the hidden tests; never changes them")
    check.add_argument("notebooks", nargs="*", help="notebooks to check (default: every notebook in notebooks/)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--jobs", type=int, default=1, help="notebooks graded at once")

    grade = commands.add_parser("grade", help="grade a class: every student, every notebook")
    grade.add_argument("folder", nargs="?", default=str(course.ROOT / "grading" / "submitted"),
                       help="nbgrader's submitted/ folder or a folder of notebooks (default: grading/submitted)")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--csv", help="write results here (nbgrader export's columns plus detail)")
    grade.add_argument("--json", action="store_true", help="print results as JSON")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run submissions with the grader's own rights (for debugging the grader only)")
    grade.add_argument("--similarity", metavar="FILE",
                       help="write the near-copy report here (Markdown: pairs, cell, similarity)")
    grade.add_argument("--no-similarity", action="store_true",
                       help="skip the near-copy pass (it flags answer cells, it never changes a score)")

    rel = commands.add_parser("release", help="regenerate notebooks/ from solutions/ (edited notebooks are kept aside)")
    rel.add_argument("assignments", nargs="*", help="assignment ids (default: all)")

    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args)
    if args.command == "grade":
        return _grade(args)
    release.release(args.assignments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
