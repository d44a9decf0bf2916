"""symbackprop's benchmark: prints one Markdown table per target, and the machine it ran on.

    python benchmarks/run.py                    (about 6 minutes on 2 cores)
    python benchmarks/run.py --only commands    (one section; --only may be given more than once)

1. Derivation: derive + JSON written, per size, in a fresh process: median time,
   peak memory, and the log-log slope of time against the number of parameters.
2. Commands at scale: whole commands (derive in every format, verify, check of 784-128-10;
   derive of a 10-20-5 RNN over 20 steps), each in a fresh process, output piped and
   written with -o, against their time targets.
3. Compiled gradients (symbackprop.compile) against a hand-written NumPy backprop and,
   when installed, PyTorch autograd and JAX grad under jit, in float64 and float32, timed
   side by side, interleaved; the ratio is to the fastest of the others in the same run.
4. The cost of backprop: (forward + backward) / forward in counted operations and
   in time, and the same for one lambdified expression per weight (small nets).
5. Peers: brute-force sympy.diff of the nested E (given up at 60 s), PyTorch
   autograd and JAX grad under jit when they are installed.
6. Notebook display: repr(d) and d._repr_markdown_().
7. Conv nets: the compiled gradient of a small MNIST-sized conv net against a hand-written
   NumPy (im2col) backprop, timed interleaved as in 3.
8. LSTM: the compiled BPTT of an LSTM (32-64-10, T = 50, batch 64) against a hand-written
   NumPy BPTT, timed interleaved as in 3; and the derivation of a 2-3-2 LSTM with T = 4.
9. BPTT against JAX's lax.scan.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import sympy

import symbackprop as sb
from symbackprop._cost import cost

DERIVE_SIZES = ["78-128-10", "196-128-10", "392-128-10", "784-128-10", "784-256-128-10"]
COMPILE_SIZES = ["2-3-1", "128-128-10", "784-128-10", "784-256-128-10"]
BRUTE_SIZES = ["2-3-1", "4-8-4-2", "32-32-10"]
GIVE_UP = 60


def machine() -> str:
    from importlib.metadata import version
    return (f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {np.__version__} ({_blas()}), SymPy {sympy.__version__}, click {version('click')}")


def _blas() -> str:
    """The BLAS NumPy calls, as its build configuration names it."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"BLAS: {blas['name']} {blas.get('version', '')}".rstrip()
    except Exception:               # older NumPy: no dicts mode
        return "BLAS: unknown"


def table(head, rows) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "| " + " | ".join("{:<%d}" % w for w in widths) + " |"
    return "\n".join([line.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line.format(*map(str, r)) for r in rows])


# ---------------------------------------------------------------- 1. derivation
_DERIVE_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
import symbackprop as sb
net = sb.network(sys.argv[1], activation="sigmoid", bias=True)
t0 = time.perf_counter()
d = sb.derive(net)
text = d.to_json()
with open(sys.argv[2], "w") as fh:
    fh.write(text)
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "with_start": t1 - start, "gradients": len(d.gradients),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def derivation(rounds: int = 3) -> str:
    runs = {s: [] for s in DERIVE_SIZES}
    for _ in range(rounds):                   # interleaved: every size once per round
        for size in DERIVE_SIZES:
            out = subprocess.run([sys.executable, "-c", _DERIVE_CHILD, size, "/tmp/symbackprop-bench.json"],
                                 capture_output=True, text=True, check=True)
            runs[size].append(json.loads(out.stdout))
    rows, xs, ys = [], [], []
    for size in DERIVE_SIZES:
        t = statistics.median(r["seconds"] for r in runs[size])
        total = statistics.median(r["with_start"] for r in runs[size])
        peak = max(r["peak_mb"] for r in runs[size])
        n = runs[size][0]["gradients"]
        xs.append(math.log(n))
        ys.append(math.log(t))
        rows.append((size, f"{n:,}", f"{t:.2f} s", f"{total:.2f} s", f"{peak:,.0f} MB"))
    slope = np.polyfit(xs, ys, 1)[0]
    return ("### 1. Derivation: `derive SPEC --activation sigmoid --bias --format json -o FILE`\n\n"
            + table(("network", "gradients", "derive + JSON (median)", "with Python start-up", "peak memory"), rows)
            + f"\n\nLog-log slope of time against gradients: **{slope:.2f}** (1.0 is linear; "
              f"{rounds} interleaved runs per size, each in a fresh process).\n")


