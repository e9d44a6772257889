"""C export: one self-contained C99 header that computes ``Network.predict``'s bits.

The header holds the network's parameters as ``static const`` arrays, the
project's own maths (the text of ``bp_math.h``, and for a float32 network of
``bp_mathf.h``: the very files the compiled core is built from: exp, tanh,
the logistic, the softmax and the dot product in the kernels' summation
order) and one function,

    static inline void NAME_predict(const double *x, double *out);

(``float`` for a float32 network),
which does per layer what the kernels' forward pass does: ``z[j] =
bp_dot(W_j, a, n_in)``, then ``z[j] + b[j]`` (or ``+ b`` for a shared bias,
nothing for none), then the activation.  No allocation, no libm, no global
state beyond the constants; C99 and C++17 (hexadecimal floating literals).
"""
import os
import re
from importlib import resources

from .._atomic import write_file
from .._version import __version__
from ._layers import layers

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# NAME_predict keeps every layer's values in local arrays: the most stack they
# may take, well inside glibc's default thread stack (8 MiB).  A smaller stack
# (musl's 128 KiB) checks NAME_STACK_BYTES.
MAX_STACK_BYTES = 1 << 20


def stack_bytes(specs, itemsize=8):
    """The bytes of NAME_predict's local arrays: z and a per layer, z alone for the last."""
    return itemsize * sum(s.n_out * (1 if l == len(specs) - 1 else 2) for l, s in enumerate(specs))

# The activation of one unit, for elementwise layers: the kernels' expressions
# (bp_math.h's functions, or the selections of _activations.pxi's `activate`),
# with {f} the suffix of the float versions.
UNIT = {
    "logistic": "bp_logistic{f}({z})",
    "tanh": "bp_tanh{f}({z})",
    "relu": "{z} > 0.0 ? {z} : 0.0",
    "leaky_relu": "{z} > 0.0 ? {z} : {slope} * {z}",
    "identity": "{z}",
}
# Per network dtype: the C type, the suffix of its functions and literals, and
# the headers of its maths (bp_mathf.h includes bp_math.h, embedded above it).
C_TYPES = {"float64": ("double", "", ("bp_math.h",)),
           "float32": ("float", "f", ("bp_math.h", "bp_mathf.h"))}


def math_header(name="bp_math.h"):
    """The text of bp_math.h (or another of its headers) as installed with backprop."""
    return (resources.files("backprop") / name).read_text(encoding="utf-8")


def _literal(v, suffix=""):
    """An exact C literal for v (a double, or with suffix "f" a float's value)."""
    return float(v).hex() + suffix


def _array(name, values, comment, ctype="double", suffix=""):
    values = [_literal(v, suffix) for v in values]
    rows = [", ".join(values[i:i + 4]) for i in range(0, len(values), 4)]
    body = ",\n    ".join(rows)
    return f"/* {comment} */\nstatic const {ctype} {name}[{len(values)}] = {{\n    {body}\n}};\n"


def to_c(net, path=None, name="mynet"):
    """The C source of ``net.predict`` as one header; written to ``path`` if given.

    Returns the text.  ``name`` prefixes everything the header defines
    (``NAME_predict``, ``NAME_N_IN``, ``NAME_N_OUT``, the arrays): a C
    identifier, letters, digits and underscores, starting with a letter and
    not with ``bp_`` (the prefix of the embedded maths).

    ``NAME_predict(x, out)`` reads NAME_N_IN doubles (floats for a float32
    network) and writes NAME_N_OUT, the bits of ``net.predict(x)``, provided the compiler does not contract
    ``a*b + c`` into fused multiply-adds: compile with ``-ffp-contract=off``
    (gcc, clang; gcc's default under ``-std=c99``), ``/fp:precise`` (MSVC),
    never ``-ffast-math``, and with double arithmetic without excess precision
    (``FLT_EVAL_METHOD == 0``; on 32-bit x86 ``-msse2 -mfpmath=sse``).

    It keeps each layer's values on the stack, ``NAME_STACK_BYTES`` bytes; a
    network that would need more than ``MAX_STACK_BYTES`` (1 MiB) is refused.

    Prediction only: the loss, the optimiser and its state, and whether the
    biases are trained are not exported (a frozen bias is a constant like any
    other).
    """
    specs = layers(net, "to_c")
    if stack_bytes(specs, net.dtype.itemsize) > MAX_STACK_BYTES:
        raise ValueError(f"to_c: this network's predict would keep "
                         f"{stack_bytes(specs, net.dtype.itemsize)} bytes of "
                         f"layer values on the stack, more than {MAX_STACK_BYTES} (its layers are "
                         f"{'-'.join(map(str, net.sizes))} units wide); export it to ONNX instead")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (a C identifier), got {type(name).__name__}")
    if not NAME.match(name):
        raise ValueError(f"name must be a C identifier (a letter, then letters, digits or "
                         f"underscores), got {name!r}")
    if name.lower().startswith("bp_"):
        raise ValueError(f"name must not start with 'bp_', the prefix of the embedded maths, got {name!r}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike) or None, got {type(path).__name__}")
    text = _source(specs, name, net)
    if path is not None:
        write_file(path, text.encode("utf-8"))
    return text


