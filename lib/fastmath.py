"""Vectorisable elementary functions for the compiled kernels.

The kernels step :data:`lib.kernels.LANES` (64) trajectories at once in SIMD lanes (:mod:`lib.kernels`).
LLVM can only vectorise a loop whose body it can see, and a call to the C
library's ``exp``, ``sin`` or ``cos`` is opaque to it (numba's pip build has
no vector maths library). These functions are written in plain arithmetic
instead, so a loop over lanes compiles to vector instructions:

``exp_neg(x)``
    :math:`e^x` for :math:`x \\le 0`: Cody-Waite reduction
    :math:`x = k\\ln 2 + r`, :math:`|r| \\le \\ln 2 / 2`, a degree-13 Taylor
    polynomial for :math:`e^r` and :math:`2^k` assembled from its bits.
    Relative error below 3e-16 (tested against the C library).
``sincos_2pi(t)``
    :math:`(\\sin 2\\pi t, \\cos 2\\pi t)`: exact reduction of ``t`` to an
    eighth of a period, degree-17/16 Taylor polynomials, quadrant by selects.
    Absolute error below 1e-15 for any ``t``.
``neg_power(x, a)``
    :math:`x^{-a}` for the step-size controller, to a relative accuracy of
    about 1e-7 (the controller is a heuristic; what matters is that it is
    deterministic and identical in every code path).

Scalar and vector code use the same functions, so a trajectory's arithmetic
is bit for bit the same whichever lane, or the scalar driver, runs it.
"""
from __future__ import annotations

import math

from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
EXP_MIN = -708.0  # below this exp underflows; results are clamped to exp(-708)
TWO_PI = 2.0 * math.pi

_F = [1.0 / math.factorial(n) for n in range(18)]
E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13 = _F[:14]
# sin a = a (1 - a^2/3! + a^4/5! - ...), cos a = 1 - a^2/2! + ...
S1, S3, S5, S7, S9, S11, S13, S15, S17 = (_F[n] * (-1) ** (n // 2) for n in range(1, 18, 2))
C0, C2, C4, C6, C8, C10, C12, C14, C16 = (_F[n] * (-1) ** (n // 2) for n in range(0, 17, 2))
# ln m = 2 atanh(z) = 2 z (1 + z^2/3 + z^4/5 + ... + z^14/15), for neg_power
A3, A5, A7, A9, A11, A13, A15 = (1.0 / n for n in range(3, 16, 2))
POWER_MIN, POWER_MAX = 1e-280, 1e280  # neg_power clamps its argument to [POWER_MIN, POWER_MAX]


@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret an int64 as a float64 (an LLVM bitcast, free in vector code)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _float_to_bits(typingctx, value):
    """Reinterpret a float64 as an int64."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@njit(cache=True, error_model="numpy", inline="always")
def exp_neg(x):
    """:math:`e^x` for :math:`x \\le 0` (clamped at :math:`e^{-708}`)."""
    x = max(x, EXP_MIN)
    k = math.floor(x * LOG2E + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = E13
    p = p * r + E12
    p = p * r + E11
    p = p * r + E10
    p = p * r + E9
    p = p * r + E8
    p = p * r + E7
    p = p * r + E6
    p = p * r + E5
    p = p * r + E4
    p = p * r + E3
    p = p * r + E2
    p = p * r + E1
    p = p * r + E0
    return p * _bits_to_float((int(k) + 1023) << 52)


@njit(cache=True, error_model="numpy", inline="always")
def sincos_2pi(t):
    """:math:`(\\sin 2\\pi t, \\cos 2\\pi t)`."""
    f = t - math.floor(t)  # exact, in [0, 1)
    q = math.floor(4.0 * f + 0.5)  # quadrant 0..4
    a = TWO_PI * (f - 0.25 * q)  # |a| <= pi/4
    a2 = a * a
    s = S17
    s = s * a2 + S15
    s = s * a2 + S13
    s = s * a2 + S11
    s = s * a2 + S9
    s = s * a2 + S7
    s = s * a2 + S5
    s = s * a2 + S3
    s = (s * a2 + S1) * a
    c = C16
    c = c * a2 + C14
    c = c * a2 + C12
    c = c * a2 + C10
    c = c * a2 + C8
    c = c * a2 + C6
    c = c * a2 + C4
    c = c * a2 + C2
    c = c * a2 + C0
    # quadrant 0..3 (4 is 0 again); selects written so that LLVM vectorises them
    q = q - 4.0 * math.floor(0.25 * q)
    odd = (q == 1.0) | (q == 3.0)
    sign = -1.0 if q >= 2.0 else 1.0
    sin_v = c if odd else s
    cos_v = -s if odd else c
    return sign * sin_v, sign * cos_v


@njit(cache=True, error_model="numpy", inline="always")
def neg_power(x, a):
    """:math:`x^{-a}` for :math:`x > 0`, about 1e-7 relative (for step-size control)."""
    x = min(max(x, POWER_MIN), POWER_MAX)
    bits = _float_to_bits(x)
    e = float((bits >> 52) - 1023)
    m = _bits_to_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # mantissa in [1, 2)
    # ln m = 2 atanh(z), z = (m - 1) / (m + 1) in [0, 1/3]
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    ln_m = 2.0 * z * (1.0 + z2 * (A3 + z2 * (A5 + z2 * (A7 + z2 * (A9 + z2 * (A11 + z2 * (A13 + z2 * A15)))))))
    y = -a * (e * (LN2_HI + LN2_LO) + ln_m)
    r = exp_neg(-abs(y))
    return 1.0 / r if y > 0.0 else r