# ---------------------------------------------------------------- 2. commands at scale
_DENSE = ["784-128-10", "--activation", "sigmoid", "--bias"]
_RNN_SPEC = ('kind = "rnn"\ninputs = 10\nhidden = 20\noutputs = 5\nsteps = 20\nactivation = "tanh"\n'
             'output_activation = "linear"\nloss = "mse"\nbias = true\n')


def _commands(rnn_spec: str) -> list:
    """(what the row shows, the command's arguments, target in seconds, whether it takes -o)."""
    dense = " ".join(_DENSE)
    rows = [(f"derive {dense} --format json", ["derive", *_DENSE, "--format", "json"], 2.0, True)]
    rows += [(f"derive {dense} --format {fmt}", ["derive", *_DENSE, "--format", fmt], 4.0, True)
             for fmt in ("text", "latex", "markdown")]
    claim = "dE/dw11[1] = delta1[2]*x1"
    rows += [(f'verify {dense} "{claim}"', ["verify", *_DENSE, claim], 4.0, False),
             (f"check {dense}", ["check", *_DENSE], 5.0, False)]
    rows += [(f"derive RNN 10-20-5, T = 20, tanh, bias --format {fmt}", ["derive", rnn_spec, "--format", fmt], 3.0, True)
             for fmt in ("json", "text")]
    return rows


def _run_command(args: list) -> float:
    """Wall time of one whole command in a fresh process (start-up and import included)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"symbackprop {' '.join(args)} failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace')[-500:]}")
    return seconds


def commands(rounds: int = 3) -> str:
    """Each command's median wall time, its output piped and written with -o, against its target."""
    load = os.getloadavg()[0]        # a shared machine's other work shows in every wall time
    with tempfile.TemporaryDirectory() as tmp:
        rnn_spec = os.path.join(tmp, "rnn-10-20-5.toml")
        with open(rnn_spec, "w") as fh:
            fh.write(_RNN_SPEC)
        rows = _commands(rnn_spec)
        piped, written = {r[0]: [] for r in rows}, {r[0]: [] for r in rows}
        for _ in range(rounds):                   # interleaved: every command once per round
            for label, args, _, takes_o in rows:
                piped[label].append(_run_command(args))
                if takes_o:
                    written[label].append(_run_command([*args, "-o", os.path.join(tmp, "out")]))
    out = []
    for label, _, target, takes_o in rows:
        p = statistics.median(piped[label])
        w = statistics.median(written[label]) if takes_o else None
        met = p <= target and (w is None or w <= target)
        out.append((f"`{label}`", f"{target:.0f} s", f"{p:.2f} s", "—" if w is None else f"{w:.2f} s",
                    "yes" if met else "**no**"))
    return ("### 2. Commands at scale: `symbackprop …`, whole commands\n\n"
            + table(("command", "target", "median, output piped", "median, -o FILE", "met"), out)
            + f"\n\nWall time of the whole command in a fresh process (Python start-up and import included); "
              f"{rounds} runs each, interleaved; load average {load:.1f} at the start. verify and check write no file.\n")


# ---------------------------------------------------------------- 3. compiled gradients
def hand_backprop(W, b, X, T):
    """Sigmoid, mse, biases: backprop as one writes it by hand with matrix products."""
    A, Z = [X], []
    for Wk, bk in zip(W, b):
        z = A[-1] @ Wk + bk
        Z.append(z)
        A.append(1.0 / (1.0 + np.exp(-z)))
    E = 0.5 * ((A[-1] - T) ** 2).sum()
    delta = (A[-1] - T) * A[-1] * (1.0 - A[-1])
    dW, db = [None] * len(W), [None] * len(W)
    for k in range(len(W) - 1, -1, -1):
        dW[k] = A[k].T @ delta
        db[k] = delta.sum(axis=0)
        if k:
            delta = (delta @ W[k].T) * A[k] * (1.0 - A[k])
    return E, dW, db


