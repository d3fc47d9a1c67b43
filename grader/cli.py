"""The `grade` command. Thin: parse, call one function per subcommand, map GraderError
to a one-line message and an exit code. Real bugs keep their traceback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import GraderError, UsageError
from .i18n import DEFAULT_LANG, LANGS, join, message_of, msg, pick

if TYPE_CHECKING:
    from .gpus import GpuPlan
    from .report import ReportContext
    from .spec import Assignment

SUBCOMMANDS = ("export", "data", "scores", "release")


# The language of what the CLI prints: --lang, else the assignment's, once it is read
# (grader.i18n); an error before that is printed in --lang or English.
_lang = [DEFAULT_LANG]


def _set_lang(lang: str) -> str:
    _lang[0] = lang
    return lang


def _out(text: str, file: TextIO | None = None) -> None:
    """Print `text` in the CLI's language."""
    print(pick(text, _lang[0]), file=file if file is not None else sys.stdout)


def _lang_option(p: argparse.ArgumentParser, default: str = "the assignment's lang", suppress: bool = False) -> None:
    """--lang; `suppress`: on a subcommand whose parent has it too (either place works)."""
    p.add_argument(
        "--lang",
        choices=LANGS,
        default=argparse.SUPPRESS if suppress else None,
        help=f"language of the reports and of these lines: ko (한국어) or en (default: {default})",
    )


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
    p.add_argument(
        "--workers", type=int, help="worker processes at once (default: up to 4, one per core; with --gpus: the slots)"
    )
    p.add_argument("--regrade", action="store_true", help="grade again what is already in the gradebook")
    pool = p.add_mutually_exclusive_group()
    pool.add_argument(
        "--pool",
        type=int,
        metavar="N",
        help="warm kernels started ahead of need, waiting beside the running workers (default: two per worker, "
        "as many as fit in the memory available); each grades one submission",
    )
    pool.add_argument("--no-pool", action="store_true", help="start each submission's kernel when its turn comes")
    p.add_argument("--no-sandbox", action="store_true", help="run student code unprotected (reports say so)")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default: reports/)")
    p.add_argument("--gradebook", type=Path, help="SQLite gradebook (default: $GRADER_HOME/gradebook.sqlite)")
    p.add_argument("--data", type=Path, help="data set store (default: $GRADER_DATA or $GRADER_HOME/data)")
    p.add_argument("--seed", type=int, help="fix the random inputs of hidden tests (default: new per run)")
    p.add_argument("--only", nargs="+", default=(), metavar="STUDENT", help="grade only these students")
    _lang_option(p)
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="grade each submission as a task on the Ray cluster at ADDRESS (host:6379, or 'auto': the cluster "
        "this machine is in); needs pip install 'grader[ray]' (README: A cluster on Ray)",
    )
    p.add_argument(
        "--gpus",
        metavar="LIST",
        help="GPU slots: the devices kernels run on, 'all' or indices and GPU-/MIG- UUIDs as nvidia-smi -L names "
        "them (0,1); each kernel sees one device and a share of its memory (README: GPUs). Default: no slots",
    )
    p.add_argument(
        "--per-gpu", type=int, default=1, metavar="K", help="with --gpus: kernels sharing one device (default 1)"
    )
    p.add_argument(
        "--gpu-memory-mb",
        type=int,
        metavar="MB",
        help="with --gpus: TensorFlow's memory limit per kernel (default: the device's memory / K minus "
        "a 1024 MB margin)",
    )
    p.add_argument(
        "--kernel-python",
        type=Path,
        metavar="PYTHON",
        help="the Python kernels run in (default: the grader's own), e.g. /opt/gpu-venv/bin/python; "
        "it is checked for ipykernel and the assignment's modules before anything is graded",
    )
    return p


def _gpu_plan(args: argparse.Namespace) -> GpuPlan | None:
    """The GPU slots `--gpus/--per-gpu/--gpu-memory-mb` ask for (grader/gpus.py); one line when wrong."""
    from .gpus import cluster_plan, plan

    if args.gpus is None:
        if args.per_gpu != 1 or args.gpu_memory_mb is not None:
            raise UsageError(
                msg("--per-gpu and --gpu-memory-mb go with --gpus", "--per-gpu와 --gpu-memory-mb는 --gpus와 씁니다")
            )
        return None
    if args.ray is not None:  # the cluster's GPUs: each node plans the one Ray gives a task
        return cluster_plan(args.gpus, args.per_gpu, args.gpu_memory_mb)
    return plan(args.gpus, args.per_gpu, args.gpu_memory_mb)


