"""The channel between the grader and a notebook's kernel holds against one giant message.

A notebook that prints a few hundred MB in one call sends them as one zmq message.
The output cap trims what reaches the report, but only after the message has been read
whole into the grader's memory (300 MB printed cost the grader 1.2 GB before this was
fixed); with several workers that is a way to take the grading host down. The grader's
sockets refuse messages over twice the answer cap (`max_reply_mb`, plus 1 MB), so the
flood never enters its memory, the report says what happened, and the notebook goes on.

Each test runs the kernel session in a fresh interpreter: its peak resident memory
(`ru_maxrss`) then says what the message cost the trusted side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

SCRIPT = textwrap.dedent(
    r"""
    import json, resource, sys
    import nbformat
    from grader.errors import BadReply
    from grader.execute import KernelSession
    from grader.spec import Limits, Profile
    from grader.witness import decode

    size_mb, max_reply_mb, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    flood = f"print('x' * {size_mb} * 1024 * 1024)"
    if how == "answer":  # the kernel side of the witness protocol answers every question with it
        flood = f"import sys\nsys.modules['_grader_witness'].handle = lambda blob: {flood}"
    cells = [flood, "honest = 6 * 7\nprint('still here', honest)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    limits = Limits(cell_timeout_s=60, check_timeout_s=20, max_reply_mb=max_reply_mb)
    with KernelSession(limits=limits, profile=Profile("smoke"), data_dir=None, sandboxed=True) as session:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = session.run_notebook(notebook)
        try:
            answer = decode(session.request({"op": "get", "name": "honest"})["value"])
        except BadReply as exc:
            answer = f"BadReply: {exc}"
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "grew_mb": (after - before) / 1024,
        "statuses": [c.status for c in result.cells],
        "second_cell_output": "".join(o.get("text", "") for o in notebook.cells[1].outputs),
        "answer": answer,
        "events": result.events,
    }))
    """
)


def _run(size_mb: int, max_reply_mb: int, how: str = "print") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(size_mb), str(max_reply_mb), how],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_giant_print_never_enters_the_graders_memory() -> None:
    run = _run(size_mb=300, max_reply_mb=8)
    assert run["grew_mb"] < 100, f"the grader's memory grew by {run['grew_mb']:.0f} MB"
    assert run["statuses"][1] == "ok"
    assert "still here 42" in run["second_cell_output"]  # the next cell's output arrives again
    assert run["answer"] == 42  # and the witness channel answers
    assert any("sent one output over 17 MB" in e for e in run["events"]), run["events"]


@pytest.mark.slow
def test_a_giant_answer_is_refused_not_read() -> None:
    run = _run(size_mb=300, max_reply_mb=8, how="answer")
    assert run["grew_mb"] < 100, f"the grader's memory grew by {run['grew_mb']:.0f} MB"
    assert run["answer"] == "BadReply: the notebook sent a message over 17 MB, which was refused"


@pytest.mark.slow
def test_ordinary_output_under_the_cap_still_arrives() -> None:
    run = _run(size_mb=2, max_reply_mb=8)
    assert run["statuses"] == ["ok", "ok"]
    assert "still here 42" in run["second_cell_output"]
    assert run["answer"] == 42
    assert not any("refused" in e for e in run["events"]), run["events"]