def _peers() -> tuple[dict, list]:
    """The installed peers' makers ``(W, b, X, T) -> run()``, and a note for each one missing."""
    found, notes = {}, []
    for name, module, maker in (("PyTorch", "torch", _torch), ("JAX jit", "jax", _jax)):
        try:
            __import__(module)
        except ImportError:
            notes.append(f"{name}: not installed, skipped (not a dependency; `pip install torch jax` for its column)")
            continue
        found[name] = maker
    if "JAX jit" in found:
        import jax
        jax.config.update("jax_enable_x64", True)       # float64 arrays stay float64 (JAX's default is float32)
    return found, notes


def _time_us(value: float) -> str:
    return f"{value * 1e6:,.1f} µs" if value < 1e-4 else f"{value * 1e6:,.0f} µs"


def compiled(batches=(1, 32, 1024), dtypes=("float64", "float32")) -> str:
    """symbackprop's compiled gradient, hand-written NumPy and the installed peers, interleaved, per size,
    batch and dtype; the ratio is to the fastest of the others in the same run."""
    rows = []
    rng = np.random.default_rng(0)
    peers, notes = _peers()
    for size in COMPILE_SIZES:
        net = sb.network(size, activation="sigmoid", bias=True)
        start = time.perf_counter()
        f = sb.compile(net)
        compile_s = time.perf_counter() - start
        L = net.layers
        W64 = [rng.normal(0, 1 / math.sqrt(L[k]), (L[k], L[k + 1])) for k in range(len(L) - 1)]
        b64 = [rng.normal(0, 0.1, L[k + 1]) for k in range(len(L) - 1)]
        for batch in batches:
            X64, T64 = rng.uniform(-1, 1, (batch, L[0])), rng.uniform(0, 1, (batch, L[-1]))
            for dtype in dtypes:
                W, b = [w.astype(dtype) for w in W64], [v.astype(dtype) for v in b64]
                X, T = X64.astype(dtype), T64.astype(dtype)
                mine, E_ref = f(W, b, X, T), hand_backprop(W, b, X, T)
                tol = dict(rtol=1e-3, atol=1e-5) if dtype == "float32" else {}
                assert mine[0].dtype == np.dtype(dtype) and all(m.dtype == np.dtype(dtype) for m in mine[1])
                assert np.isclose(mine[0], E_ref[0], **tol) and all(
                    np.allclose(p, q, **tol) for p, q in zip(mine[1], E_ref[1]))
                runners = {"sb": lambda: f(W, b, X, T), "hand": lambda: hand_backprop(W, b, X, T)}
                runners.update({name: make(W, b, X, T) for name, make in peers.items()})
                rounds = max(15, min(1000, int(1e7 / (batch * net.n_weights + 1))))
                times = {name: [] for name in runners}
                order, shuffle = list(runners.items()), random.Random(0).shuffle
                for _ in range(rounds):          # interleaved, so all see the same machine load, in an order
                    shuffle(order)               # drawn anew each round; each runs once untimed first: a call
                    for name, run in order:      # right after a peer's pays for that peer's threads (twice the
                        run()                    # time at 128-128-10), which is not its own cost
                        for _ in range(2):
                            t = time.perf_counter()
                            run()
                            times[name].append(time.perf_counter() - t)
                median = {name: statistics.median(v) for name, v in times.items()}
                others = {name: v for name, v in median.items() if name != "sb"}
                fastest = min(others, key=others.get)
                rows.append((size, batch, dtype, f"{compile_s:.2f} s", _time_us(median["sb"]), _time_us(median["hand"]),
                             *(_time_us(median[p]) for p in peers),
                             f"**{median['sb'] / others[fastest]:.2f}** ({fastest})"))
    head = ("network", "batch", "dtype", "compile", "symbackprop (median)", "hand-written NumPy",
            *peers, "ratio to the fastest other")
    return ("### 3. Compiled gradients (`symbackprop.compile`) against hand-written NumPy and the peers\n\n"
            + table(head, rows)
            + "\n\nSigmoid, mse, biases; E and all gradients per call, in the dtype of the arrays given; the "
              "ratio is of medians timed interleaved in the same run, to the fastest of the others. Each round "
              "runs every one in a new order, once untimed and then twice timed: the first call after another "
              "library's pays for that library's threads, up to twice the time at 128-128-10.\n"
            + "".join(f"\n- {n}" for n in notes) + ("\n" if notes else ""))


