"""log 2F1(1, m; c; z) for c > m > 0 and 0 <= z < 1, accurate where scipy.special.hyp2f1 is not.

The Pareto/NBD likelihood needs this function with m and c up to r + s + x (thousands for frequent
buyers) and z up to 1 - 1e-12; there scipy's hyp2f1 returns inf or nan, or loses digits, when c - 1 - m
is (nearly) an integer. Two methods, both free of cancellation:

- z <= 0.999: Gauss's continued fraction (the one of the incomplete beta function, 2F1(1, m; c; z) =
  1/(1 + d1/(1 + d2/(1 + ...)))), evaluated by the modified Lentz method in at most a few hundred steps.
- z > 0.999: with ε = 1 - z and d = c - m, Euler's integral becomes
  2F1(1, m; c; z) = (c - 1) ∫ exp((d-1)u - d·softplus(u) - m·softplus(log ε - u)) du over the real line,
  whose exponent is concave and analytic in the strip |Im u| < π, so the trapezoidal rule with step 1/4
  converges to ~1e-16 (error ~ exp(-π²/h)) over the range where the integrand matters.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logsumexp

_Z_SWITCH = 0.999
_MAX_STEPS = 2000
_TOLERANCE = 1e-15
_TINY = 1e-300
_STEP = 0.25
_BLOCK = 1 << 21  # nodes evaluated at once in the trapezoidal rule (memory bound)


def log_hyp2f1_one(m: ArrayLike, c: ArrayLike, z: ArrayLike) -> np.ndarray:
    """log 2F1(1, m; c; z), elementwise with broadcasting; requires c > m > 0, c > 1 and 0 <= z < 1."""
    m, c, z = (np.array(v, dtype=float) for v in np.broadcast_arrays(m, c, z))
    out = np.zeros(z.shape)
    near_one = z > _Z_SWITCH
    middle = (z > 0) & ~near_one
    if middle.any():
        out[middle] = _continued_fraction(m[middle], c[middle], z[middle])
    if near_one.any():
        out[near_one] = _trapezoid(m[near_one], c[near_one], np.log1p(-z[near_one]))
    return out


def _continued_fraction(m: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Modified Lentz on 1 + d1/(1 + d2/(1 + ...)) with d_(2k+1) = -(a+k)(m+k)z/((a+2k)(a+2k+1)),
    d_(2k) = k(b-k)z/((a+2k-1)(a+2k)), a = c - 1, b = m - c + 1; returns minus the log of its value.

    Works on the still-unconverged entries only, compacting them every few steps.
    """
    out = np.zeros(z.size)
    index = np.arange(z.size)
    a, b, mm, zz = c - 1.0, m - c + 1.0, m, z
    log_f, big_c, big_d = np.zeros(z.size), np.ones(z.size), np.zeros(z.size)
    done = np.zeros(z.size, dtype=bool)
    for n in range(1, _MAX_STEPS + 1):
        k = n // 2
        if n % 2:
            step = -(a + k) * (mm + k) * zz / ((a + 2 * k) * (a + 2 * k + 1))
        else:
            step = k * (b - k) * zz / ((a + 2 * k - 1) * (a + 2 * k))
        big_d = 1.0 + step * big_d
        big_d = 1.0 / np.where(np.abs(big_d) < _TINY, _TINY, big_d)
        big_c = 1.0 + step / big_c
        big_c = np.where(np.abs(big_c) < _TINY, _TINY, big_c)
        delta = big_c * big_d
        log_f += np.log(delta)
        done |= np.abs(delta - 1.0) < _TOLERANCE
        if n % 8 == 0 or n == _MAX_STEPS:
            out[index[done]] = -log_f[done]
            if done.all():
                return out
            keep = ~done
            index, a, b, mm, zz = index[keep], a[keep], b[keep], mm[keep], zz[keep]
            log_f, big_c, big_d, done = log_f[keep], big_c[keep], big_d[keep], done[keep]
    out[index] = -log_f
    return out


