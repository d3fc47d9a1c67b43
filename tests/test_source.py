"""Reading a notebook's code on the trusted side: a function and the code it uses.

A rule such as "conv2d_simple must not call a library convolution" has to see through
globals: `_f = getattr(np, "corr" + "elate")` at the top of a notebook and `_f(...)`
inside the function hides the call from a check of the function's own text.
"""

from __future__ import annotations

import nbformat

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