# ---------------------------------------------------------------- 4. cost of backprop
def cost_table() -> str:
    rows = []
    for size in COMPILE_SIZES:
        net = sb.network(size, activation="sigmoid", bias=True)
        for batch in (1, 1024):
            for r in cost(net, batch=batch, repeat=30 if batch == 1 else 5):
                if r.forward_ops is None:
                    if batch == 1:
                        rows.append((size, batch, r.approach, "—", "—", r.note))
                    continue
                rows.append((size, batch, r.approach, f"{r.op_ratio:.2f}", f"{r.time_ratio:.2f}",
                             f"{r.forward_ops:,} → {r.total_ops:,} ops"))
    return ("### 4. Cost of backprop: (forward + backward) / forward\n\n"
            + table(("network", "batch", "approach", "ratio (ops)", "ratio (time)", "detail"), rows)
            + "\n\nOps: multiplications and additions per sample in the generated code. "
              "`symbackprop cost SPEC` prints this for any network.\n")


# ---------------------------------------------------------------- 5. peers
_BRUTE_CHILD = """
import sys, time, sympy
import symbackprop as sb
d = sb.derive(sys.argv[1])
nested = d.nested_loss()
t = time.perf_counter()
for p in d.network.parameters():
    sympy.diff(nested, p)
print(time.perf_counter() - t)
"""


def peers() -> str:
    rows = []
    for size in BRUTE_SIZES:
        net = sb.network(size)
        t = time.perf_counter()
        sb.derive(net).to_json(expanded=False)
        ours = time.perf_counter() - t
        try:
            out = subprocess.run([sys.executable, "-c", _BRUTE_CHILD, size], capture_output=True, text=True,
                                 timeout=GIVE_UP, check=True)
            brute = f"{float(out.stdout):.2f} s"
        except subprocess.TimeoutExpired:
            brute = f"gave up after {GIVE_UP} s"
        rows.append((size, f"{net.n_weights:,}", f"{ours:.2f} s", brute))
    text = ("### 5. Peers\n\n" + table(("network", "weights", "symbackprop δ form + JSON",
                                         "brute-force sympy.diff of the nested E"), rows) + "\n")
    notes = []
    net = sb.network("784-128-10", activation="sigmoid", bias=True)
    rng = np.random.default_rng(0)
    W = [rng.normal(0, 0.05, (784, 128)), rng.normal(0, 0.05, (128, 10))]
    b = [np.zeros(128), np.zeros(10)]
    X, T = rng.uniform(0, 1, (1024, 784)), rng.uniform(0, 1, (1024, 10))
    f = sb.compile(net)
    for name, runner in (("PyTorch autograd (CPU)", _torch), ("JAX grad under jit", _jax)):
        try:
            peer = runner(W, b, X, T)
        except ImportError:
            notes.append(f"{name}: not installed, skipped (not a dependency)")
            continue
        ours, theirs = [], []
        for _ in range(10):
            t = time.perf_counter()
            f(W, b, X, T)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            peer()
            theirs.append(time.perf_counter() - t)
        notes.append(f"{name}, 784-128-10 batch 1024: {statistics.median(theirs) * 1e3:.1f} ms; "
                     f"symbackprop {statistics.median(ours) * 1e3:.1f} ms")
    return text + "\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def _torch(W, b, X, T):
    import torch
    Wt = [torch.tensor(w, requires_grad=True) for w in W]
    bt = [torch.tensor(v, requires_grad=True) for v in b]
    Xt, Tt = torch.tensor(X), torch.tensor(T)

    def run():
        a = Xt
        for w, v in zip(Wt, bt):
            a = torch.sigmoid(a @ w + v)
        E = 0.5 * ((a - Tt) ** 2).sum()
        return torch.autograd.grad(E, Wt + bt)
    return run


def _jax(W, b, X, T):
    import jax
    import jax.numpy as jnp

    def loss(params, X, T):
        a = X
        for w, v in params:
            a = jax.nn.sigmoid(a @ w + v)
        return 0.5 * ((a - T) ** 2).sum()
    grad = jax.jit(jax.grad(loss))
    params = [(jnp.asarray(w), jnp.asarray(v)) for w, v in zip(W, b)]
    grad(params, X, T)                          # compile once

    def run():
        return jax.block_until_ready(grad(params, X, T))
    return run