def _data_root(arg: Path | None) -> Path:
    if arg:
        return arg
    if os.environ.get("GRADER_DATA"):
        return Path(os.environ["GRADER_DATA"])
    return _home() / "data"


def cmd_grade(argv: list[str]) -> int:
    args = _grade_parser().parse_args(argv)
    from . import freshness, sandbox
    from .batch import RunOptions, run
    from .exports import report_file_names
    from .preflight import kernel_python
    from .report import export_csv, write_reports
    from .spec import load_assignment

    if args.pool is not None and args.pool < 0:
        raise UsageError(msg(f"--pool {args.pool}: give 0 or more", f"--pool {args.pool}: 0 이상의 수를 주세요"))
    gpu_plan = _gpu_plan(args)
    if args.ray is not None:
        from .cluster import require_ray

        require_ray()  # one line saying how to install it, before anything runs
    assignment = load_assignment(args.assignment)
    lang = _set_lang(args.lang or assignment.lang)
    profile = args.profile or assignment.default_profile
    sandboxed = sandbox.require(args.no_sandbox)
    if not sandboxed:
        _out(
            msg(
                "WARNING: grading WITHOUT a sandbox: student code can read and write anything you can.",
                "경고: 샌드박스 없이 채점합니다: 학생 코드가 여러분이 할 수 있는 모든 것을 읽고 쓸 수 있습니다.",
            )
        )
    opts = RunOptions(
        profile=profile,
        sandboxed=sandboxed,
        workers=args.workers or (gpu_plan.slots if gpu_plan and gpu_plan.slots else min(4, os.cpu_count() or 1)),
        regrade=args.regrade,
        gradebook=args.gradebook or _home() / "gradebook.sqlite",
        data_root=_data_root(args.data),
        reports_dir=args.reports,
        seed=args.seed,
        only=tuple(args.only),
        kernel_python=kernel_python(args.kernel_python) if args.kernel_python else None,
        ray=args.ray,
        pool=0 if args.no_pool else args.pool,
        gpu_plan=gpu_plan,
    )
    if gpu_plan is not None and gpu_plan.devices:
        _out(gpu_plan.describe())
    _out(
        msg(
            f"grading {assignment.name} (v{assignment.version}, profile {profile}) from {args.submissions}",
            f"{assignment.name} 채점 시작 (v{assignment.version}, 프로필 {profile}): {args.submissions}",
        )
    )
    from .progress import presenter_for

    with presenter_for(lang=lang) as say:  # a live bar on a terminal, plain lines otherwise (grader/progress.py)
        summary = run(assignment, args.submissions, opts, say)
    ctx = _report_context(assignment, profile, sandboxed, ignored=summary.ignored, lang=lang)
    out_dir = opts.reports_dir / assignment.name
    from .gradebook import Gradebook

    with Gradebook(opts.gradebook) as book:
        manual = book.manual(assignment.name)
        # a regrade of an unchanged batch leaves reports that are current as they are (grader/freshness.py)
        key = freshness.report_key(summary.results, ctx, manual, summary.codes, summary.starter)
        pages = [out_dir / n for n in report_file_names(r.student for r in summary.results).values()]
        unchanged = freshness.current(out_dir, key, [*pages, out_dir / "index.html", out_dir / "scores.csv"])
        if not unchanged:
            freshness.forget(out_dir)
            write_reports(
                out_dir,
                summary.results,
                ctx,
                manual,
                summary.similarity(),
                full=lambda student: book.latest_of(assignment.name, student, profile),
            )
            export_csv(summary.results, out_dir / "scores.csv", ctx)
            freshness.remember(out_dir, key)
    n_err = sum(1 for r in summary.graded if r.error)
    ignored = _ignored_clause(summary.ignored)
    index, csv = out_dir / "index.html", out_dir / "scores.csv"
    same, same_ko = (" (unchanged, not rewritten)", " (바뀐 것이 없어 그대로 둠)") if unchanged else ("", "")
    _out(
        msg(
            f"graded {len(summary.graded)} ({n_err} could not be graded), skipped {len(summary.skipped)}"
            f"{ignored} in {summary.seconds:.1f} s; reports{same}: {index}; scores: {csv}",
            f"채점 {len(summary.graded)}개 (채점 불가 {n_err}개), 건너뜀 {len(summary.skipped)}개"
            f"{pick(ignored, 'ko')}, {summary.seconds:.1f}초; 보고서{same_ko}: {index}; 점수: {csv}",
        )
    )
    return 0


