"""Accuracy and special-case tests for the libm-free functions of backprop._math.

The functions are reached through the test-only shim backprop._core._math_apply.
The reference is mpmath at 200 bits (~60 significant digits); errors are
measured in ulps of the exact result (see ``ulp_error``).

The bounds asserted (MAX_ULP) are the documented accuracy claims of
src/backprop/_math.pxd, a little above the maxima measured on ~2 million
points per function during development.  They are tighter than the
requirements (exp <= 0.52, expm1/log/log1p <= 1, tanh <= 2 ulp).
"""
import math
import os

import numpy as np
import pytest

import mpmath
from mpmath import libmp

from backprop._core import _math_apply

FUNCS = ("exp", "expm1", "log", "log1p", "tanh")
MAX_ULP = {"exp": 0.52, "expm1": 0.54, "log": 0.52, "log1p": 0.52, "tanh": 0.52}
NPTS = 20000  # random points per function (plus the hand-picked ones)

DMAX = np.finfo(np.float64).max
TINY = 5e-324  # smallest subnormal


def apply(name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _math_apply(name, x, out)
    return out


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def h(s):
    """float from a C99 hex literal."""
    return float.fromhex(s)


# ---------------------------------------------------------------- reference
# mpmath's low-level libmp layer is used directly: the high-level API costs
# 2-4x more per point.  Values are raw mpf tuples (sign, man, exp, bc).
PREC = 200                     # bits, ~60 significant digits
RN = libmp.round_nearest
FONE = libmp.fone


def _log2floor(v):
    """floor(log2 |v|) of a nonzero raw mpf."""
    return v[2] + v[3] - 1


def _series(x, coeffs, prec):
    """sum(c_i x^i, i = 1..): a few terms, for |x| < 2^-60 only."""
    acc = libmp.fzero
    for c in reversed(coeffs):
        acc = libmp.mpf_mul(libmp.mpf_add(acc, libmp.from_rational(*c, prec=prec, rnd=RN), prec, RN),
                            x, prec, RN)
    return acc


def reference(name, x):
    """f(x) to PREC bits as a raw mpf, for finite x in f's domain."""
    X = libmp.from_float(x)
    if name == "exp":
        return libmp.mpf_exp(X, PREC, RN)
    if name == "log":
        return libmp.mpf_log(X, PREC, RN)
    if name == "tanh":
        return libmp.mpf_tanh(X, PREC, RN)
    small = x == 0 or _log2floor(X) < -60
    if name == "expm1":
        if small:  # x + x^2/2 + x^3/6 + x^4/24, truncation < 2^-240 relative
            return _series(X, [(1, 1), (1, 2), (1, 6), (1, 24)], PREC + 20)
        extra = max(0, -_log2floor(X)) + 16  # exp(x) - 1 cancels -log2|x| bits
        return libmp.mpf_sub(libmp.mpf_exp(X, PREC + extra, RN), FONE, PREC, RN)
    if name == "log1p":
        if small:  # x - x^2/2 + x^3/3 - x^4/4
            return _series(X, [(1, 1), (-1, 2), (1, 3), (-1, 4)], PREC + 20)
        # 1 + x exactly (prec=0), then log, which keeps relative accuracy near 1
        return libmp.mpf_log(libmp.mpf_add(FONE, X, 0), PREC, RN)
    raise ValueError(name)


# --------------------------------------------------------------------- ulps
_OVERFLOW = libmp.from_man_exp((1 << 54) - 1, 1024 - 54)  # 2^1024 (1 - 2^-54)


def ulp_error(y, ref):
    """|y - ref| in units in the last place of the exact value ref.

    y is a double, ref the exact value (a raw mpf from ``reference``, or an
    mpmath mpf).  ulp(v) = 2^(max(floor(log2 |v|), -1022) - 52) is the
    spacing of the doubles around v; it is 2^-1074 in the subnormal range.
    Just below a power of two it is half the spacing just above.  For an exact
    value at or beyond the overflow threshold 2^1024 (1 - 2^-54), the
    correctly rounded result is +-inf, so an infinite y of the right sign
    counts as 0 ulp.  Any other infinite y, or a NaN y, counts as inf.
    """
    if isinstance(ref, mpmath.mpf):
        ref = ref._mpf_
    return _ulps(y, ref, _OVERFLOW, -1022, 52)


def _ulps(y, ref, overflow, emin, mant_bits):
    """|y - ref| in ulps of a binary format with mant_bits fraction bits and
    least normal exponent emin, whose correctly rounded result is +-inf from
    |ref| >= overflow on (ref a raw mpf)."""
    if math.isnan(y):
        return math.inf
    if ref == libmp.fzero:
        return 0.0 if y == 0 else math.inf
    neg = ref[0] == 1
    if libmp.mpf_cmp(libmp.mpf_abs(ref), overflow) >= 0:
        return 0.0 if math.isinf(y) and (y < 0) == neg else math.inf
    if math.isinf(y):
        return math.inf
    ue = max(_log2floor(ref), emin) - mant_bits
    d = libmp.mpf_sub(libmp.from_float(y), ref, PREC, RN)
    return abs(libmp.to_float(libmp.mpf_shift(d, -ue), rnd=RN))


def max_ulp_error(name, xs):
    """(max error, argmax x) of the named function over the doubles xs."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = apply(name, xs)
    worst, arg = -1.0, None
    for x, y in zip(xs.tolist(), ys.tolist()):
        err = ulp_error(y, reference(name, x))
        if err > worst:
            worst, arg = err, x
    return worst, arg


@mpmath.mp.workprec(PREC)
def test_ulp_error_helper():
    one = mpmath.mpf(1)
    assert ulp_error(1.0, one) == 0.0
    assert ulp_error(1.0 + 2.0 ** -52, one) == pytest.approx(1.0)
    # just below a power of two the spacing is half as large ...
    assert ulp_error(1.0, one - mpmath.mpf(2) ** -60) == pytest.approx(2.0 ** -7, rel=1e-9)
    # ... but the unit is that of the exact value: 1 - 2^-53 is 0.5 ulp from 1
    assert ulp_error(1.0 - 2.0 ** -53, one) == pytest.approx(0.5)
    # subnormal spacing
    assert ulp_error(2 * TINY, mpmath.mpf(TINY)) == pytest.approx(1.0)
    assert ulp_error(0.0, mpmath.mpf(TINY) / 2) == pytest.approx(0.5)
    # overflow: +inf is the correct rounding at/above 2^1024 (1 - 2^-54)
    assert ulp_error(math.inf, mpmath.mpf(2) ** 1024) == 0.0
    assert ulp_error(-math.inf, -mpmath.mpf(2) ** 1024) == 0.0
    assert ulp_error(DMAX, mpmath.mpf(2) ** 1024) == math.inf
    assert ulp_error(math.inf, mpmath.mpf(DMAX)) == math.inf
    assert ulp_error(math.nan, one) == math.inf


def test_reference_matches_mpmath():
    """The fast libmp reference agrees with mpmath's own functions."""
    xs = [1e-300, -1e-20, 3e-18, 2.0 ** -61, 1e-10, -0.3, 0.25, 1.5, -20.0, 300.0, 0.9999, 5e-324]
    fns = {"exp": mpmath.exp, "expm1": mpmath.expm1, "log": mpmath.log,
           "log1p": mpmath.log1p, "tanh": mpmath.tanh}
    with mpmath.mp.workprec(PREC + 60):
        for name, f in fns.items():
            for x in xs:
                if (name == "log" and x <= 0) or (name == "log1p" and x <= -1):
                    continue
                want = f(mpmath.mpf(x))
                got = mpmath.mpf(reference(name, x))
                assert abs(got - want) <= abs(want) * mpmath.mpf(2) ** (10 - PREC), (name, x)


# ------------------------------------------------------------ test points
def random_points(name, rng, n=NPTS):
    """Random doubles spread over the whole domain, log- and linear-uniform."""
    s = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    k = n // 4
    if name == "exp":
        parts = [rng.uniform(-745.2, 709.79, k),                 # whole domain
                 s[:k] * np.exp2(rng.uniform(-60, 9.5, k)),      # all magnitudes
                 rng.uniform(-745.2, -708.3, k // 2),            # subnormal results
                 rng.uniform(700.0, 709.78, k // 2),             # near overflow
                 rng.uniform(-1.0, 1.0, k)]
    elif name == "expm1":
        parts = [rng.uniform(-40.0, 709.78, 2 * k),
                 s[:k] * np.exp2(rng.uniform(-60, 5.5, k)),
                 s[:k // 4] * np.exp2(rng.uniform(-1075, -60, k // 4)),  # down to subnormal x
                 rng.uniform(-0.3, 0.3, k)]                      # both paths, near 0
    elif name == "log":
        parts = [np.exp2(rng.uniform(-1074, 1024, k)),           # whole domain, incl. subnormal x
                 rng.uniform(0.0, 4.0, k),
                 1.0 + rng.uniform(-0.02, 0.02, k),              # near 1
                 1.0 + s[:k] * np.exp2(rng.uniform(-53, -5, k))]
    elif name == "log1p":
        parts = [np.exp2(rng.uniform(-1074, 1024, k)),           # positive, all magnitudes
                 -np.exp2(rng.uniform(-1074, -1e-9, k)),         # (-1, 0)
                 rng.uniform(-1.0, 1.0, k),
                 s[:k] * np.exp2(rng.uniform(-60, -4, k))]       # near 0, both paths
    elif name == "tanh":
        parts = [s[:k] * np.exp2(rng.uniform(-1074, 4.3, k)),    # all magnitudes to saturation
                 rng.uniform(-20.0, 20.0, k),
                 rng.uniform(-1.0, 1.0, k),
                 s[:k] * np.exp2(rng.uniform(-6, 0, k))]         # both paths around 1/8
    x = np.concatenate(parts)
    x = x[np.isfinite(x)]
    if name in ("log", "log1p"):
        lo = 0.0 if name == "log" else -1.0
        x = x[x > lo]
    return x


def _around(v, n=3):
    """v and its n neighbouring doubles on each side."""
    out = [v]
    a = b = v
    for _ in range(n):
        a, b = np.nextafter(a, -np.inf), np.nextafter(b, np.inf)
        out += [a, b]
    return out


LN2 = math.log(2.0)
POW2 = [2.0 ** k for k in range(-1074, 1024, 7)]

# Inputs whose exact result lies within ~1e-4 ulp of a midpoint between two
# doubles (found by scanning random inputs with mpmath), and the inputs with
# the largest errors seen during development.  Both guard the rounding.
HALFWAY = {
    "exp": ["0x1.c67f77cb7d37cp-17", "-0x1.aa4899c55ee1fp-7", "0x1.6a17b29a575bcp+7",
            "-0x1.222adc591cbe1p-26", "0x1.51753e97acd84p+9", "0x1.6ddc830bd5534p-19",
            "0x1.5d1e757e1b28ap-15", "-0x1.6fb199d2a217ap-10", "-0x1.26538c5069690p+8",
            "0x1.ee9c541f84740p+6", "0x1.6700d1535b058p+7", "-0x1.4a2a4007efc2bp+9"],
    "expm1": ["0x1.d5731556cf5f2p-21", "0x1.bbc7a2269ef51p+8", "0x1.5e71fe429ebdcp-11",
              "-0x1.b5078f167616ap-4", "0x1.42bb1db361fa0p+8", "0x1.9902295a692aep-1",
              "-0x1.a6156544d3e77p-12", "0x1.06bc369c9a695p+7", "0x1.5d0b059487ad9p+9",
              "-0x1.762ed17fa432dp-2", "0x1.71b6b3d6c9171p-3", "-0x1.ca26fbda61b66p-24"],
    "log": ["0x1.d923df75a163bp-492", "0x1.9ea8523ab89d6p+0", "0x1.bb01369f7577ep+0",
            "0x1.ed87d7fd3ab89p+0", "0x1.187983ad976bcp+61", "0x1.077b64db316f9p-760",
            "0x1.77e159d497457p+0", "0x1.067587f8eb9b5p-628", "0x1.8aa9cebe77c3cp-551",
            "0x1.363630f9747edp-1", "0x1.77d682abfba40p-1", "0x1.68b7fa63b2399p+0"],
    "log1p": ["0x1.b0d79e0e8ee8cp+5", "-0x1.4bd3f57a230e8p-13", "-0x1.6abd15e0d1693p-18",
              "-0x1.d65ee95d5c7d5p-10", "-0x1.3ab0d18e3e564p-6", "-0x1.a595c89d32d6ep-21",
              "-0x1.30aef42f9dc73p-14", "0x1.0a2428eabebf0p+32", "-0x1.603e0432fea3dp-1",
              "0x1.0b1ee991b4e19p-16", "0x1.1f6dcd2c50288p+94", "0x1.31d4a4263eceep+70"],
    "tanh": ["0x1.df427fc9e392bp+1", "0x1.72dcfa330fcf3p-5", "0x1.50f13c0334e82p+1",
             "0x1.73d53d7981175p-18", "0x1.118b9d6328cd2p-12", "0x1.4430e8a56af3bp-5",
             "0x1.65a72a46febf3p+1", "0x1.fd535de1d0a73p-5", "0x1.320d3ef88ceb2p+3",
             "0x1.a036d2af546b6p+3", "0x1.4208c469e079dp+2", "0x1.47a4a699fd141p+3"],
}
WORST_SEEN = {
    "exp": ["-0x1.5d828052d9258p-3", "-0x1.968bd77c10eccp+7", "0x1.09b10cdcc8900p+2",
            "-0x1.3fa26e16b10a3p+9", "0x1.4e6c4a38dbddep-1"],
    "expm1": ["-0x1.dfddd4083c400p-3", "0x1.c8d3b077243c0p-3", "-0x1.fc03e3947cb60p-3",
              "-0x1.ebd65a1889770p-3", "-0x1.de607be8a48d8p-3"],
    "log": ["0x1.01ca017e884dap+0", "0x1.01995766c6a62p+0", "0x1.01d36e8862058p+0",
            "0x1.01b2794218e7ep+0", "0x1.017b70524e591p+0"],
    "log1p": ["0x1.cc9ecdb2cd490p-8", "0x1.f8c5dc5772d74p-8", "0x1.a9fa9e1de0a80p-8",
              "0x1.dec27e776a8a0p-8", "0x1.d1386d416d48cp-8"],
    "tanh": ["0x1.54c919f72fec0p-3", "0x1.01364b7d985dfp-3", "0x1.1d22549020728p-3",
             "0x1.0118e197f126fp-3", "0x1.1d60970602de4p-3"],
}


def hard_points(name):
    pts = []
    if name == "exp":
        pts += [0.0, -0.0, TINY, -TINY, 1e-300, -1e-300, 2.0 ** -53, -(2.0 ** -53), 1.0, -1.0]
        pts += [float(i) for i in range(-745, 710)]                       # integers
        pts += [k * LN2 for k in range(-1075, 1025)]                       # ln2 multiples
        pts += [k * LN2 / 128 for k in range(-300, 301)]                   # table nodes
        pts += [k * LN2 / 256 for k in range(-301, 302, 2)]                # table midpoints
        pts += _around(709.782712893384, 5)                                # overflow threshold
        pts += _around(-708.3964185322641, 5)                              # 2^-1022
        pts += _around(-744.4400719213812, 5)                              # 2^-1074
        pts += _around(-745.1332191019411, 5)                              # 2^-1075: rounds to 0
        pts += list(np.linspace(-745.2, -708.0, 2001))                     # subnormal results
        pts += list(np.linspace(709.0, 709.79, 501))
    elif name == "expm1":
        pts += [0.0, -0.0, TINY, -TINY, 1e-300, -1e-300, 1e-10, -1e-10, 1.0, -1.0]
        pts += [s * 2.0 ** -k for k in range(0, 1075, 3) for s in (1.0, -1.0)]
        pts += _around(0.25, 6) + _around(-0.25, 6)                        # path switch
        pts += [float(i) for i in range(-40, 710)]
        pts += [k * LN2 for k in range(-58, 1025)]
        pts += [k * LN2 / 128 for k in range(-100, 101)]
        pts += _around(-40.0, 3) + _around(-36.7368005696771, 3)           # rounding to -1
        pts += _around(709.782712893384, 5)
        pts += list(np.linspace(-0.3, 0.3, 1201))
    elif name == "log":
        pts += [TINY, 2 * TINY, 3 * TINY, 2.2250738585072014e-308, 2.225073858507201e-308, DMAX]
        pts += POW2 + [3.0 * p for p in POW2[:-1]] + [0.6875 * p for p in POW2[1:]]
        pts += [1.0 + k * 2.0 ** -52 for k in range(-64, 65)]              # 1 +- a few ulps
        pts += [1.0 + s * 2.0 ** -k for k in range(1, 54) for s in (1.0, -1.0)]
        pts += [1.0 - 2.0 ** -8, 1.0 + 2.0 ** -7, 1.0 - 2.0 ** -9, 1.0 + 2.0 ** -8]
        pts += [math.e, 1 / math.e, 10.0, 0.1, 0.5, 2.0, 0.6875, 1.375]
        pts += [float(i) for i in range(1, 2000)]
        pts += list(np.linspace(0.6, 1.4, 4001))                           # all table cells
    elif name == "log1p":
        pts += [0.0, -0.0, TINY, -TINY, 1e-300, -1e-300, 1e-10, -1e-10, 1.0, -0.5, DMAX]
        pts += [s * 2.0 ** -k for k in range(0, 1075, 3) for s in (1.0, -1.0) if s * 2.0 ** -k > -1]
        pts += [-1.0 + 2.0 ** -k for k in range(1, 54)]                    # near -1
        pts += _around(2.0 ** -30, 4) + _around(-(2.0 ** -30), 4)          # path switch
        pts += [-(2.0 ** -54) * (1 + k / 64) for k in range(0, 128)]      # 1 + x = 1 - 2^-53
        pts += [2.0 ** -53 * (1 + k / 64) for k in range(0, 128)]
        pts += _around(2.0 ** 53, 3) + _around(2.0 ** 54, 3) + _around(1e300, 2)
        pts += [float(i) for i in range(1, 1000)]
        pts += list(np.linspace(-0.99, 1.0, 4001))
    elif name == "tanh":
        pts += [0.0, -0.0, TINY, -TINY, 1e-300, -1e-300, 1e-10, -1e-10, 1.0, -1.0]
        pts += [s * 2.0 ** -k for k in range(0, 1075, 3) for s in (1.0, -1.0)]
        pts += _around(0.125, 6) + _around(-0.125, 6)                      # path switch
        pts += _around(19.061547465398498, 4) + _around(-19.061547465398498, 4)  # saturation
        pts += list(np.linspace(-19.5, 19.5, 3001))
        pts += [k * LN2 / 256 for k in range(-300, 301)]
    pts += [h(s) for s in HALFWAY[name] + WORST_SEEN[name]]
    return np.array(pts, dtype=np.float64)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("name", FUNCS)
def test_max_ulp_random(name):
    rng = np.random.default_rng(20240531 + FUNCS.index(name))
    xs = random_points(name, rng)
    assert len(xs) >= NPTS
    worst, arg = max_ulp_error(name, xs)
    assert worst <= MAX_ULP[name], "%s: %.4f ulp at x = %r (%s)" % (name, worst, arg, float.hex(arg))


@pytest.mark.parametrize("name", FUNCS)
def test_max_ulp_hard_cases(name):
    xs = hard_points(name)
    worst, arg = max_ulp_error(name, xs)
    assert worst <= MAX_ULP[name], "%s: %.4f ulp at x = %r (%s)" % (name, worst, arg, float.hex(arg))


INF, NAN = math.inf, math.nan
SPECIAL = {
    # name: [(x, expected), ...]; expected compared bitwise, NaN as any NaN
    "exp": [(0.0, 1.0), (-0.0, 1.0), (INF, INF), (-INF, 0.0), (NAN, NAN),
            (709.782712893384, 1.7976931348622732e308), (709.7827128933841, INF), (710.0, INF),
            (1e300, INF), (-708.3964185322641, 2.2250738585072626e-308),
            (-744.4400719213812, TINY), (-745.1332191019411, TINY), (-745.1332191019412, 0.0),
            (-746.0, 0.0), (-1e300, 0.0), (TINY, 1.0), (-TINY, 1.0), (1.0, math.e)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (INF, INF), (-INF, -1.0), (NAN, NAN), (TINY, TINY),
              (-TINY, -TINY), (1e-300, 1e-300), (-40.0, -1.0), (-1e300, -1.0),
              (709.782712893384, 1.7976931348622732e308), (709.7827128933841, INF), (1e300, INF)],
    "log": [(1.0, 0.0), (0.0, -INF), (-0.0, -INF), (INF, INF), (-INF, NAN), (-1.0, NAN),
            (-TINY, NAN), (NAN, NAN), (TINY, -744.4400719213812), (DMAX, 709.782712893384),
            (2.0, LN2), (0.5, -LN2)],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -INF), (INF, INF), (-INF, NAN), (-2.0, NAN),
              (-1.0000000000000002, NAN), (NAN, NAN), (TINY, TINY), (-TINY, -TINY),
              (1e-300, 1e-300), (1.0, LN2), (DMAX, 709.782712893384)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (NAN, NAN), (TINY, TINY),
             (-TINY, -TINY), (1e-300, 1e-300), (1e-10, 1e-10), (-1e-10, -1e-10),
             (19.061547465398498, 1.0), (-19.061547465398498, -1.0), (20.0, 1.0), (1e300, 1.0),
             (-1e300, -1.0)],
}


@pytest.mark.parametrize("name", FUNCS)
def test_special_values(name):
    xs = np.array([x for x, _ in SPECIAL[name]])
    want = np.array([w for _, w in SPECIAL[name]])
    got = apply(name, xs)
    for x, w, g in zip(xs, want, got):
        if math.isnan(w):
            assert math.isnan(g), "%s(%r) = %r, want NaN" % (name, x, g)
        else:
            assert bits(g) == bits(w), "%s(%r) = %r, want %r" % (name, x, g, w)


@pytest.mark.parametrize("name", FUNCS)
def test_nan_propagates(name):
    # quiet NaNs with payloads and both signs come back as NaN
    payloads = np.array([0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000123,
                         0x7FF0000000000001], dtype=np.uint64).view(np.float64)
    assert np.isnan(apply(name, payloads)).all()


def test_exp_zero_is_one():
    y = apply("exp", np.array([0.0, -0.0]))
    assert y[0] == 1.0 and y[1] == 1.0
    assert bits(y[0]) == bits(1.0)


def test_tanh_odd_symmetry():
    rng = np.random.default_rng(7)
    x = np.concatenate([
        np.exp2(rng.uniform(-1074, 5, 50000)),
        rng.uniform(0, 25, 50000),
        hard_points("tanh"),
        [0.0, TINY, INF, 1e300],
    ])
    x = np.abs(x)
    yp, yn = apply("tanh", x), apply("tanh", -x)
    assert np.array_equal(bits(yn), bits(-yp))  # bitwise, incl. -0.0
    assert np.signbit(apply("tanh", np.array([-0.0])))[0]


def test_tanh_saturation_cutoff():
    cut = 19.061547465398498  # smallest double whose correctly rounded tanh is 1
    below = np.nextafter(cut, 0.0)
    with mpmath.mp.workprec(PREC):
        assert 1 - mpmath.tanh(mpmath.mpf(cut)) <= mpmath.mpf(2) ** -54
        assert 1 - mpmath.tanh(mpmath.mpf(below)) > mpmath.mpf(2) ** -54
    x = np.concatenate([np.linspace(cut, 1000.0, 10001), [cut, 1e300, np.inf]])
    assert (apply("tanh", x) == 1.0).all()
    assert (apply("tanh", -x) == -1.0).all()
    assert apply("tanh", np.array([below]))[0] == 1.0 - 2.0 ** -53


def test_tanh_tiny_is_exact():
    # tanh(x) = x - x^3/3 + ...: x is the correctly rounded result for |x| < ~2^-26
    x = np.concatenate([np.exp2(np.arange(-1074.0, -27.0)), [1e-10, 3e-9, 1e-300, 2.5e-20]])
    assert np.array_equal(bits(apply("tanh", x)), bits(x))
    assert np.array_equal(bits(apply("tanh", -x)), bits(-x))
    y = apply("tanh", np.array([1e-10]))[0]
    assert ulp_error(y, reference("tanh", 1e-10)) <= 0.5


def _dense_grid(name):
    """Sorted dense grids: linear over the domain, plus runs of consecutive
    doubles across each internal switch point of the implementation."""
    runs = []

    def consecutive(v, n=2000):
        a = np.full(n, v).view(np.uint64) + np.arange(-n // 2, n // 2, dtype=np.int64).astype(np.uint64)
        return a.view(np.float64)

    if name == "exp":
        grids = [np.linspace(-746, 710, 400001), np.linspace(-1, 1, 100001)]
        runs = [consecutive(v) for v in (0.0078125, 709.78, -708.3964185322641, -745.0, LN2 / 256)]
    elif name == "expm1":
        grids = [np.linspace(-41, 710, 400001), np.linspace(-1, 1, 100001)]
        runs = [consecutive(v) for v in (0.25, -0.25, -40.0, 1e-5)]
    elif name == "log":
        grids = [np.linspace(1e-300, 10, 400001), np.exp2(np.linspace(-1074, 1023.99, 100001))]
        runs = [consecutive(v) for v in (1.0, 1 - 2.0 ** -8, 1 + 2.0 ** -7, 0.6875, 2.2250738585072014e-308)]
    elif name == "log1p":
        grids = [np.linspace(-0.999, 10, 400001), np.exp2(np.linspace(-60, 1023.99, 100001))]
        runs = [consecutive(v) for v in (2.0 ** -30, -(2.0 ** -30), 2.0 ** -53, -(2.0 ** -54))]
    elif name == "tanh":
        grids = [np.linspace(-25, 25, 400001), np.linspace(-0.5, 0.5, 100001)]
        runs = [consecutive(v) for v in (0.125, -0.125, 19.061547465398498, 1e-8)]
    return [np.sort(g) for g in grids + runs]


@pytest.mark.parametrize("name", FUNCS)
def test_monotonic(name):
    for g in _dense_grid(name):
        y = apply(name, g)
        bad = np.nonzero(y[1:] < y[:-1])[0]
        assert bad.size == 0, "%s not monotonic at x = %r: %r > %r" % (
            name, g[bad[0]], y[bad[0]], y[bad[0] + 1])


def test_shim_errors_and_inputs():
    x = np.linspace(0.5, 1.5, 7)
    with pytest.raises(ValueError):
        _math_apply("sin", x, np.empty_like(x))
    with pytest.raises(ValueError):
        _math_apply("exp", x, np.empty(6))
    ro = x.copy()
    ro.setflags(write=False)  # read-only input is accepted (const memoryview)
    out = np.empty_like(x)
    _math_apply("log", ro, out)
    assert np.array_equal(out, apply("log", x))
    empty = np.empty(0)
    _math_apply("tanh", empty, np.empty(0))


def test_scalar_exp_has_exactly_the_bits_of_exp():
    # bp_exp_scalar takes a shortcut for |x| <= 600 that must not change a bit.
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(-600.0, 600.0, 2_000_000),
        rng.uniform(-1.0, 1.0, 500_000),
        rng.uniform(-760.0, 720.0, 200_000),
        np.ldexp(rng.uniform(-1.0, 1.0, 200_000), rng.integers(-1074, 10, 200_000)),
        np.nextafter(np.array([600.0, -600.0, 0.0, 0.0]), np.array([np.inf, -np.inf, 1.0, -1.0])),
        [600.0, -600.0, 0.0, -0.0, 709.78, -708.39, -745.1, np.inf, -np.inf, np.nan, 1e-300],
    ])
    assert np.array_equal(bits(apply("exp_scalar", x)), bits(apply("exp", x)))


# ====================================================================== float32
# bp_expf, bp_expm1f, bp_logf, bp_log1pf and bp_tanhf evaluate in double and
# round once to float.  bp_mathf.h derives for each a relative error eps of
# the double value, hence a bound of 0.5 + 2^24 eps ulp.  bp_logisticf
# evaluates in float; bp_mathf.h derives its bound, 3.84 ulp, from the
# roundings of its steps.  These are those bounds (not measurements), and
# every float input is checked against them in the thorough profile.
F32 = ("exp", "expm1", "log", "log1p", "tanh", "logistic")
MAX_ULP_F32 = {"exp": 0.5 + 2.0 ** -18, "expm1": 0.5 + 2.0 ** -16, "log": 0.5 + 2.0 ** -18,
               "log1p": 0.5 + 2.0 ** -18, "tanh": 0.5 + 2.0 ** -15, "logistic": 3.84}
# HYPOTHESIS_PROFILE=thorough (or BACKPROP_MATH_EXHAUSTIVE=1) checks all 2^32
# float inputs (minutes); the default profile every STRIDE-th bit pattern
# (about a million inputs per function, spread over every binade and sign).
EXHAUSTIVE = (os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
              or os.environ.get("BACKPROP_MATH_EXHAUSTIVE") == "1")
STRIDE = 1 if EXHAUSTIVE else 4093
CHUNK = 1 << 24

FMAX = float(np.finfo(np.float32).max)
FTINY = 2.0 ** -149           # smallest float subnormal
FMIN = 2.0 ** -126            # smallest normal float
_OVERFLOW_F32 = libmp.from_man_exp((1 << 25) - 1, 128 - 25)  # 2^128 (1 - 2^-25)


def apply32(name, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _math_apply(name, x, out)
    return out


def bits32(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def reference32(name, x):
    """f(x) to PREC bits as a raw mpf, for a finite float x in f's domain."""
    if name == "logistic":
        e = libmp.mpf_exp(libmp.from_float(-x), PREC + 10, RN)
        return libmp.mpf_div(FONE, libmp.mpf_add(FONE, e, PREC + 10, RN), PREC, RN)
    return reference(name, x)


def ulp_error32(y, ref):
    """|y - ref| in float32 ulps of the exact value ref (as ``ulp_error``):
    ulp(v) = 2^(max(floor(log2 |v|), -126) - 23); at or beyond 2^128 (1 - 2^-25)
    the correctly rounded result is +-inf."""
    return _ulps(float(y), ref, _OVERFLOW_F32, -126, 23)


def numpy_f64(name, x):
    """f in float64 by numpy, an independent implementation: accurate to a few
    double ulps, i.e. to ~2^-27 float ulp."""
    with np.errstate(all="ignore"):        # signalling NaNs warn when cast
        xd = x.astype(np.float64)
        if name == "logistic":
            return 1.0 / (1.0 + np.exp(-xd))
        return {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
                "tanh": np.tanh}[name](xd)


def ulp_errors32_numpy(y, ref):
    """|y - ref| in float32 ulps of ref, for float32 results y against float64
    references ref, in float64 arithmetic (inf or NaN where that is undefined)."""
    with np.errstate(all="ignore"):
        _, e = np.frexp(ref)
        ulp = np.ldexp(1.0, np.maximum(e - 1, -126) - 23)
        return np.abs(y.astype(np.float64) - ref) / ulp


# numpy's float64 values are within a few 2^-53 of exact, i.e. ~2^-27 float32 ulp
NUMPY_MARGIN_ULP = 2.0 ** -20


def check_f32(name, x, max_mpmath=5000):
    """Assert bp_<name>f is within MAX_ULP_F32 of the exact f on the float32 array x.

    A result equal to RN_float(numpy's float64 value) is within 0.5 ulp plus
    numpy's error (~2^-27 ulp) of exact, inside the bound, and so is a result
    whose distance from numpy's value stays NUMPY_MARGIN_ULP below the bound.
    Every other result is settled with mpmath, which finds it within the bound
    exactly when the exact value lies that close to a midpoint between two
    floats (or the bound).  NaN results must be where f is undefined (NaN
    input, log of x < 0, ...)."""
    y = apply32(name, x)
    ref = numpy_f64(name, x)
    with np.errstate(all="ignore"):
        rn = ref.astype(np.float32)
    nan_y, nan_ref = np.isnan(y), np.isnan(rn)
    assert np.array_equal(nan_y, nan_ref), "%s: NaN at x = %r" % (
        name, x[np.nonzero(nan_y != nan_ref)[0][0]])
    diff = np.nonzero((bits32(y) != bits32(rn)) & ~nan_y)[0]
    near = ~(ulp_errors32_numpy(y[diff], ref[diff]) <= MAX_ULP_F32[name] - NUMPY_MARGIN_ULP)
    close = diff[near]
    assert close.size <= max_mpmath, "%s: %d results near or beyond the bound, e.g. " \
        "x = %r: %r vs %r" % (name, close.size, x[close[0]], y[close[0]], rn[close[0]])
    worst = 0.0
    for i in close.tolist():
        xi = float(x[i])
        err = ulp_error32(y[i], reference32(name, xi))
        assert err <= MAX_ULP_F32[name], "%s: %.6f ulp at x = %r (%s)" % (name, err, xi, float.hex(xi))
        worst = max(worst, err)
    return diff.size, worst


@pytest.mark.parametrize("name", F32)
def test_f32_all_inputs_within_bound(name):
    """Every STRIDE-th float32 bit pattern (all of them in the thorough
    profile), both signs, subnormals, inf and NaN included."""
    checked = 0
    for start in range(0, 1 << 32, CHUNK * STRIDE):
        x = np.arange(start, min(start + CHUNK * STRIDE, 1 << 32), STRIDE, dtype=np.uint64)
        check_f32(name, x.astype(np.uint32).view(np.float32))
        checked += x.size
    assert checked == -(-(1 << 32) // STRIDE)


def _around32(v, n=3):
    """the float32 v and its n neighbours on each side"""
    v = np.float32(v)
    out = [v]
    a = b = v
    for _ in range(n):
        a, b = np.nextafter(a, np.float32(-np.inf)), np.nextafter(b, np.float32(np.inf))
        out += [a, b]
    return out


def hard_points32(name):
    """Switch points, clamps, thresholds and special values of each function."""
    pts = [0.0, -0.0, FTINY, -FTINY, FMIN, -FMIN, FMIN - FTINY, FMAX, -FMAX, 1.0, -1.0,
           math.inf, -math.inf, math.nan]
    pts += [s * 2.0 ** k for k in range(-149, 128) for s in (1.0, -1.0)]
    if name in ("exp", "expm1", "logistic"):
        for v in (88.72283172607422, -103.97208, -87.33654, 100.0, -110.0, 110.0, -104.0, 104.0,
                  -17.328680, 17.32868, LN2 / 2, -LN2 / 2, 1.5 * LN2):
            pts += _around32(v, 4)
        pts += [k * LN2 for k in range(-160, 130)]
    if name in ("log", "log1p"):
        for v in (0.7071067811865476, 1.4142135623730951, 1.0, 2.0 ** -29, -(2.0 ** -29), -1.0,
                  2.0 ** 52, 2.0 ** 24):
            pts += _around32(v, 4)
    if name == "tanh":
        for v in (9.010913, 10.0, 0.125, 2.0 ** -12):
            pts += _around32(v, 4) + _around32(-v, 4)
    return np.array(pts, dtype=np.float32)


@pytest.mark.parametrize("name", F32)
def test_f32_hard_cases(name):
    check_f32(name, hard_points32(name))
    # and all of them against mpmath directly, not only the mismatches
    x = hard_points32(name)
    y = apply32(name, x)
    for xi, yi in zip(x.tolist(), y.tolist()):
        if math.isnan(xi) or math.isinf(xi) or (name == "log" and xi <= 0) or (name == "log1p" and xi <= -1):
            continue
        assert ulp_error32(yi, reference32(name, xi)) <= MAX_ULP_F32[name], (name, xi)


SPECIAL_F32 = {
    # name: [(x, expected)], compared bitwise, NaN as any NaN
    "exp": [(0.0, 1.0), (-0.0, 1.0), (INF, INF), (-INF, 0.0), (NAN, NAN), (1e30, INF),
            (88.72283172607422, 3.402798519021476e38), (88.72283935546875, INF), (-1e30, 0.0),
            (-103.97207641601562, FTINY), (-103.97208404541016, 0.0), (FTINY, 1.0), (-FTINY, 1.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (INF, INF), (-INF, -1.0), (NAN, NAN), (FTINY, FTINY),
              (-FTINY, -FTINY), (FMIN, FMIN), (-20.0, -1.0), (-1e30, -1.0), (1e30, INF)],
    "log": [(1.0, 0.0), (0.0, -INF), (-0.0, -INF), (INF, INF), (-INF, NAN), (-1.0, NAN),
            (-FTINY, NAN), (NAN, NAN), (2.0, float(np.float32(LN2))), (0.5, float(np.float32(-LN2))),
            (FTINY, float(np.float32(-149 * LN2)))],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -INF), (INF, INF), (-INF, NAN), (-2.0, NAN),
              (-1.0000001192092896, NAN), (NAN, NAN), (FTINY, FTINY), (-FTINY, -FTINY),
              (1.0, float(np.float32(LN2)))],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (NAN, NAN), (FTINY, FTINY),
             (-FTINY, -FTINY), (1e-10, 1e-10), (10.0, 1.0), (-10.0, -1.0), (1e30, 1.0), (-1e30, -1.0)],
    "logistic": [(0.0, 0.5), (-0.0, 0.5), (INF, 1.0), (-INF, 0.0), (NAN, NAN), (20.0, 1.0),
                 (-1e30, 0.0), (1e30, 1.0), (-104.0, 0.0)],
}


@pytest.mark.parametrize("name", F32)
def test_f32_special_values(name):
    xs = np.array([x for x, _ in SPECIAL_F32[name]], dtype=np.float32)
    want = np.array([w for _, w in SPECIAL_F32[name]], dtype=np.float32)
    got = apply32(name, xs)
    assert got.dtype == np.float32
    for x, w, g in zip(xs, want, got):
        if math.isnan(w):
            assert math.isnan(g), "%sf(%r) = %r, want NaN" % (name, x, g)
        else:
            assert bits32(g) == bits32(w), "%sf(%r) = %r, want %r" % (name, x, g, w)


def test_f32_tanh_odd_symmetry():
    x = (np.arange(0, 0x7F800001, 211, dtype=np.uint64).astype(np.uint32)).view(np.float32)
    assert np.array_equal(bits32(apply32("tanh", -x)), bits32(-apply32("tanh", x)))   # incl. -0


def test_f32_shim_dtypes():
    x = np.linspace(0.5, 1.5, 7, dtype=np.float32)
    with pytest.raises(ValueError):
        _math_apply("exp", x, np.empty(7))           # float32 in, float64 out
    with pytest.raises(ValueError):
        _math_apply("exp", x, np.empty(6, dtype=np.float32))
    ro = x.copy()
    ro.setflags(write=False)
    out = np.empty_like(x)
    _math_apply("log", ro, out)
    assert np.array_equal(out, apply32("log", x))


def test_f32_softmax_against_mpmath():
    rng = np.random.default_rng(3)
    cases = [rng.normal(0, s, n).astype(np.float32) for n in (1, 2, 3, 10, 33, 257) for s in (1.0, 30.0)]
    cases += [np.array([0.0, -200.0, 50.0, 50.0], dtype=np.float32),
              np.array([FMAX, -FMAX, 0.0], dtype=np.float32),
              np.array([-1e30, -1e30], dtype=np.float32)]
    for z in cases:
        a = np.empty_like(z)
        _math_apply("softmax", z, a)
        with mpmath.mp.workprec(PREC):
            zs = [mpmath.mpf(float(v)) for v in z]
            m = max(zs)
            es = [mpmath.exp(v - m) for v in zs]
            s = mpmath.fsum(es)
            for ai, ei in zip(a.tolist(), es):
                # eps <= 2 2^-42.2 + (n + 1) 2^-53 + 2^-46 (bp_mathf.h)
                assert ulp_error32(ai, (ei / s)._mpf_) <= 0.5 + 2.0 ** -15, (z, ai)


def _dotf_fixed_order(w, x):
    """bp_dotf's order in NumPy float32 arithmetic (each op rounded to float)."""
    n = w.size
    p = (w * x).astype(np.float32)
    if n < 16:
        t = np.float32(0.0)
        for v in p:
            t = np.float32(t + v)
        return t
    m = n - n % 16
    s = np.zeros(16, dtype=np.float32)
    for i in range(0, m, 16):
        s = (s + p[i:i + 16]).astype(np.float32)
    s = s[:8] + s[8:]
    t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    for v in p[m:]:
        t = np.float32(t + v)
    return t


def test_f32_dot_fixed_order():
    from backprop._core import _math_dot
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 15, 16, 17, 31, 32, 100, 784, 1001):
        w = rng.normal(size=n).astype(np.float32)
        x = rng.normal(size=n).astype(np.float32)
        got = np.float32(_math_dot(w, x))
        want = _dotf_fixed_order(w, x) if n else np.float32(0.0)
        assert bits32(got) == bits32(want), n
    with pytest.raises(ValueError):
        _math_dot(np.ones(3, dtype=np.float32), np.ones(4, dtype=np.float32))


# ------------------------------------------- the same bits from every build
C_SWEEP = r"""
#include <stdio.h>
#include "bp_mathf.h"
/* every 8191st float bit pattern through each function, hashed (FNV-1a) */
int main(void) {
    uint64_t h = 1469598103934665603ULL;
    uint64_t b;
    float z[37], a[37], w[300], v[300];
    int i, f;
    for (f = 0; f < 6; f++)
        for (b = 0; b < (1ULL << 32); b += 8191) {
            float x = bp__asf32((uint32_t)b), y;
            y = f == 0 ? bp_expf(x) : f == 1 ? bp_expm1f(x) : f == 2 ? bp_logf(x)
              : f == 3 ? bp_log1pf(x) : f == 4 ? bp_tanhf(x) : bp_logisticf(x);
            h = (h ^ bp__asu32(y)) * 1099511628211ULL;
        }
    for (i = 0; i < 300; i++) {
        w[i] = bp__asf32(0x3F000000u + 7919u * (uint32_t)i);
        v[i] = bp__asf32(0xBE800000u + 104729u * (uint32_t)i);
    }
    for (i = 0; i < 37; i++)
        z[i] = w[i] * 40.0f - 20.0f;
    bp_softmaxf(z, a, 37);
    for (i = 0; i < 37; i++)
        h = (h ^ bp__asu32(a[i])) * 1099511628211ULL;
    for (i = 0; i <= 300; i += 13)
        h = (h ^ bp__asu32(bp_dotf(w, v, i))) * 1099511628211ULL;
    printf("%016llx\n", (unsigned long long)h);
    return 0;
}
"""
VEC_LOOPS = "".join(
    "void loop_%s(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = bp_%sf(x[i]); }\n"
    % (f, f) for f in F32)
MATH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "backprop")