# ---------------------------------------------------------------- 6. notebook display
def notebook_display(rounds: int = 5) -> str:
    """What Jupyter does with a derivation: repr and _repr_markdown_ (issue 13: under 2 s, under 200 KB)."""
    import symbackprop as sb
    rows = []
    for spec in ("2-3-1", "784-128-10"):
        d = sb.derive(spec)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            shown = repr(d) + d._repr_markdown_()
            times.append(time.perf_counter() - t0)
        rows.append((spec, f"{statistics.median(times) * 1000:.1f} ms", f"{len(shown.encode()):,} bytes"))
    return ("### 6. Notebook display: `repr(d)` and `d._repr_markdown_()`\n\n"
            + table(("network", "display time (median)", "what the notebook stores"), rows) + "\n")


# ---------------------------------------------------------------- 7. conv nets
CONV_NET = {"inputs": [1, 28, 28], "loss": "cross_entropy", "layer": [
    {"kind": "conv", "channels": 8, "kernel": 3, "activation": "relu", "bias": True},
    {"kind": "maxpool", "size": 2}, {"size": 10, "activation": "softmax", "bias": True}]}


def hand_conv(P, X, T):
    """CONV_NET's backprop as one writes it by hand: im2col and one matrix product each way for the
    conv, the 2×2 pool as a reshape (gradient to the first maximum), channels last throughout."""
    from numpy.lib.stride_tricks import sliding_window_view
    K, b1, W, b2 = P["K[1]"], P["b[2]"], P["W[3]"], P["b[4]"]
    n = len(X)
    cols = sliding_window_view(X, (3, 3), axis=(2, 3)).transpose(0, 2, 3, 1, 4, 5).reshape(n * 676, 9)
    z1 = cols @ K.reshape(8, 9).T + b1                                     # (n·26·26, 8)
    a1 = np.maximum(z1, 0.0)
    blocks = a1.reshape(n, 13, 2, 13, 2, 8).transpose(0, 1, 3, 5, 2, 4).reshape(n, 13, 13, 8, 4)
    first = blocks.argmax(axis=-1)
    a2 = np.take_along_axis(blocks, first[..., None], axis=-1)[..., 0]
    flat = a2.transpose(0, 3, 1, 2).reshape(n, 1352)                       # C order over (channel, row, column)
    z3 = flat @ W + b2
    shifted = z3 - z3.max(axis=1, keepdims=True)
    log_a = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    E = -(T * log_a).sum()
    d3 = np.exp(log_a) - T
    up = (d3 @ W.T).reshape(n, 8, 13, 13).transpose(0, 2, 3, 1)
    routed = np.zeros_like(blocks)
    np.put_along_axis(routed, first[..., None], up[..., None], axis=-1)
    d1 = routed.reshape(n, 13, 13, 8, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n * 676, 8) * (z1 > 0)
    return E, {"K[1]": (d1.T @ cols).reshape(K.shape), "b[2]": d1.sum(axis=0), "W[3]": flat.T @ d3,
               "b[4]": d3.sum(axis=0)}


