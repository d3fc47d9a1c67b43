"""The `grade` command. Thin: parse, call one function per subcommand, map GraderError
to a one-line message and an exit code. Real bugs keep their traceback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import GraderError, UsageError

SUBCOMMANDS = ("export", "data", "scores", "release")


def _home() -> Path:
    return Path(os.environ.get("GRADER_HOME", ".grader"))


def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade",
        description="Grade every submission of one assignment. Other commands: "
        "grade export | grade data | grade release | grade scores (see grade <command> -h).",
    )
    p.add_argument("assignment", type=Path, help="assignments/<name>")
    p.add_argument("submissions", type=Path, help="folder of <id>.ipynb, <id>/ or <id>.zip")
    p.add_argument("--profile", choices=("full", "fast", "smoke"), help="default: the assignment's default_profile")
    p.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--regrade", action="store_true", help="grade again what is already in the gradebook")
    p.add_argument("--no-sandbox", action="store_true", help="run student code unprotected (reports say so)")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default: reports/)")
    p.add_argument("--gradebook", type=Path, help="SQLite gradebook (default: $GRADER_HOME/gradebook.sqlite)")
    p.add_argument("--data", type=Path, help="data set store (default: $GRADER_DATA or $GRADER_HOME/data)")
    p.add_argument("--seed", type=int, help="fix the random inputs of hidden tests (default: new per run)")
    p.add_argument("--only", nargs="+", default=(), metavar="STUDENT", help="grade only these students")
    p.add_argument(
        "--kernel-python",
        type=Path,
        metavar="PYTHON",
        help="the Python kernels run in (default: the grader's own), e.g. /opt/gpu-venv/bin/python; "
        "it is checked for ipykernel and the assignment's modules before anything is graded",
    )
    return p


def _data_root(arg: Path | None) -> Path:
    if arg:
        return arg
    if os.environ.get("GRADER_DATA"):
        return Path(os.environ["GRADER_DATA"])
    return _home() / "data"


def cmd_grade(argv: list[str]) -> int:
    args = _grade_parser().parse_args(argv)
    from . import sandbox
    from .batch import RunOptions, run
    from .preflight import kernel_python
    from .report import export_csv, write_reports
    from .spec import load_assignment

    assignment = load_assignment(args.assignment)
    profile = args.profile or assignment.default_profile
    sandboxed = sandbox.require(args.no_sandbox)
    if not sandboxed:
        print("WARNING: grading WITHOUT a sandbox: student code can read and write anything you can.")
    opts = RunOptions(
        profile=profile,
        sandboxed=sandboxed,
        workers=args.workers,
        regrade=args.regrade,
        gradebook=args.gradebook or _home() / "gradebook.sqlite",
        data_root=_data_root(args.data),
        reports_dir=args.reports,
        seed=args.seed,
        only=tuple(args.only),
        kernel_python=kernel_python(args.kernel_python) if args.kernel_python else None,
    )
    print(f"grading {assignment.name} (v{assignment.version}, profile {profile}) from {args.submissions}")
    from .progress import presenter_for

    with presenter_for() as say:  # a live bar on a terminal, plain lines otherwise (grader/progress.py)
        summary = run(assignment, args.submissions, opts, say)
    ctx = _report_context(assignment, profile, sandboxed, ignored=summary.ignored)
    out_dir = opts.reports_dir / assignment.name
    from .gradebook import Gradebook

    with Gradebook(opts.gradebook) as book:
        manual = book.manual(assignment.name)
    write_reports(out_dir, summary.results, ctx, manual, summary.similar)
    export_csv(summary.results, out_dir / "scores.csv", ctx)
    n_err = sum(1 for r in summary.graded if r.error)
    print(
        f"graded {len(summary.graded)} ({n_err} could not be graded), skipped {len(summary.skipped)}"
        f"{_ignored_clause(summary.ignored)} in {summary.seconds:.1f} s; "
        f"reports: {out_dir / 'index.html'}; scores: {out_dir / 'scores.csv'}"
    )
    return 0


def _ignored_clause(ignored: list[str], show: int = 5) -> str:
    """', ignored 2 files that are not submissions (README.md, marks.csv)', or ''."""
    if not ignored:
        return ""
    names = ", ".join(ignored[:show]) + (f" and {len(ignored) - show} more" if len(ignored) > show else "")
    what = "file that is not a submission" if len(ignored) == 1 else "files that are not submissions"
    return f", ignored {len(ignored)} {what} ({names})"


def _report_context(assignment, profile: str, sandboxed: bool, ignored: list[str] | None = None):  # type: ignore[no-untyped-def]
    from .report import ReportContext

    return ReportContext.from_assignment(assignment, profile, sandboxed=sandboxed, ignored=tuple(ignored or ()))


def cmd_export(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="grade export",
        description="Export the latest results of an assignment: the score CSV (csv), a Canvas gradebook "
        "import CSV (canvas) or one JSON document per submission (json, schema grader.result/1).",
    )
    p.add_argument("assignment", type=Path)
    p.add_argument("--format", choices=("csv", "canvas", "json"), default="csv", help="default: csv")
    p.add_argument("--out", type=Path, help="file to write (csv, canvas; default: standard output) or folder (json)")
    p.add_argument("--profile", choices=("full", "fast", "smoke"))
    p.add_argument("--gradebook", type=Path)
    p.add_argument(
        "--roster",
        type=Path,
        help="canvas: CSV with columns student,name,canvas_id,sis_user_id,sis_login_id,section "
        "(default: the grader's id as Student and SIS Login ID)",
    )
    p.add_argument(
        "--canvas-assignment-id",
        metavar="ID",
        help="canvas: the assignment's id in Canvas (its URL ends /assignments/ID); the column becomes "
        "'<title> (ID)' and updates that assignment. Without it, Canvas creates a new assignment",
    )
    args = p.parse_args(argv)
    from . import exports
    from .gradebook import Gradebook
    from .spec import load_assignment

    if args.format == "json" and not args.out:
        raise UsageError("--format json writes one file per submission: give a folder with --out")
    if args.format != "canvas" and (args.roster or args.canvas_assignment_id):
        raise UsageError("--roster and --canvas-assignment-id go with --format canvas")
    assignment = load_assignment(args.assignment)
    profile = args.profile or assignment.default_profile
    with Gradebook(args.gradebook or _home() / "gradebook.sqlite") as book:
        results = book.latest(assignment.name, profile)
        manual = book.manual(assignment.name)
    if not results:
        raise UsageError(f"no graded submissions of {assignment.name} in profile {profile}; run grade first")
    ctx = _report_context(assignment, profile, all(r.sandboxed for r in results))
    out = args.out if args.out else sys.stdout
    if args.format == "json":
        written = exports.export_json(results, args.out, ctx, manual)
        print(f"wrote {len(written)} {exports.SCHEMA} documents to {args.out}")
        return 0
    if args.format == "csv":
        exports.export_csv(results, out, ctx)
    else:
        roster = exports.read_roster(args.roster) if args.roster else None
        missing = exports.export_canvas(results, out, ctx, roster, args.canvas_assignment_id)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            print(
                f"grade export: {len(missing)} student(s) not in the roster ({shown}): their rows carry the "
                "grader's id as SIS Login ID",
                file=sys.stderr,
            )
        if any(manual.get(r.student) for r in results):
            print(
                "grade export: the Canvas column is the autograded score; manual scores of written answers "
                "are not in it (they are in --format json)",
                file=sys.stderr,
            )
    if args.out:
        print(f"wrote {len(results)} rows to {args.out}")
    return 0


def cmd_data(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="grade data", description="The data set store.")
    p.add_argument("--data", type=Path)
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="what is in the store")
    imp = sub.add_parser("import", help="import MNIST/Fashion-MNIST from IDX .gz files or an .npz")
    imp.add_argument("name", choices=("mnist", "fashion_mnist"))
    imp.add_argument("path", type=Path)
    fetch = sub.add_parser("fetch", help="download a data set (needs a network)")
    fetch.add_argument("name", choices=("mnist", "fashion_mnist"))
    args = p.parse_args(argv)
    from . import datastore

    store = datastore.DataStore(_data_root(args.data))
    if args.action == "status":
        return datastore.cmd_status(store)
    if args.action == "import":
        return datastore.cmd_import(store, args.name, args.path)
    return datastore.cmd_fetch(store, args.name)


def cmd_scores(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="grade scores", description="Manual scores of free-text answers.")
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="import a CSV: student,answer,score[,max,comment]")
    imp.add_argument("file", type=Path)
    imp.add_argument("--assignment", type=Path, required=True, help="assignments/<name>")
    imp.add_argument("--gradebook", type=Path)
    pend = sub.add_parser("pending", help="list answers still waiting for a score")
    pend.add_argument("--assignment", type=Path, required=True)
    pend.add_argument("--gradebook", type=Path)
    args = p.parse_args(argv)
    from .gradebook import Gradebook
    from .manual import import_scores, pending
    from .spec import load_assignment

    assignment = load_assignment(args.assignment)
    with Gradebook(args.gradebook or _home() / "gradebook.sqlite") as book:
        if args.action == "import":
            n = import_scores(book, assignment.name, args.file)
            left = len(pending(book, assignment.name))
            print(
                f"imported {n} manual score(s); {left} answer(s) still pending. Run grade again to refresh the reports."
            )
        else:
            rows = pending(book, assignment.name)
            for student, answer in rows:
                print(f"{student},{answer}")
            print(f"{len(rows)} answer(s) pending", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            from .release import cmd_release

            handler = {"export": cmd_export, "data": cmd_data, "scores": cmd_scores, "release": cmd_release}[argv[0]]
            return handler(argv[1:])
        return cmd_grade(argv)
    except GraderError as exc:
        print(f"grade: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("grade: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
