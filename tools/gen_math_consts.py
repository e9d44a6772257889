"""Generate the constant tables and polynomial coefficients of ``backprop._math``.

Run ``python tools/gen_math_consts.py --write`` from the repository root to
rewrite the generated blocks of ``src/backprop/bp_math.h`` and ``bp_mathf.h``
(between the ``BEGIN GENERATED`` / ``END GENERATED`` markers); without
``--write`` it prints the blocks and a summary of the approximation errors;
``--check`` exits non-zero if a file is out of date.  Needs mpmath only; takes ~10 s.

Everything is computed with mpmath at 100 significant digits and rounded once
to the nearest double; C hex-float literals keep every value exact.  The
polynomials are minimax (Remez exchange, ``tools/remez.py``) fits whose
intervals and degrees are chosen here; the design is documented in
``bp_math.h`` and ``bp_mathf.h`` themselves.
"""
import os
import sys

import mpmath as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from remez import remez  # noqa: E402

mp.mp.dps = 100
TWO = mp.mpf(2)

# --------------------------------------------------------------- parameters
EXP_TABLE_BITS = 7                      # N = 128 table entries for 2^(j/N)
EXP_POLY_DEG = 3                        # (e^r-1-r)/r^2 ~ C2 + C3 r + C4 r^2 + C5 r^3
EXPM1_SMALL = mp.mpf(1) / 4             # |x| < 1/4: polynomial path for expm1
EXPM1_POLY_DEG = 9                      # (expm1(x)-x-x^2/2)/x^3 ~ deg 9
LOG_TABLE_BITS = 7                      # N = 128 subintervals of [OFF, 2 OFF)
LOG_OFF_BITS = 0x3FE6000000000000       # OFF = 0.6875
LOG_INVC_BITS = 21                      # 1/c_i rounded to 21 significant bits
LOG_SPLIT_BITS = 21                     # z = zh + zl, zl = low 21 mantissa bits
LOG_POLY_DEG = 6                        # (log1p(r)-r)/r^2 ~ deg 6
TANH_SMALL = mp.mpf(1) / 8              # |x| < 1/8: odd polynomial path for tanh
TANH_POLY_DEG = 5                       # (tanh(a)-a)/a^3 ~ poly of degree 5 in a^2
# float32 functions (evaluated in double, no tables)
EXPF_POLY_DEG = 7                       # (e^r-1-r)/r^2 ~ deg 7 on |r| <= ln2/2
EXPF_LN2HI_BITS = 44                    # k*ln2hi exact for |k| < 2^9
LOGF_OFF_BITS = 0x3FE6A09E667F3BCD      # OFF = RN(sqrt(1/2)): z in [OFF, 2 OFF)
LOGF_POLY_DEG = 4                       # log(z) = 2s + s t R(t), t = s^2, R deg 4
# the float32 logistic's e^-|z| (evaluated in float)
LOGISTICF_POLY_DEG = 4                  # (e^r-1-r)/r^2 ~ deg 4 on |r| <= ln2/2 (1 + 2^-14)
LOGISTICF_LN2HI_BITS = 15               # k*ln2hi exact in float for |k| <= 2^8


# ------------------------------------------------------------ double helpers
def rn(x):
    """Round an mpf to the nearest double (ties to even)."""
    return float(mp.mpf(x))  # mpmath rounds to nearest when converting


def rn_bits(x, nbits):
    """Round x to nbits significant bits (nearest)."""
    x = mp.mpf(x)
    e = int(mp.floor(mp.log(abs(x), 2)))
    q = TWO ** (nbits - 1 - e)
    return rn(mp.nint(x * q) / q)


def bits_of(d):
    import struct

    return struct.unpack("<Q", struct.pack("<d", d))[0]


def from_bits(b):
    import struct

    return struct.unpack("<d", struct.pack("<Q", b))[0]


def rn32(x):
    """Round an mpf to the nearest float32 (ties to even), as a Python float."""
    import struct

    return struct.unpack("<f", struct.pack("<f", rn_bits(x, 24)))[0]


def hexf(d):
    """A C99 hex-float literal for the double d (exact)."""
    if d == 0:
        return "0.0" if bits_of(d) == 0 else "-0.0"
    return float.hex(d)


def cnum(d):
    return "%s /* %r */" % (hexf(d), d)


