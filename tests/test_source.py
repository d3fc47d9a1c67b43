"""Reading a notebook's code on the trusted side: a function and the code it uses.

A rule such as "conv2d_simple must not call a library convolution" has to see through
globals: `_f = getattr(np, "corr" + "elate")` at the top of a notebook and `_f(...)`
inside the function hides the call from a check of the function's own text.
"""

from __future__ import annotations

import ast
import time

import nbformat
import pytest

from grader import source
from grader.errors import BadReply
from grader.source import function_closure, grader_mentions


def _notebook(*cells: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_the_closure_holds_the_function_and_the_globals_it_reads() -> None:
    nb = _notebook(
        "import numpy as np\nimport pandas as pd",
        "_lib = getattr(np, 'corr' + 'elate')",
        "def conv(a, b):\n    return _lib(a, b)",
        "unrelated = pd.DataFrame()",
    )
    closure = function_closure(nb, "conv")
    assert closure is not None
    assert "getattr(np, 'corr' + 'elate')" in closure
    assert "import numpy as np" in closure
    assert "pd.DataFrame" not in closure


def test_the_closure_follows_helpers_transitively_and_in_notebook_order() -> None:
    nb = _notebook(
        "from scipy import signal",
        "def _inner(x):\n    return signal.correlate2d(x, x)",
        "def _outer(x):\n    return _inner(x)",
        "def conv(x):\n    return _outer(x)",
    )
    closure = function_closure(nb, "conv")
    assert closure is not None
    parts = closure.split("\n\n")
    assert parts[0] == "from scipy import signal"
    assert parts[-1].startswith("def conv")
    assert "signal.correlate2d" in closure


def test_a_global_assigned_inside_an_if_or_by_a_global_statement_counts() -> None:
    nb = _notebook(
        "import numpy as np\nif True:\n    _f = np.convolve",
        "def setup():\n    global _g\n    _g = np.correlate",
        "def conv(x):\n    return _f(x, x) + _g(x, x)",
    )
    closure = function_closure(nb, "conv")
    assert closure is not None
    assert "_f = np.convolve" in closure and "_g = np.correlate" in closure


def test_magics_and_broken_cells_do_not_hide_the_function() -> None:
    nb = _notebook(
        "%matplotlib inline\nimport numpy as np",
        "def broken(:\n    pass",
        "def conv(x):\n    return np.sum(x)",
    )
    closure = function_closure(nb, "conv")
    assert closure == "import numpy as np\n\ndef conv(x):\n    return np.sum(x)"


def test_no_def_means_no_closure() -> None:
    assert function_closure(_notebook("conv = lambda x: x"), "conv") is None
    assert function_closure(_notebook("x = 1"), "conv") is None


def test_naming_the_graders_kernel_helper_is_noticed() -> None:
    nb = _notebook("x = 1", "import sys\nw = sys.modules['_grader_witness']\nw.handle = print")
    assert grader_mentions(nb) == [(2, "_grader_witness")]
    assert grader_mentions(_notebook("grader_score = 3")) == []


# --- reading untrusted source under caps (issue 8: the trusted side under limits) ------


def test_cell_magics_whose_body_is_not_python_are_skipped_and_python_ones_read() -> None:
    nb = _notebook(
        "%%bash\n_f = np.correlate\n",
        "%%writefile notes.txt\n_g = np.correlate\n",
        "%%writefile helper.py\nfrom scipy.signal import correlate2d as _h\n",
        "\n%%time\nimport numpy as np\n_k = np.convolve",
        "def conv(x):\n    return _f(x) + _g(x) + _h(x) + _k(x)",
    )
    closure = function_closure(nb, "conv")
    assert closure is not None
    assert "np.correlate" not in closure  # %%bash and a text file do not run as notebook code
    assert "correlate2d as _h" in closure  # a .py file written by the notebook may be imported
    assert "_k = np.convolve" in closure and "import numpy as np" in closure  # %%time runs Python
    assert source.unread_cells(nb) == []


def test_a_cell_over_the_cap_is_not_parsed_and_a_check_of_the_code_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda text, *a, **k: parsed.append(len(text)) or real_parse(text, *a, **k))
    big = "_f = np.correlate\n" + "x = 1\n" * (source.MAX_CELL_CHARS // 6 + 1)
    nb = _notebook("import numpy as np", big, "def conv(x):\n    return _f(x)")
    assert [u.cell for u in source.unread_cells(nb)] == [2]
    with pytest.raises(BadReply, match=r"did not read cell 2 .*over 200,000"):
        function_closure(nb, "conv")
    with pytest.raises(BadReply, match="cell 2"):
        source.function_source(nb, "conv")
    assert [st.text for st in source.statements(nb)][-1].startswith("def conv")
    assert parsed and max(parsed) < source.MAX_CELL_CHARS  # the big cell never reached the parser
    # a 4 MB %%writefile of data is not Python: skipped, not "unread"
    data = "%%writefile data.csv\n" + "1,2,3\n" * 700_000
    nb = _notebook(data, "def conv(x):\n    return x")
    assert source.unread_cells(nb) == []
    assert function_closure(nb, "conv") == "def conv(x):\n    return x"


def test_the_notebook_budget_leaves_later_cells_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_NOTEBOOK_CHARS", 100)
    nb = _notebook("a = 1\n" * 10, "b = 2\n" * 10, "def conv(x):\n    return a + b")
    assert [(u.cell, "over 100" in u.reason) for u in source.unread_cells(nb)] == [(2, True)]
    with pytest.raises(BadReply):
        function_closure(nb, "conv")


def test_segments_match_ast_get_source_segment_with_unicode_and_crlf() -> None:
    cell = (
        "이름 = '한글 😀'\r\n"
        "def conv(x,\r\n         y=이름):\r\n    '''docstring ünïcode'''\r\n    return (x +\r\n            len(y))\r\n"
        "values = {'ключ': [1, 2,\r\n   3]}; other = values\r\n"
    )
    nb = _notebook(cell)
    text = source.strip_magics(cell)
    tree = ast.parse(text)
    expected = [ast.get_source_segment(text, node) for node in tree.body]
    assert [st.text for st in source.statements(nb)] == expected
    assert source.function_source(nb, "conv") == expected[1]
    assert function_closure(nb, "conv") == expected[0] + "\n\n" + expected[1]


def test_extraction_is_linear_in_the_cells_size() -> None:
    # 60 KB of tiny statements all binding the same few names, each reading them: one
    # get_source_segment per statement and every binder of every load took 64 s here.
    body = "\n".join(f"a{i % 100} = a{(i + 1) % 100} + 1" for i in range(4000))
    nb = _notebook("def conv(x):\n    return a1 + x\n" + body)
    started = time.monotonic()
    closure = function_closure(nb, "conv")
    seconds = time.monotonic() - started
    assert closure is not None and closure.count("\n\n") == 4000
    assert seconds < 5, f"function_closure took {seconds:.1f} s on a 60 KB cell"


def test_cells_that_do_not_parse_or_are_pathological_define_nothing() -> None:
    nb = _notebook("x = (" * 300 + "1" + ")" * 300, "s = 'a\x00b'", "def conv(x):\n    return x")
    assert function_closure(nb, "conv") == "def conv(x):\n    return x"