def _trapezoid(m: np.ndarray, c: np.ndarray, log_eps: np.ndarray) -> np.ndarray:
    """The trapezoidal rule over the whole real line: nodes where the exponent has shape, geometric sums
    beyond.

    Left of `left` the exponent is (c-1)u - m log ε and right of `right` it is -u, up to terms below 1e-17,
    so the infinitely many nodes out there add up to geometric series.
    """
    d = c - m
    left = np.minimum(-np.log(d), log_eps - np.log(m)) - 40.0
    right = np.maximum(0.0, np.maximum(np.log(d), np.log(m) + log_eps)) + 40.0
    count = int(np.ceil(np.max(right - left) / _STEP))
    grid = np.arange(count + 1, dtype=float)
    out = np.empty(m.size)
    rows_per_block = max(1, _BLOCK // (count + 1))
    for start in range(0, m.size, rows_per_block):
        part = slice(start, start + rows_per_block)
        mm, dd, le = m[part][:, None], d[part][:, None], log_eps[part][:, None]
        h = (right[part] - left[part])[:, None] / count
        exponent = _exponent(left[part][:, None] + h * grid, mm, dd, le)
        rate = (c[part][:, None] - 1.0) * h
        left_tail = exponent[:, :1] - rate - np.log(-np.expm1(-rate))
        right_tail = exponent[:, -1:] - h - np.log(-np.expm1(-h))
        terms = np.concatenate((exponent, left_tail, right_tail), axis=1)
        out[part] = logsumexp(terms, axis=1) + np.log(h[:, 0])
    return np.log(c - 1.0) + out


def _exponent(u, m, d, log_eps):
    return (d - 1.0) * u - d * np.logaddexp(0.0, u) - m * np.logaddexp(0.0, log_eps - u)


def log_hyp2f1_one_and_gradient(m: ArrayLike, c: ArrayLike, z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """log 2F1(1, m; c; z) and its partial derivatives (∂/∂m, ∂/∂c, ∂/∂z) as a (3, …) array.

    Forward-mode differentiation of the same two methods: the continued fraction carries the derivatives
    of its Lentz iterates along, the trapezoidal rule averages the derivative of the exponent under the
    integrand's weights. At z = 0 the value is 0 and the derivatives those of 1 + m z/c.
    """
    m, c, z = (np.array(v, dtype=float) for v in np.broadcast_arrays(m, c, z))
    shape = z.shape
    m, c, z = m.ravel(), c.ravel(), z.ravel()
    value = np.zeros(z.size)
    gradient = np.zeros((3, z.size))
    zero = z <= 0
    gradient[2][zero] = m[zero] / c[zero]
    near_one = z > _Z_SWITCH
    middle = ~zero & ~near_one
    if middle.any():
        value[middle], gradient[:, middle] = _continued_fraction_and_gradient(m[middle], c[middle], z[middle])
    if near_one.any():
        value[near_one], gradient[:, near_one] = _trapezoid_and_gradient(m[near_one], c[near_one], z[near_one])
    return value.reshape(shape), gradient.reshape((3, *shape))


def _continued_fraction_and_gradient(m: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_continued_fraction with derivatives: each coefficient d_n and the Lentz iterates C, D carry their
    partial derivatives in (m, c, z) (index 0, 1, 2 of the first axis)."""
    n_rows = z.size
    out, out_gradient = np.zeros(n_rows), np.zeros((3, n_rows))
    index = np.arange(n_rows)
    a, b, mm, zz = c - 1.0, m - c + 1.0, m, z
    log_f, big_c, big_d = np.zeros(n_rows), np.ones(n_rows), np.zeros(n_rows)
    d_log_f, d_c, d_d = np.zeros((3, n_rows)), np.zeros((3, n_rows)), np.zeros((3, n_rows))
    done = np.zeros(n_rows, dtype=bool)
    for n in range(1, _MAX_STEPS + 1):
        k = n // 2
        if n % 2:
            step = -(a + k) * (mm + k) * zz / ((a + 2 * k) * (a + 2 * k + 1))
            by_a = step * (1.0 / (a + k) - 1.0 / (a + 2 * k) - 1.0 / (a + 2 * k + 1))
            d_step = np.stack((step / (mm + k), by_a, step / zz))  # a = c - 1: ∂c is ∂a
        else:
            scale = k * zz / ((a + 2 * k - 1) * (a + 2 * k))
            step = scale * (b - k)
            by_a = -step * (1.0 / (a + 2 * k - 1) + 1.0 / (a + 2 * k))
            d_step = np.stack((scale, by_a - scale, step / zz))  # b = m - c + 1: ∂m gets ∂b, ∂c gets ∂a - ∂b
        denominator = 1.0 + step * big_d
        d_denominator = d_step * big_d + step * d_d
        guard = np.abs(denominator) < _TINY
        big_d = 1.0 / np.where(guard, _TINY, denominator)
        d_d = np.where(guard, 0.0, -d_denominator * big_d**2)
        new_c = 1.0 + step / big_c
        d_c = d_step / big_c - step * d_c / big_c**2
        guard = np.abs(new_c) < _TINY
        big_c = np.where(guard, _TINY, new_c)
        d_c = np.where(guard, 0.0, d_c)
        delta = big_c * big_d
        log_f += np.log(delta)
        d_log_f += d_c / big_c + d_d / big_d
        done |= np.abs(delta - 1.0) < _TOLERANCE
        if n % 8 == 0 or n == _MAX_STEPS:
            out[index[done]] = -log_f[done]
            out_gradient[:, index[done]] = -d_log_f[:, done]
            if done.all():
                return out, out_gradient
            keep = ~done
            index, a, b, mm, zz = index[keep], a[keep], b[keep], mm[keep], zz[keep]
            log_f, big_c, big_d, done = log_f[keep], big_c[keep], big_d[keep], done[keep]
            d_log_f, d_c, d_d = d_log_f[:, keep], d_c[:, keep], d_d[:, keep]
    out[index] = -log_f
    out_gradient[:, index] = -d_log_f
    return out, out_gradient


def _trapezoid_and_gradient(m: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_trapezoid with derivatives: ∂ log ∫ e^φ = the integrand-weighted mean of ∂φ (the tails take the
    derivative at their end node: they weigh below 1e-8 of the integral)."""
    log_eps = np.log1p(-z)
    d = c - m
    left = np.minimum(-np.log(d), log_eps - np.log(m)) - 40.0
    right = np.maximum(0.0, np.maximum(np.log(d), np.log(m) + log_eps)) + 40.0
    count = int(np.ceil(np.max(right - left) / _STEP))
    grid = np.arange(count + 1, dtype=float)
    out, gradient = np.empty(m.size), np.empty((3, m.size))
    rows_per_block = max(1, _BLOCK // (count + 1))
    for start in range(0, m.size, rows_per_block):
        part = slice(start, start + rows_per_block)
        mm, dd, le = m[part][:, None], d[part][:, None], log_eps[part][:, None]
        h = (right[part] - left[part])[:, None] / count
        u = left[part][:, None] + h * grid
        exponent = _exponent(u, mm, dd, le)
        rate = (c[part][:, None] - 1.0) * h
        left_tail = exponent[:, :1] - rate - np.log(-np.expm1(-rate))
        right_tail = exponent[:, -1:] - h - np.log(-np.expm1(-h))
        terms = np.concatenate((exponent, left_tail, right_tail), axis=1)
        total = logsumexp(terms, axis=1, keepdims=True)
        weight = np.exp(terms - total)
        nodes = np.concatenate((u, u[:, :1], u[:, -1:]), axis=1)
        by_m = -np.logaddexp(0.0, le - nodes)  # ∂φ/∂m at fixed d
        by_d = nodes - np.logaddexp(0.0, nodes)  # ∂φ/∂d
        by_log_eps = -mm * expit(le - nodes)
        out[part] = total[:, 0] + np.log(h[:, 0])
        # d = c - m: ∂/∂m at fixed c is ∂φ/∂m - ∂φ/∂d, ∂/∂c is ∂φ/∂d;
        # log ε = log(1 - z): ∂/∂z = -∂/∂log ε / ε
        gradient[0, part] = np.sum(weight * (by_m - by_d), axis=1)
        gradient[1, part] = np.sum(weight * by_d, axis=1)
        gradient[2, part] = -np.sum(weight * by_log_eps, axis=1) / np.exp(log_eps[part])
    gradient[1] += 1.0 / (c - 1.0)
    return np.log(c - 1.0) + out, gradient