def _compilers():
    import shutil
    return [c for c in ("gcc", "clang") if shutil.which(c)]


def _x86():
    import platform
    return platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not _compilers(), reason="needs gcc or clang to build the header on its own")
def test_f32_same_bits_from_every_build(tmp_path):
    """bp_mathf.h's float32 functions compiled by each available compiler at
    -O0 and -O3, and on x86-64 for each instruction-set level this CPU runs,
    give one hash of the same results (the functions' bits do not depend on
    vector width, instruction set or compiler)."""
    import subprocess
    src = tmp_path / "sweep.c"
    src.write_text(C_SWEEP)
    levels = [[]]
    if _x86():
        from backprop import _core
        levels += [["-march=x86-64-v2"]]
        levels += [["-march=%s" % lvl] for lvl in _core.available_kernels() if lvl.startswith("x86-64-v")]
    hashes = {}
    for cc in _compilers():
        for opt in ("-O0", "-O3"):
            for lvl in levels:
                exe = tmp_path / ("sweep_%d" % len(hashes))
                subprocess.run([cc, opt, "-ffp-contract=off", "-fno-math-errno", *lvl, "-I", MATH_DIR,
                                str(src), "-o", str(exe)], check=True, capture_output=True)
                hashes[(cc, opt, *lvl)] = subprocess.run([str(exe)], check=True, capture_output=True,
                                                         text=True).stdout.strip()
    assert len(hashes) >= 2
    assert len(set(hashes.values())) == 1, hashes
    # and the same bits as the installed core's (the shim's) build
    y = []
    for f in F32:
        x = (np.arange(0, 1 << 32, 8191, dtype=np.uint64).astype(np.uint32)).view(np.float32)
        y.append(apply32(f, x))
    h = 1469598103934665603
    for v in np.concatenate(y).view(np.uint32).tolist():
        h = ((h ^ v) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    w = np.array([0x3F000000 + 7919 * i for i in range(300)], dtype=np.uint32).view(np.float32)
    v = np.array([(0xBE800000 + 104729 * i) & 0xFFFFFFFF for i in range(300)], dtype=np.uint32).view(np.float32)
    a = np.empty(37, dtype=np.float32)
    _math_apply("softmax", (w[:37] * np.float32(40.0) - np.float32(20.0)).astype(np.float32), a)
    from backprop._core import _math_dot
    tail = a.view(np.uint32).tolist() + [int(np.float32(_math_dot(w[:i], v[:i])).view(np.uint32))
                                         for i in range(0, 301, 13)]
    for t in tail:
        h = ((h ^ t) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    assert "%016x" % h == next(iter(hashes.values()))


@pytest.mark.skipif(not _x86() or "gcc" not in _compilers(), reason="needs gcc on x86-64 for its vectoriser report")
@pytest.mark.parametrize("level", ["x86-64-v3", "x86-64-v4"])
def test_f32_loops_vectorise(tmp_path, level):
    # A loop over any float32 function is vectorised at the kernels' levels
    # (branch-free, no table loads); a change that stops it costs only speed.
    import re
    import subprocess
    src = tmp_path / "loops.c"
    src.write_text('#include "bp_mathf.h"\n' + VEC_LOOPS)
    report = subprocess.run(["gcc", "-O3", "-ffp-contract=off", "-fno-math-errno", "-march=" + level,
                             "-I", MATH_DIR, "-c", str(src), "-o", os.devnull, "-fopt-info-vec-optimized"],
                            capture_output=True, text=True, check=True).stderr
    done = {int(n) for n in re.findall(r"loops\.c:(\d+):\d+: optimized: loop vectorized", report)}
    assert done == set(range(2, 2 + len(F32))), report
