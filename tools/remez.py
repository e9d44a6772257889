"""A small Remez exchange for weighted minimax polynomials, in mpmath.

Used by ``tools/gen_math_consts.py`` to derive the polynomial coefficients of
``src/backprop/bp_math.h``.  Only needs mpmath; slow but run rarely.

``remez(f, a, b, deg, w)`` returns the coefficients c[0..deg] (mpf, lowest
degree first) of the polynomial p minimising max |w(x) * (f(x) - p(x))| over
[a, b], and that maximum.
"""
import mpmath as mp


def _solve(f, w, nodes, deg):
    n = deg + 2
    A = mp.matrix(n, n)
    rhs = mp.matrix(n, 1)
    for i, x in enumerate(nodes):
        for j in range(deg + 1):
            A[i, j] = x ** j
        A[i, deg + 1] = (-1) ** i / w(x)
        rhs[i] = f(x)
    sol = mp.lu_solve(A, rhs)
    return [sol[j] for j in range(deg + 1)], sol[deg + 1]


def _peval(c, x):
    acc = mp.mpf(0)
    for cj in reversed(c):
        acc = acc * x + cj
    return acc


def _refine(err, lo, hi, sign, iters=60):
    """Golden-section search for the extremum of sign*err on [lo, hi]."""
    g = (mp.sqrt(5) - 1) / 2
    x1 = hi - g * (hi - lo)
    x2 = lo + g * (hi - lo)
    f1, f2 = sign * err(x1), sign * err(x2)
    for _ in range(iters):
        if f1 > f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = sign * err(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = sign * err(x2)
    return (x1, f1) if f1 > f2 else (x2, f2)


def remez(f, a, b, deg, w=None, ngrid=None, maxiter=40, tol=1e-4, verbose=False):
    a, b = mp.mpf(a), mp.mpf(b)
    if w is None:
        w = lambda x: mp.mpf(1)  # noqa: E731
    n = deg + 2
    nodes = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (n - 1)) for i in range(n)]
    ngrid = ngrid or 40 * n
    grid = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (ngrid - 1)) for i in range(ngrid)]
    E = None
    for it in range(maxiter):
        c, E = _solve(f, w, nodes, deg)

        def err(x, c=c):
            return w(x) * (f(x) - _peval(c, x))

        vals = [err(x) for x in grid]
        # local extrema of err on the grid (endpoints included), refined
        ext = []
        for i in range(ngrid):
            v = vals[i]
            left = vals[i - 1] if i > 0 else None
            right = vals[i + 1] if i < ngrid - 1 else None
            s = 1 if v >= 0 else -1
            if all(nb is None or s * v >= s * nb for nb in (left, right)):
                if 0 < i < ngrid - 1:
                    x, fv = _refine(err, grid[i - 1], grid[i + 1], s)
                    ext.append((x, s * fv))
                else:
                    ext.append((grid[i], v))
        # merge consecutive same-sign extrema, keeping the larger
        merged = []
        for x, v in ext:
            if merged and (merged[-1][1] >= 0) == (v >= 0):
                if abs(v) > abs(merged[-1][1]):
                    merged[-1] = (x, v)
            else:
                merged.append((x, v))
        while len(merged) > n:  # drop the smaller end
            if abs(merged[0][1]) < abs(merged[-1][1]):
                merged.pop(0)
            else:
                merged.pop()
        if len(merged) < n:
            raise RuntimeError("Remez: lost alternation (%d < %d extrema)" % (len(merged), n))
        emax = max(abs(v) for _, v in merged)
        emin = min(abs(v) for _, v in merged)
        if verbose:
            print("  remez it=%d  E=%s  max=%s" % (it, mp.nstr(E, 5), mp.nstr(emax, 5)))
        nodes = [x for x, _ in merged]
        if emax - emin <= tol * emax:
            return c, emax
    return c, emax