# ------------------------------------------------------------------ exp
def gen_exp():
    N = 1 << EXP_TABLE_BITS
    ln2 = mp.log(2)
    tab = []
    for j in range(N):
        t = TWO ** (mp.mpf(j) / N)
        hi = rn(t)
        tail = rn((t - hi) / hi)  # relative tail: 2^(j/N) = hi * (1 + tail)
        tab += [hi, tail]
    inv = rn(N / ln2)
    # ln2/N split: the high part has 35 significant bits so that kd*hi is
    # exact for |kd| < 2^18 (|x| < 2^18 ln2/N ~ 1419).
    l2hi = rn_bits(ln2 / N, 35)
    l2lo = rn(ln2 / N - l2hi)
    # |r| <= ln2/(2N) plus slack for the rounding of x*N/ln2 to an integer.
    R = ln2 / (2 * N) * (1 + TWO ** -30)

    def f(r):
        if abs(r) < mp.mpf("1e-40"):
            return mp.mpf(1) / 2 + r / 6
        return (mp.exp(r) - 1 - r) / r ** 2

    c, err = remez(f, -R, R, EXP_POLY_DEG)
    cs = [rn(x) for x in c]
    info = "exp poly: |r|<=%s  max |r^2 (f-p)| = 2^%.1f" % (
        mp.nstr(R, 6), float(mp.log(err * R * R, 2)))
    return dict(tab=tab, inv=inv, l2hi=l2hi, l2lo=l2lo, c=cs, R=R, info=info)


def gen_expm1():
    def f(x):
        if abs(x) < mp.mpf("1e-40"):
            return mp.mpf(1) / 6 + x / 24
        return (mp.expm1(x) - x - x * x / 2) / x ** 3

    T = EXPM1_SMALL
    c, err = remez(f, -T, T, EXPM1_POLY_DEG)
    info = "expm1 poly: |x|<=%s  max |x^2 (f-p)| = 2^%.1f (relative)" % (
        mp.nstr(T, 6), float(mp.log(err * T * T, 2)))
    return dict(c=[rn(x) for x in c], info=info)


# ------------------------------------------------------------------ log
def gen_log():
    N = 1 << LOG_TABLE_BITS
    sh = 52 - LOG_TABLE_BITS
    one_idx_hi = (bits_of(1.0) - LOG_OFF_BITS) >> sh  # bucket starting at 1.0
    assert (bits_of(1.0) - LOG_OFF_BITS) % (1 << sh) == 0
    tab = []
    rmin, rmax = mp.mpf(0), mp.mpf(0)
    for i in range(N):
        zlo = mp.mpf(from_bits(LOG_OFF_BITS + (i << sh)))
        zhi = mp.mpf(from_bits(LOG_OFF_BITS + ((i + 1) << sh)))  # exclusive
        if i in (one_idx_hi - 1, one_idx_hi):
            invc = 1.0  # buckets touching 1.0: c = 1 so that r = z - 1 exactly
        else:
            invc = rn_bits(2 / (zlo + zhi), LOG_INVC_BITS)
        logc = -mp.log(mp.mpf(invc))  # c := 1/invc exactly
        lhi = rn(logc)
        llo = rn(logc - lhi)
        tab += [invc, lhi, llo]
        rmin = min(rmin, zlo * invc - 1)
        rmax = max(rmax, zhi * invc - 1)
    ln2 = mp.log(2)
    l2hi = rn_bits(ln2, 42)  # k*l2hi exact for |k| < 2^11
    l2lo = rn(ln2 - l2hi)
    a, b = rmin * (1 + TWO ** -20), rmax * (1 + TWO ** -20)

    def f(r):
        if abs(r) < mp.mpf("1e-40"):
            return -mp.mpf(1) / 2 + r / 3
        return (mp.log1p(r) - r) / r ** 2

    c, err = remez(f, a, b, LOG_POLY_DEG)
    info = "log poly: r in [%s, %s]  max |f-p| = 2^%.1f  (r^2 (f-p) <= 2^%.1f)" % (
        mp.nstr(a, 6), mp.nstr(b, 6), float(mp.log(err, 2)),
        float(mp.log(err * max(a * a, b * b), 2)))
    return dict(tab=tab, l2hi=l2hi, l2lo=l2lo, c=[rn(x) for x in c], info=info,
                one_idx=one_idx_hi)


# ------------------------------------------------------------------ tanh
def gen_tanh():
    def f(t):
        if t < mp.mpf("1e-40"):
            return -mp.mpf(1) / 3 + 2 * t / 15
        a = mp.sqrt(t)
        return (mp.tanh(a) - a) / (t * a)

    T = TANH_SMALL
    c, err = remez(f, 0, T * T, TANH_POLY_DEG)
    info = "tanh poly: |x|<=%s  max |x^2 (f-p)| = 2^%.1f (relative)" % (
        mp.nstr(T, 6), float(mp.log(err * T * T, 2)))
    # Saturation cutoff: the smallest double a with RN(tanh(a)) == 1.0, i.e.
    # 1 - tanh(a) <= 2^-54 (the tie at 1 - 2^-54 goes to the even 1.0).
    target = TWO ** -54
    lo, hi = bits_of(18.0), bits_of(20.0)
    while hi - lo > 1:  # bisect on the bit patterns (monotone for positives)
        mid = (lo + hi) // 2
        a = mp.mpf(from_bits(mid))
        if 1 - mp.tanh(a) <= target:
            hi = mid
        else:
            lo = mid
    cut = from_bits(hi)
    return dict(c=[rn(x) for x in c], info=info, cut=cut)