def conv_table(batch: int = 64, rounds: int = 50, dtypes=("float64", "float32")) -> str:
    """The compiled gradient of a conv net (issue 16: at most 1.5× the hand-written im2col NumPy)."""
    from symbackprop._conv_spec import from_data
    from symbackprop._conv_numeric import ConvFunction
    net = from_data(CONV_NET, "benchmark")
    derive_s = []
    for _ in range(3):                            # the derivation itself (target: under 10 s), median of 3
        start = time.perf_counter()
        sb.derive(net).to_text()
        derive_s.append(time.perf_counter() - start)
    start = time.perf_counter()
    f = ConvFunction(net)
    compile_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    P64 = {"K[1]": rng.normal(0, 1 / 3, (8, 1, 3, 3)), "b[2]": rng.normal(0, 0.1, 8),
           "W[3]": rng.normal(0, 1 / math.sqrt(1352), (1352, 10)), "b[4]": np.zeros(10)}
    X64, T64 = rng.uniform(0, 1, (batch, 1, 28, 28)), np.eye(10)[rng.integers(0, 10, batch)]
    rows = []
    for dtype in dtypes:
        P, X, T = {k: v.astype(dtype) for k, v in P64.items()}, X64.astype(dtype), T64.astype(dtype)
        (E, g), (E_hand, g_hand) = f(P, X, T), hand_conv(P, X, T)
        tol = dict(rtol=1e-3, atol=1e-5) if dtype == "float32" else {}
        assert E.dtype == np.dtype(dtype) and all(v.dtype == np.dtype(dtype) for v in g.values())
        assert np.isclose(E, E_hand, **tol) and all(np.allclose(g[k], g_hand[k], **tol) for k in g)
        times = {"sb": [], "hand": []}
        for _ in range(rounds):                   # interleaved, so both see the same machine load
            for name, fn in (("sb", f), ("hand", hand_conv)):
                t = time.perf_counter()
                fn(P, X, T)
                times[name].append(time.perf_counter() - t)
        ms, mh = statistics.median(times["sb"]), statistics.median(times["hand"])
        rows.append((net.describe(), batch, dtype, f"{compile_s:.2f} s", f"{ms * 1e3:.2f} ms", f"{mh * 1e3:.2f} ms",
                     f"**{ms / mh:.2f}**"))
    return ("### 7. Conv nets: compiled gradients against hand-written NumPy (im2col)\n\n"
            + table(("network", "batch", "dtype", "compile", "symbackprop (median)", "hand-written (median)", "ratio"),
                    rows)
            + f"\n\nE and all gradients per call; {rounds} calls each, interleaved; the ratio is of the two medians "
              "of one run (target: at most 1.5). Deriving that net (every gradient, the forms checked against every "
              f"instance, the text written): {statistics.median(derive_s):.1f} s, median of 3 (target: under 10 s).\n")


# ---------------------------------------------------------------- 8. LSTM
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def hand_lstm(P, X, T):
    """LSTM BPTT as one writes it by hand (CS231n style): the four gates in one matrix, tanh, a
    linear output layer V, c, mse summed over the steps; X (batch, steps, inputs)."""
    Wx, Wh, b, V, c = P["Wx"], P["Wh"], P["b"], P["V"], P["c"]
    n, steps, _ = X.shape
    H = Wh.shape[0]
    h, cell = np.zeros((n, H), X.dtype), np.zeros((n, H), X.dtype)
    cache, E = [], 0.0
    for t in range(steps):
        a = X[:, t] @ Wx + h @ Wh + b
        i, f, o, g = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
        c_prev, h_prev = cell, h
        cell = f * c_prev + i * g
        tc = np.tanh(cell)
        h = o * tc
        y = h @ V + c
        E += 0.5 * ((y - T[:, t]) ** 2).sum()
        cache.append((h_prev, c_prev, i, f, o, g, tc, h, y - T[:, t]))
    grads = {k: np.zeros_like(v) for k, v in P.items()}
    dh_next, dc_next = np.zeros((n, H), X.dtype), np.zeros((n, H), X.dtype)
    for t in range(steps - 1, -1, -1):
        h_prev, c_prev, i, f, o, g, tc, h, dy = cache[t]
        grads["V"] += h.T @ dy
        grads["c"] += dy.sum(axis=0)
        dh = dy @ V.T + dh_next
        dc = dc_next + dh * o * (1 - tc ** 2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dh * tc * o * (1 - o),
                             dc * i * (1 - g ** 2)], axis=1)
        grads["Wx"] += X[:, t].T @ da
        grads["Wh"] += h_prev.T @ da
        grads["b"] += da.sum(axis=0)
        dh_next, dc_next = da @ Wh.T, dc * f
    return E, grads


