"""C export: one self-contained C99 header that computes ``Network.predict``'s bits.

The header holds the network's parameters as ``static const`` arrays, the
project's own maths (the text of ``bp_math.h``, the very file the compiled
core is built from: exp, tanh, the logistic, the softmax and the dot product
in the kernels' summation order) and one function,

    static inline void NAME_predict(const double *x, double *out);

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


def stack_bytes(specs):
    """The bytes of NAME_predict's local arrays: z and a per layer, z alone for the last."""
    return 8 * sum(s.n_out * (1 if l == len(specs) - 1 else 2) for l, s in enumerate(specs))

# The activation of one unit, for elementwise layers: the kernels' expressions
# (bp_math.h's functions, or the selections of _activations.pxi's `activate`).
UNIT = {
    "logistic": "bp_logistic({z})",
    "tanh": "bp_tanh({z})",
    "relu": "{z} > 0.0 ? {z} : 0.0",
    "leaky_relu": "{z} > 0.0 ? {z} : {slope} * {z}",
    "identity": "{z}",
}


def math_header():
    """The text of bp_math.h as installed with backprop."""
    return (resources.files("backprop") / "bp_math.h").read_text(encoding="utf-8")


def _literal(v):
    """An exact C literal for the double v."""
    return float(v).hex()


def _array(name, values, comment):
    values = [_literal(v) for v in values]
    rows = [", ".join(values[i:i + 4]) for i in range(0, len(values), 4)]
    body = ",\n    ".join(rows)
    return f"/* {comment} */\nstatic const double {name}[{len(values)}] = {{\n    {body}\n}};\n"


def to_c(net, path=None, name="mynet"):
    """The C source of ``net.predict`` as one header; written to ``path`` if given.

    Returns the text.  ``name`` prefixes everything the header defines
    (``NAME_predict``, ``NAME_N_IN``, ``NAME_N_OUT``, the arrays): a C
    identifier, letters, digits and underscores, starting with a letter and
    not with ``bp_`` (the prefix of the embedded maths).

    ``NAME_predict(x, out)`` reads NAME_N_IN doubles and writes NAME_N_OUT, the
    bits of ``net.predict(x)``, provided the compiler does not contract
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
    if stack_bytes(specs) > MAX_STACK_BYTES:
        raise ValueError(f"to_c: this network's predict would keep {stack_bytes(specs)} bytes of "
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
 *   static inline void {name}_predict(const double *x, double *out);
 *       x: {name.upper()}_N_IN = {n_in} inputs; out: {name.upper()}_N_OUT = {n_out} outputs.
 *       It keeps each layer's values on the stack: {name.upper()}_STACK_BYTES = {stack_bytes(specs)}.
 *
 * {name}_predict gives exactly the bits of the network's predict() on the same
 * inputs: it runs the kernels' operations in their order, with the code the
 * kernels are built from (bp_math.h below: exp, tanh, the logistic, the
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

/* ---- backprop's maths: bp_math.h, verbatim ---- */
""", math_header(), f"""/* ---- end of bp_math.h ---- */

#define {name.upper()}_N_IN {n_in}
#define {name.upper()}_N_OUT {n_out}
#define {name.upper()}_STACK_BYTES {stack_bytes(specs)}

"""]
    for l, s in enumerate(specs):
        parts.append(_array(f"{name}_w{l}", s.W.ravel(),
                            f"layer {l + 1}: weights W[j][i], {s.n_out} x {s.n_in}, row-major"))
        if s.bias != "none":
            what = "one bias shared by the layer's units" if s.bias == "shared" else f"{s.n_out} biases"
            parts.append(_array(f"{name}_b{l}", s.b, f"layer {l + 1}: {what}"))
        parts.append("\n")
    parts.append(f"static inline void {name}_predict(const double *x, double *out)\n{{\n")
    for l, s in enumerate(specs):
        last = l == len(specs) - 1
        parts.append(f"    double z{l}[{s.n_out}]" + ("" if last else f", a{l}[{s.n_out}]") + ";\n")
    parts.append("    ptrdiff_t j;\n")
    a_in = "x"
    for l, s in enumerate(specs):
        last = l == len(specs) - 1
        a_out = "out" if last else f"a{l}"
        bias = {"neuron": f" + {name}_b{l}[j]", "shared": f" + {name}_b{l}[0]", "none": ""}[s.bias]
        slope = f" (slope {s.slope!r})" if s.activation == "leaky_relu" else ""
        parts.append(f"    /* layer {l + 1}: {s.n_in} -> {s.n_out}, {s.activation}{slope} */\n"
                     f"    for (j = 0; j < {s.n_out}; j++)\n"
                     f"        z{l}[j] = bp_dot({name}_w{l} + j * {s.n_in}, {a_in}, {s.n_in}){bias};\n")
        if s.activation == "softmax":
            parts.append(f"    bp_softmax(z{l}, {a_out}, {s.n_out});\n")
        else:
            unit = UNIT[s.activation].format(z=f"z{l}[j]", slope=_literal(s.slope))
            parts.append(f"    for (j = 0; j < {s.n_out}; j++)\n        {a_out}[j] = {unit};\n")
        a_in = a_out
    parts.append(f"}}\n\n#endif /* {guard} */\n")
    return "".join(parts)