# ----------------------------------------------------------------- float32
def gen_f32():
    ln2 = mp.log(2)
    R = ln2 / 2 * (1 + TWO ** -20)      # |r| after rounding x/ln2 to an integer k

    def fq(r):
        if abs(r) < mp.mpf("1e-40"):
            return mp.mpf(1) / 2 + r / 6
        return (mp.expm1(r) - r) / r ** 2

    cq, eq = remez(fq, -R, R, EXPF_POLY_DEG)
    l2hi = rn_bits(ln2, EXPF_LN2HI_BITS)
    # |s| <= s_max = (sqrt2 - 1)/(sqrt2 + 1) for z in [OFF, 2 OFF); t = s^2
    T = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) ** 2 * (1 + TWO ** -20)

    def fr(t):
        if t < mp.mpf("1e-40"):
            return mp.mpf(2) / 3 + 2 * t / 5
        s = mp.sqrt(t)
        return (mp.log((1 + s) / (1 - s)) - 2 * s) / (s * t)

    cr, er = remez(fr, 0, T, LOGF_POLY_DEG)
    info = ["expf poly: |r|<=%s  max |r^2 (f-p)| = 2^%.1f, relative to expm1(r) <= 2^%.1f" % (
                mp.nstr(R, 6), float(mp.log(eq * R * R, 2)),
                float(mp.log(eq * R * R / -mp.expm1(-R), 2))),
            "logf poly: t<=%s  max |f-p| = 2^%.1f, relative to log(z) <= 2^%.1f" % (
                mp.nstr(T, 6), float(mp.log(er, 2)), float(mp.log(er * T / 2, 2)))]
    # the logistic's float polynomial: its interval allows for k = RN(RN(x/ln2)) being off by
    # the float rounding of x/ln2 (|x| <= 104: up to 150 2^-24 of a unit)
    RL = ln2 / 2 * (1 + TWO ** -14)
    cl, el = remez(fq, -RL, RL, LOGISTICF_POLY_DEG)
    l2hi32 = rn_bits(ln2, LOGISTICF_LN2HI_BITS)
    info.append("logisticf poly (float): |r|<=%s  relative to e^r <= 2^%.1f" % (
        mp.nstr(RL, 6), float(mp.log(el * RL * RL / mp.exp(-RL), 2))))
    return dict(cq=[rn(x) for x in cq], cr=[rn(x) for x in cr], invln2=rn(1 / ln2), l2hi=l2hi,
                l2lo=rn(ln2 - l2hi), ln2=rn(ln2), off=from_bits(LOGF_OFF_BITS), info=info,
                cl=[rn32(x) for x in cl], invln2_32=rn32(1 / ln2), l2hi32=l2hi32,
                l2lo32=rn32(ln2 - l2hi32))


# ------------------------------------------------------------------ output
def fmt_table(name, vals, per_line, comment):
    lines = ["/* %s */" % comment, "static const double %s[%d] = {" % (name, len(vals))]
    for i in range(0, len(vals), per_line):
        lines.append("    " + ", ".join(hexf(v) for v in vals[i:i + per_line]) + ",")
    lines.append("};")
    return lines


def generated(lines):
    """A header's generated block around its lines of C."""
    return "\n".join(["/* BEGIN GENERATED by tools/gen_math_consts.py (do not edit by hand) */",
                      "/* ---- generated by tools/gen_math_consts.py: do not edit by hand ---- */"]
                     + lines + ["/* ---- end of generated constants ---- */",
                                "/* END GENERATED */"]) + "\n"


def consts(sc, ctype="double"):
    suffix = "f" if ctype == "float" else ""
    return ["static const %s %s = %s%s; /* %r: %s */" % (ctype, name, hexf(v), suffix, v, com)
            for name, v, com in sc]