def lstm_table(inputs=32, hidden=64, outputs=10, steps=50, batch=64, rounds=60,
               dtypes=("float64", "float32")) -> str:
    """The compiled LSTM gradient (GatedFunction) against hand-written NumPy BPTT (target: at most 1.3×),
    and the derivation of a 2-3-2 LSTM with T = 4 (target: under 10 s)."""
    from symbackprop._gated import GatedRNN
    from symbackprop._gated_derive import derive_gated
    from symbackprop._gated_numeric import GatedFunction
    derive_s = []
    for _ in range(3):
        start = time.perf_counter()
        derive_gated(GatedRNN.build("lstm", 2, 3, 2, 4, bias=True)).to_text()
        derive_s.append(time.perf_counter() - start)
    net = GatedRNN.build("lstm", inputs, hidden, outputs, steps, bias=True)
    start = time.perf_counter()
    f = GatedFunction(net)
    compile_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    P64 = {k: rng.normal(0, 0.5 if len(s) == 1 else 1 / math.sqrt(s[0]), s) for k, s in f.shapes.items()}
    X64, T64 = rng.uniform(-1, 1, (batch, steps, inputs)), rng.uniform(-1, 1, (batch, steps, outputs))
    rows = []
    for dtype in dtypes:
        P, X, T = {k: v.astype(dtype) for k, v in P64.items()}, X64.astype(dtype), T64.astype(dtype)
        mine = {"Wx": np.concatenate([P[f"U_{g}"] for g in "ifog"], axis=1), "V": P["V"], "c": P["c"],
                "Wh": np.concatenate([P[f"W_{g}"] for g in "ifog"], axis=1),
                "b": np.concatenate([P[f"b_{g}"] for g in "ifog"])}
        (E, g), (E_hand, g_hand) = f(P, X, T), hand_lstm(mine, X, T)
        tol = dict(rtol=2e-3, atol=1e-4) if dtype == "float32" else {}
        assert E.dtype == np.dtype(dtype) and all(v.dtype == np.dtype(dtype) for v in g.values())
        split = {f"{M}_{gate}": g_hand[key][..., m * hidden:(m + 1) * hidden]
                 for M, key in (("U", "Wx"), ("W", "Wh"), ("b", "b")) for m, gate in enumerate("ifog")}
        assert np.isclose(E, E_hand, **tol) and all(
            np.allclose(g[k], {**split, "V": g_hand["V"], "c": g_hand["c"]}[k], **tol) for k in g)
        times = {"sb": [], "hand": []}
        for _ in range(rounds):                   # interleaved, so both see the same machine load
            for name, run in (("sb", lambda: f(P, X, T)), ("hand", lambda: hand_lstm(mine, X, T))):
                t = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t)
        ms, mh = statistics.median(times["sb"]), statistics.median(times["hand"])
        rows.append((net.describe(), batch, dtype, f"{compile_s:.2f} s", f"{ms * 1e3:.2f} ms", f"{mh * 1e3:.2f} ms",
                     f"**{ms / mh:.2f}**"))
    return ("### 8. LSTM: compiled BPTT against hand-written NumPy\n\n"
            + table(("network", "batch", "dtype", "compile", "symbackprop (median)", "hand-written (median)", "ratio"),
                    rows)
            + f"\n\nE and all gradients per call; {rounds} calls each, interleaved; the ratio is of the two medians "
              "of one run (target: at most 1.3). Deriving a 2-3-2 LSTM with T = 4 (`derive_gated`: the sweep, the "
              f"forms checked against every instance, the text written): {statistics.median(derive_s):.2f} s, "
              "median of 3 (target: under 10 s).\n")


# ---------------------------------------------------------------- 9. BPTT against JAX's lax.scan
def _jax_rnn(cell: str, dtype: str):
    """grad of the summed mse of an Elman RNN (tanh) or an LSTM over lax.scan, under jit: JAX's idiom."""
    import jax
    import jax.numpy as jnp

    def loss(P, X, T):
        h0 = jnp.zeros((X.shape[0], P["W"].shape[0] if cell == "rnn" else P["Wh"].shape[0]), dtype=X.dtype)

        def step(carry, xt):
            if cell == "rnn":
                h = jnp.tanh(xt @ P["U"] + carry @ P["W"] + P["b"])
                return h, h
            h, c = carry
            H = h.shape[1]
            a = xt @ P["Wx"] + h @ P["Wh"] + P["b"]
            i, f, o = (jax.nn.sigmoid(a[:, m * H:(m + 1) * H]) for m in range(3))
            c = f * c + i * jnp.tanh(a[:, 3 * H:])
            h = o * jnp.tanh(c)
            return (h, c), h
        carry = h0 if cell == "rnn" else (h0, h0)
        _, hs = jax.lax.scan(step, carry, jnp.swapaxes(X, 0, 1))
        y = hs @ P["V"] + P["c"]
        return 0.5 * jnp.sum((y - jnp.swapaxes(T, 0, 1)) ** 2)
    return jax.jit(jax.value_and_grad(loss))


