# Kernel-side bootstrap: sent as text and run in the student's kernel before the first
# cell, in a private namespace (not the student's globals). It is NOT imported by
# the grader. Nothing here is secret: it holds no test,
# no expected value, and the student may read or break it; breaking it only makes the
# kernel a worse witness of the student's own work, which the trusted side then
# reports. The grader puts _GRADER_CONFIG in the namespace before running it.
#
# It installs: seeds, the profile (data set shim, epoch cap), a trace recorder, and
# the witness module `_grader_witness` that answers the trusted side's questions.
import sys as _sys
import types as _types


def _grader_bootstrap(config):
    import base64
    import builtins
    import importlib.abc
    import importlib.util
    import io
    import json
    import math
    import os
    import random
    import time

    import numpy as np

    seed = int(config["seed"])
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)

    mime = config["mime"]
    max_reply = int(config["max_reply_bytes"])
    profile = config["profile"]
    trace = []

    def record(event, **fields):
        if len(trace) < 10000:
            fields["event"] = event
            fields["t"] = round(time.time(), 3)
            trace.append(fields)

    # ---------------------------------------------------------------- encoding
    class TooBig(Exception):
        pass

    _save = np.save
    _asarray = np.asarray
    _ndarray = np.ndarray
    _generic = np.generic

    def encode(value, budget, depth=0):
        if depth > 32:
            raise TooBig("value is nested more than 32 levels deep")
        budget[0] -= 1
        if budget[0] < 0:
            raise TooBig("value has too many parts")
        t = type(value)
        if value is None or t is bool or t is str:
            if t is str and len(value) > max_reply:
                raise TooBig("string is too long")
            return value
        if t is int:
            if abs(value) < 2**53:
                return value
            return {"$int": str(value)}
        if t is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}
        if isinstance(value, _generic):
            return encode(value.item(), budget, depth + 1)
        if isinstance(value, _ndarray):
            arr = _asarray(value)
            if arr.dtype.kind not in "biufc":
                return {"$object": "ndarray of " + str(arr.dtype), "repr": ""}
            if arr.nbytes > max_reply:
                raise TooBig(f"array of {arr.nbytes} bytes")
            buf = io.BytesIO()
            _save(buf, arr, allow_pickle=False)
            return {"$ndarray": base64.b64encode(buf.getvalue()).decode("ascii")}
        if t is list:
            return [encode(v, budget, depth + 1) for v in value]
        if t is tuple:
            return {"$tuple": [encode(v, budget, depth + 1) for v in value]}
        if t is dict:
            return {"$dict": [[encode(k, budget, depth + 1), encode(v, budget, depth + 1)] for k, v in value.items()]}
        name = t.__module__ + "." + t.__qualname__
        try:
            text = object.__repr__(value)
        except Exception:
            text = ""
        return {"$object": name, "repr": text[:200]}

    def decode(value):
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            if "$ndarray" in value:
                raw = base64.b64decode(value["$ndarray"])
                return np.load(io.BytesIO(raw), allow_pickle=False)
            if "$tuple" in value:
                return tuple(decode(v) for v in value["$tuple"])
            if "$dict" in value:
                return {decode(k): decode(v) for k, v in value["$dict"]}
            if "$float" in value:
                return float(value["$float"])
            if "$int" in value:
                return int(value["$int"])
        return value

    from IPython.display import publish_display_data

    def send(payload):
        text = json.dumps(payload)
        if len(text) > max_reply:
            payload = {"id": payload["id"], "ok": False,
                       "error": {"type": "TooBig", "message": f"the answer is {len(text)} bytes, over the limit"}}
            text = json.dumps(payload)
        publish_display_data({mime: text})

    # ---------------------------------------------------------------- forbidden calls
    def make_profiler(patterns, hits):
        def prof(frame, event, arg):
            if event == "call":
                mod = frame.f_globals.get("__name__", "") or ""
                name = frame.f_code.co_name
            elif event == "c_call":
                mod = getattr(arg, "__module__", "") or ""
                if not mod and type(arg).__name__ == "ufunc":
                    mod = "numpy"
                name = getattr(arg, "__name__", "") or ""
            else:
                return
            for top, leaf, dotted in patterns:
                if (mod == top or mod.startswith(top + ".")) and (
                    name == leaf or name.startswith(leaf + "_v")
                ):
                    if dotted not in hits:
                        hits.append(dotted)
        return prof

    def user_ns():
        return get_ipython().user_ns  # noqa: F821 - defined in IPython kernels

    def describe_exc(exc):
        return {"type": type(exc).__name__, "message": str(exc)[:2000]}

    def handle(request_b64):
        req = json.loads(base64.b64decode(request_b64))
        rid = req["id"]
        try:
            op = req["op"]
            ns = user_ns()
            if op == "get":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                value = ns[req["name"]]
                send({"id": rid, "ok": True, "value": encode(value, [1_000_000])})
            elif op == "has":
                send({"id": rid, "ok": True, "value": req["name"] in ns})
            elif op == "type":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                t = type(ns[req["name"]])
                send({"id": rid, "ok": True, "value": t.__module__ + "." + t.__qualname__})
            elif op == "call":
                if req["name"] not in ns:
                    send({"id": rid, "ok": False, "error": {"type": "MissingName", "message": req["name"]}})
                    return
                fn = ns[req["name"]]
                args = decode(req["args"])
                kwargs = decode(req["kwargs"])
                hits = []
                patterns = []
                for dotted in req.get("forbid", []):
                    top = dotted.split(".")[0]
                    patterns.append((top, dotted.rsplit(".", 1)[-1], dotted))
                old = _sys.getprofile()
                if patterns:
                    _sys.setprofile(make_profiler(patterns, hits))
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # the student's exception is data here
                    _sys.setprofile(old)
                    send({"id": rid, "ok": False, "error": describe_exc(exc), "student": True,
                          "forbidden": hits})
                    return
                finally:
                    _sys.setprofile(old)
                send({"id": rid, "ok": True, "value": encode(result, [1_000_000]), "forbidden": hits})
            elif op == "trace":
                send({"id": rid, "ok": True, "value": encode(list(trace), [1_000_000])})
            elif op in EXTRA_OPS:
                send({"id": rid, "ok": True, "value": encode(EXTRA_OPS[op](ns, req), [1_000_000])})
            else:
                send({"id": rid, "ok": False, "error": {"type": "BadRequest", "message": op}})
        except TooBig as exc:
            send({"id": rid, "ok": False, "error": {"type": "TooBig", "message": str(exc)}})
        except BaseException as exc:
            send({"id": rid, "ok": False, "error": describe_exc(exc)})

    EXTRA_OPS = {}

    # ---------------------------------------------------------------- profile: data sets
    data_dir = config.get("data_dir")

    def make_loader(name):
        def load_data(*args, **kwargs):
            path = os.path.join(data_dir or "/data", name + ".npz")
            if not os.path.exists(path):
                raise RuntimeError(
                    f"the grader did not provide the data set {name!r} for this assignment"
                )
            with np.load(path, allow_pickle=False) as f:
                out = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
            record("load_data", dataset=name, train=int(len(out[0][0])), test=int(len(out[1][0])))
            return out
        load_data.__grader_shim__ = True
        return load_data

    shims = {
        "keras.src.datasets.mnist": make_loader("mnist"),
        "keras.src.datasets.fashion_mnist": make_loader("fashion_mnist"),
    }
    after_import = {}

    def patch_dataset(module):
        shim = shims[module.__name__]
        # Patched right after the module body ran, before any alias of it
        # (keras.datasets.*, tf.keras.datasets.*) is bound elsewhere.
        module.load_data = shim
        record("profile", action="dataset shim installed", module=module.__name__)

    def on_import(name, fn):
        after_import.setdefault(name, []).append(fn)

    for modname in shims:
        on_import(modname, patch_dataset)

    def seed_tensorflow(module):
        try:
            module.random.set_seed(seed)
        except Exception:
            pass

    def seed_keras(module):
        try:
            module.utils.set_random_seed(seed)
        except Exception:
            pass

    on_import("tensorflow", seed_tensorflow)
    on_import("keras", seed_keras)

    # ---------------------------------------------------------------- post-import hooks
    class PostImport(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname not in after_import:
                return None
            _sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                _sys.meta_path.insert(0, self)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            exec_module = loader.exec_module

            def exec_and_patch(module, _exec=exec_module, _name=fullname):
                _exec(module)
                for fn in after_import[_name]:
                    try:
                        fn(module)
                    except Exception as exc:
                        record("bootstrap_error", module=_name, error=repr(exc)[:300])

            class Wrapped(importlib.abc.Loader):
                def create_module(self, spec):
                    return loader.create_module(spec)

                def exec_module(self, module):
                    exec_and_patch(module)

            spec.loader = Wrapped()
            return spec

    _sys.meta_path.insert(0, PostImport())

    module = _types.ModuleType("_grader_witness")
    module.handle = handle
    module.record = record
    module.trace = trace
    module.encode = encode
    module.decode = decode
    module.on_import = on_import
    module.EXTRA_OPS = EXTRA_OPS
    module.config = config
    _sys.modules["_grader_witness"] = module
    del builtins


_grader_bootstrap(_GRADER_CONFIG)  # noqa: F821 - set by the grader in this private namespace