def build():
    """{header file name: its generated block}, and the approximation summary."""
    ex, em, lg, th, f32 = gen_exp(), gen_expm1(), gen_log(), gen_tanh(), gen_f32()
    C = ["#define BP__EXP_TABLE_BITS %d" % EXP_TABLE_BITS,
         "#define BP__LOG_TABLE_BITS %d" % LOG_TABLE_BITS]
    sc = []  # (name, value, comment)
    sc.append(("BP__EXP_INVLN2N", ex["inv"], "N/ln2"))
    sc.append(("BP__EXP_LN2HIN", ex["l2hi"], "ln2/N, 35 significant bits"))
    sc.append(("BP__EXP_LN2LON", ex["l2lo"], "ln2/N - BP__EXP_LN2HIN"))
    for i, v in enumerate(ex["c"]):
        sc.append(("BP__EXP_C%d" % (i + 2), v, "exp poly, r^%d" % (i + 2)))
    for i, v in enumerate(em["c"]):
        sc.append(("BP__EXPM1_C%d" % (i + 3), v, "expm1 small-|x| poly, x^%d" % (i + 3)))
    sc.append(("BP__LOG_LN2HI", lg["l2hi"], "ln2, 42 significant bits"))
    sc.append(("BP__LOG_LN2LO", lg["l2lo"], "ln2 - BP__LOG_LN2HI"))
    for i, v in enumerate(lg["c"]):
        sc.append(("BP__LOG_C%d" % (i + 2), v, "log1p(r) poly, r^%d" % (i + 2)))
    for i, v in enumerate(th["c"]):
        sc.append(("BP__TANH_C%d" % (2 * i + 3), v, "tanh small-|x| poly, x^%d" % (2 * i + 3)))
    sc.append(("BP__TANH_CUTOFF", th["cut"], "smallest double with RN(tanh) == 1"))
    C += consts(sc)
    C += fmt_table("bp__exp_tab", ex["tab"], 2,
                   "exp: {2^(j/N) rounded, relative tail (2^(j/N) - hi)/hi} for j = 0..N-1")
    C += fmt_table("bp__log_tab", lg["tab"], 3,
                   "log: {1/c_i (21 bits), -log(1/c_i) hi, lo} for i = 0..N-1 (c = 1 for i = %d, %d)"
                   % (lg["one_idx"] - 1, lg["one_idx"]))
    F = ["#define BP__LOGF_OFF_BITS 0x%016XULL /* %r: RN(sqrt(1/2)) */" % (LOGF_OFF_BITS, f32["off"])]
    sf = [("BP__EXPF_INVLN2", f32["invln2"], "1/ln2"),
          ("BP__EXPF_LN2HI", f32["l2hi"], "ln2, %d significant bits" % EXPF_LN2HI_BITS),
          ("BP__EXPF_LN2LO", f32["l2lo"], "ln2 - BP__EXPF_LN2HI")]
    for i, v in enumerate(f32["cq"]):
        sf.append(("BP__EXPF_C%d" % (i + 2), v, "float32 expm1(r) poly, r^%d" % (i + 2)))
    sf.append(("BP__LOGF_LN2", f32["ln2"], "ln2"))
    for i, v in enumerate(f32["cr"]):
        sf.append(("BP__LOGF_C%d" % (2 * i + 3), v, "float32 log(z) poly, s^%d" % (2 * i + 3)))
    F += consts(sf)
    sl = [("BP__LOGISTICF_INVLN2", f32["invln2_32"], "1/ln2"),
          ("BP__LOGISTICF_LN2HI", f32["l2hi32"], "ln2, %d significant bits" % LOGISTICF_LN2HI_BITS),
          ("BP__LOGISTICF_LN2LO", f32["l2lo32"], "ln2 - BP__LOGISTICF_LN2HI")]
    for i, v in enumerate(f32["cl"]):
        sl.append(("BP__LOGISTICF_C%d" % (i + 2), v, "float32 logistic's e^r poly, r^%d" % (i + 2)))
    F += consts(sl, "float")
    infos = [ex["info"], em["info"], lg["info"], th["info"],
             "tanh cutoff: %r (%s)" % (th["cut"], float.hex(th["cut"]))] + f32["info"]
    return {"bp_math.h": generated(C), "bp_mathf.h": generated(F)}, infos


HEADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "backprop")


def splice(text, block):
    b = text.index("/* BEGIN GENERATED")
    e = text.index("/* END GENERATED")
    e = text.index("\n", e) + 1
    return text[:b] + block + text[e:]


def main(argv):
    blocks, infos = build()
    for line in infos:
        print(line, file=sys.stderr)
    if "--write" not in argv and "--check" not in argv:
        for block in blocks.values():
            sys.stdout.write(block)
        return 0
    stale = []
    for name, block in blocks.items():
        path = os.path.normpath(os.path.join(HEADERS, name))
        with open(path) as fh:
            old = fh.read()
        new = splice(old, block)
        if new == old:
            continue
        stale.append(name)
        if "--write" in argv:
            with open(path, "w") as fh:
                fh.write(new)
            print("wrote", path, file=sys.stderr)
    if "--check" in argv:
        for name in stale:
            print("%s: generated block is out of date" % name, file=sys.stderr)
        if not stale:
            print("the generated blocks are up to date", file=sys.stderr)
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