def _ignored_clause(ignored: list[str], show: int = 5) -> str:
    """', ignored 2 files that are not submissions (README.md, marks.csv)', or ''."""
    if not ignored:
        return ""
    names = ", ".join(ignored[:show])
    more = len(ignored) - show
    what = "file that is not a submission" if len(ignored) == 1 else "files that are not submissions"
    return msg(
        f", ignored {len(ignored)} {what} ({names}{f' and {more} more' if more > 0 else ''})",
        f", 제출물이 아닌 파일 {len(ignored)}개 무시 ({names}{f' 외 {more}개' if more > 0 else ''})",
    )


def _report_context(
    assignment: Assignment,
    profile: str,
    sandboxed: bool,
    ignored: list[str] | None = None,
    lang: str | None = None,
) -> ReportContext:
    from .report import ReportContext

    return ReportContext.from_assignment(
        assignment, profile, sandboxed=sandboxed, ignored=tuple(ignored or ()), lang=lang
    )


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
    _lang_option(p)
    args = p.parse_args(argv)
    from . import exports
    from .gradebook import Gradebook
    from .spec import load_assignment

    if args.format == "json" and not args.out:
        raise UsageError(
            msg(
                "--format json writes one file per submission: give a folder with --out",
                "--format json은 제출물마다 파일 하나를 씁니다: --out으로 폴더를 주세요",
            )
        )
    if args.format != "canvas" and (args.roster or args.canvas_assignment_id):
        raise UsageError(
            msg(
                "--roster and --canvas-assignment-id go with --format canvas",
                "--roster와 --canvas-assignment-id는 --format canvas와 씁니다",
            )
        )
    assignment = load_assignment(args.assignment)
    lang = _set_lang(args.lang or assignment.lang)
    profile = args.profile or assignment.default_profile
    with Gradebook(args.gradebook or _home() / "gradebook.sqlite") as book:
        results = book.latest(assignment.name, profile, pictures=False)  # exports carry no pictures
        manual = book.manual(assignment.name)
    if not results:
        raise UsageError(
            msg(
                f"no graded submissions of {assignment.name} in profile {profile}; run grade first",
                f"프로필 {profile}에서 채점된 {assignment.name} 제출물이 없습니다: 먼저 grade를 실행하세요",
            )
        )
    ctx = _report_context(assignment, profile, all(r.sandboxed for r in results), lang=lang)
    out = args.out if args.out else sys.stdout
    if args.format == "json":
        written = exports.export_json(results, args.out, ctx, manual)
        _out(
            msg(
                f"wrote {len(written)} {exports.SCHEMA} documents to {args.out}",
                f"{exports.SCHEMA} 문서 {len(written)}개를 {args.out}에 썼습니다",
            )
        )
        return 0
    if args.format == "csv":
        exports.export_csv(results, out, ctx)
    else:
        roster = exports.read_roster(args.roster) if args.roster else None
        missing = exports.export_canvas(results, out, ctx, roster, args.canvas_assignment_id)
        if missing:
            shown = ", ".join(missing[:5])
            more = len(missing) - 5
            _out(
                msg(
                    f"grade export: {len(missing)} student(s) not in the roster "
                    f"({shown}{f' and {more} more' if more > 0 else ''}): their rows carry the "
                    "grader's id as SIS Login ID",
                    f"grade export: 명단에 없는 학생 {len(missing)}명 ({shown}{f' 외 {more}명' if more > 0 else ''}): "
                    "이 학생들의 행에는 채점기의 id를 SIS Login ID로 적었습니다",
                ),
                file=sys.stderr,
            )
        if any(manual.get(r.student) for r in results):
            _out(
                msg(
                    "grade export: the Canvas column is the autograded score; manual scores of written answers "
                    "are not in it (they are in --format json)",
                    "grade export: Canvas 열은 자동 채점 점수입니다. 서술형 답안의 직접 채점 점수는 들어 있지 "
                    "않습니다 (--format json에 있습니다)",
                ),
                file=sys.stderr,
            )
    if args.out:
        _out(msg(f"wrote {len(results)} rows to {args.out}", f"{len(results)}개 행을 {args.out}에 썼습니다"))
    return 0