def _source(specs, name, net):
    ctype, f, headers = C_TYPES[net.dtype.name]
    stack = stack_bytes(specs, net.dtype.itemsize)
    guard = name.upper() + "_H"
    n_in, n_out = specs[0].n_in, specs[-1].n_out
    acts = ", ".join(s.activation + (f"({s.slope!r})" if s.activation == "leaky_relu" else "")
                     for s in specs)
    parts = [f"""/* {name}.h: a backprop network exported by backprop {__version__} (backprop.export.to_c).
 *
 *   sizes       {"-".join(str(n) for n in net.sizes)}
 *   activations {acts}
 *   bias        {net.bias}
 *
 *   dtype       {net.dtype}
 *
 *   static inline void {name}_predict(const {ctype} *x, {ctype} *out);
 *       x: {name.upper()}_N_IN = {n_in} inputs; out: {name.upper()}_N_OUT = {n_out} outputs.
 *       It keeps each layer's values on the stack: {name.upper()}_STACK_BYTES = {stack}.
 *
 * {name}_predict gives exactly the bits of the network's predict() on the same
 * inputs: it runs the kernels' operations in their order, with the code the
 * kernels are built from ({" and ".join(headers)} below: exp, tanh, the logistic, the
 * softmax and the dot product).  That needs a compiler that does not contract
 * a*b + c into fused multiply-adds and keeps doubles without excess precision:
 *     gcc, clang:  -ffp-contract=off (gcc's default with -std=c99), no -ffast-math
 *     MSVC:        /fp:precise
 *     32-bit x86:  SSE2 arithmetic (-msse2 -mfpmath=sse), not the x87
 * Any optimisation level and instruction set (-O3 -march=native) is fine then.
 * C99 and C++17; no allocation, no libm, no global state beyond constants.
 */
#ifndef {guard}
#define {guard}

#include <float.h>
#include <stddef.h>
#if defined(__FAST_MATH__)
#error "{name}.h: -ffast-math changes the results; compile without it"
#endif
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "{name}.h needs double arithmetic without excess precision (FLT_EVAL_METHOD == 0), e.g. -msse2 -mfpmath=sse"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

"""]
    for header in headers:
        # bp_mathf.h includes bp_math.h, which is above it in this file
        text = math_header(header).replace('#include "bp_math.h"\n', "")
        parts += [f"/* ---- backprop's maths: {header}, verbatim ---- */\n", text,
                  f"/* ---- end of {header} ---- */\n\n"]
    parts.append(f"""#define {name.upper()}_N_IN {n_in}
#define {name.upper()}_N_OUT {n_out}
#define {name.upper()}_STACK_BYTES {stack}

""")
    for l, s in enumerate(specs):
        parts.append(_array(f"{name}_w{l}", s.W.ravel(),
                            f"layer {l + 1}: weights W[j][i], {s.n_out} x {s.n_in}, row-major",
                            ctype, f))
        if s.bias != "none":
            what = "one bias shared by the layer's units" if s.bias == "shared" else f"{s.n_out} biases"
            parts.append(_array(f"{name}_b{l}", s.b, f"layer {l + 1}: {what}", ctype, f))
        parts.append("\n")
    parts.append(f"static inline void {name}_predict(const {ctype} *x, {ctype} *out)\n{{\n")
    for l, s in enumerate(specs):
        last = l == len(specs) - 1
        parts.append(f"    {ctype} z{l}[{s.n_out}]" + ("" if last else f", a{l}[{s.n_out}]") + ";\n")
    parts.append("    ptrdiff_t j;\n")
    a_in = "x"
    for l, s in enumerate(specs):
        last = l == len(specs) - 1
        a_out = "out" if last else f"a{l}"
        bias = {"neuron": f" + {name}_b{l}[j]", "shared": f" + {name}_b{l}[0]", "none": ""}[s.bias]
        slope = f" (slope {s.slope!r})" if s.activation == "leaky_relu" else ""
        parts.append(f"    /* layer {l + 1}: {s.n_in} -> {s.n_out}, {s.activation}{slope} */\n"
                     f"    for (j = 0; j < {s.n_out}; j++)\n"
                     f"        z{l}[j] = bp_dot{f}({name}_w{l} + j * {s.n_in}, {a_in}, {s.n_in}){bias};\n")
        if s.activation == "softmax":
            parts.append(f"    bp_softmax{f}(z{l}, {a_out}, {s.n_out});\n")
        else:
            # the kernels' slope is the network's type: a float32 network rounds it
            slope = float(net.dtype.type(s.slope))
            unit = UNIT[s.activation].format(z=f"z{l}[j]", slope=_literal(slope, f), f=f)
            parts.append(f"    for (j = 0; j < {s.n_out}; j++)\n        {a_out}[j] = {unit};\n")
        a_in = a_out
    parts.append(f"}}\n\n#endif /* {guard} */\n")
    return "".join(parts)