def scan_table(inputs=32, hidden=64, outputs=10, steps=50, batch=64, rounds=40) -> str:
    """The compiled BPTT of the simple RNN and the LSTM against JAX's grad over lax.scan (target: 1.2×)."""
    try:
        import jax
    except ImportError:
        return ("### 9. BPTT against JAX's lax.scan\n\nJAX: not installed, skipped (not a dependency; "
                "`pip install jax` for this table)\n")
    jax.config.update("jax_enable_x64", True)
    from symbackprop._gated import GatedRNN
    from symbackprop._gated_numeric import GatedFunction
    rng, rows = np.random.default_rng(1), []
    X64, T64 = rng.uniform(-1, 1, (batch, steps, inputs)), rng.uniform(-1, 1, (batch, steps, outputs))
    for cell in ("rnn", "lstm"):
        if cell == "rnn":
            net = sb.rnn(inputs, hidden, outputs, steps, activation="tanh", bias=True)
            f = sb.compile(net)
        else:
            net = GatedRNN.build("lstm", inputs, hidden, outputs, steps, bias=True)
            f = GatedFunction(net)
        P64 = {k: rng.normal(0, 0.5 if len(s) == 1 else 1 / math.sqrt(s[0]), s) for k, s in f.shapes.items()}
        for dtype in ("float64", "float32"):
            P, X, T = {k: v.astype(dtype) for k, v in P64.items()}, X64.astype(dtype), T64.astype(dtype)
            theirs = P if cell == "rnn" else {
                "Wx": np.concatenate([P[f"U_{g}"] for g in "ifog"], axis=1), "V": P["V"], "c": P["c"],
                "Wh": np.concatenate([P[f"W_{g}"] for g in "ifog"], axis=1),
                "b": np.concatenate([P[f"b_{g}"] for g in "ifog"])}
            jgrad = _jax_rnn(cell, dtype)
            E_mine, E_jax = f(P, X, T)[0], jax.block_until_ready(jgrad(theirs, X, T))[0]
            assert np.isclose(float(E_mine), float(E_jax), rtol=1e-3 if dtype == "float32" else 1e-9)
            times = {"sb": [], "jax": []}
            for _ in range(rounds):
                for name, run in (("sb", lambda: f(P, X, T)),
                                  ("jax", lambda: jax.block_until_ready(jgrad(theirs, X, T)))):
                    t = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - t)
            ms, mj = statistics.median(times["sb"]), statistics.median(times["jax"])
            rows.append((net.describe(), batch, dtype, f"{ms * 1e3:.2f} ms", f"{mj * 1e3:.2f} ms", f"**{ms / mj:.2f}**"))
    return ("### 9. BPTT against JAX's lax.scan\n\n"
            + table(("network", "batch", "dtype", "symbackprop (median)", "JAX grad of lax.scan, jit (median)",
                     "ratio"), rows)
            + f"\n\nE and every gradient per call; {rounds} calls each, interleaved, after JAX's compilation; "
              "the ratio is of the two medians of one run (target: at most 1.2).\n")


SECTIONS = {"derivation": derivation, "commands": commands, "compiled": compiled, "cost": cost_table,
            "peers": peers, "notebook": notebook_display, "conv": conv_table, "lstm": lstm_table, "scan": scan_table}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="symbackprop's benchmark: Markdown tables on stdout.")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), metavar="SECTION",
                        help=f"run only this section (repeatable): {', '.join(SECTIONS)}; default: all")
    chosen = parser.parse_args(argv).only or list(SECTIONS)
    start = time.perf_counter()
    print(f"## symbackprop benchmark\n\nMachine: {machine()}\n")
    for name, section in SECTIONS.items():
        if name in chosen:
            print(section(), flush=True)
    print(f"Total benchmark time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