def cmd_data(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="grade data", description="The data set store.")
    p.add_argument("--data", type=Path)
    _lang_option(p, default="en")
    sub = p.add_subparsers(dest="action", required=True)
    status = sub.add_parser("status", help="what is in the store")
    imp = sub.add_parser("import", help="import MNIST/Fashion-MNIST from IDX .gz files or an .npz")
    imp.add_argument("name", choices=("mnist", "fashion_mnist"))
    imp.add_argument("path", type=Path)
    fetch = sub.add_parser("fetch", help="download a data set (needs a network)")
    fetch.add_argument("name", choices=("mnist", "fashion_mnist"))
    for one in (status, imp, fetch):
        _lang_option(one, default="en", suppress=True)
    args = p.parse_args(argv)
    from . import datastore

    lang = _set_lang(args.lang or DEFAULT_LANG)  # no assignment here to give a default
    store = datastore.DataStore(_data_root(args.data))
    if args.action == "status":
        return datastore.cmd_status(store, lang)
    if args.action == "import":
        return datastore.cmd_import(store, args.name, args.path, lang)
    return datastore.cmd_fetch(store, args.name, lang)


def cmd_scores(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="grade scores", description="Manual scores of free-text answers.")
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="import a CSV: student,answer,score[,max,comment]")
    imp.add_argument("file", type=Path)
    imp.add_argument("--assignment", type=Path, required=True, help="assignments/<name>")
    imp.add_argument("--gradebook", type=Path)
    _lang_option(imp)
    pend = sub.add_parser("pending", help="list answers still waiting for a score")
    pend.add_argument("--assignment", type=Path, required=True)
    pend.add_argument("--gradebook", type=Path)
    _lang_option(pend)
    args = p.parse_args(argv)
    from .gradebook import Gradebook
    from .manual import import_scores, pending
    from .spec import load_assignment

    assignment = load_assignment(args.assignment)
    _set_lang(args.lang or assignment.lang)
    with Gradebook(args.gradebook or _home() / "gradebook.sqlite") as book:
        if args.action == "import":
            n = import_scores(book, assignment.name, args.file)
            left = len(pending(book, assignment.name))
            _out(
                msg(
                    f"imported {n} manual score(s); {left} answer(s) still pending. "
                    "Run grade again to refresh the reports.",
                    f"직접 채점 점수 {n}개를 가져왔습니다. 아직 {left}개 답안이 채점을 기다립니다. "
                    "보고서를 갱신하려면 grade를 다시 실행하세요.",
                )
            )
        else:
            rows = pending(book, assignment.name)
            for student, answer in rows:
                print(f"{student},{answer}")
            _out(msg(f"{len(rows)} answer(s) pending", f"채점 대기 중인 답안 {len(rows)}개"), file=sys.stderr)
    return 0


def _lang_in(argv: list[str]) -> str:
    """--lang as the command line gives it, before any parser has run (for an error
    that comes before the assignment is read); else English."""
    for i, word in enumerate(argv):
        value = word.removeprefix("--lang=") if word.startswith("--lang=") else None
        if word == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        if value in LANGS:
            return value
    return DEFAULT_LANG


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _set_lang(_lang_in(argv))
    try:
        if argv and argv[0] in SUBCOMMANDS:
            from .release import cmd_release

            handler = {"export": cmd_export, "data": cmd_data, "scores": cmd_scores, "release": cmd_release}[argv[0]]
            return handler(argv[1:])
        return cmd_grade(argv)
    except GraderError as exc:
        text = message_of(exc)
        _out(join([msg("grade: error: ", "grade: 오류: "), text], sep=""), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _out(
            msg(
                "grade: interrupted; rerun the same command to resume",
                "grade: 중단됨; 같은 명령을 다시 실행하면 이어서 채점합니다",
            ),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
