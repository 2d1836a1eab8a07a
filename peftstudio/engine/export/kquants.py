"""K-quant encoders (Q4_K, Q5_K, Q6_K) in vectorised numpy.

Written by hand because the `gguf` package only dequantizes K-quants. This follows llama.cpp's reference
encoders (`quantize_row_q4_K_ref`, `..._q5_K_ref`, `..._q6_K_ref` in ggml-quants.c, the ones its own
quantizer runs when no importance matrix is given) step for step, in float32 and in the same order of
operations, so that the blocks come out byte-identical to llama.cpp's for the same float tensor. Each
search loop of the C code runs once over all sub-blocks of a chunk at a time instead of once per
sub-block; a sum over a sub-block adds its elements one after the other as the C loop does
(`np.add.reduce` along a non-contiguous axis is such a running sum).

Layouts (bytes per 256 weights): Q4_K 144 = d, dmin (f16), 12 packed 6-bit scales/mins, 128 nibbles;
Q5_K 176 = Q4_K's header, 32 bytes of high bits, 128 nibbles; Q6_K 210 = 128 low nibbles, 64 bytes of
high bit pairs, 16 int8 scales, d (f16).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

QK_K = 256
BLOCK_BYTES = {"Q4_K": 144, "Q5_K": 176, "Q6_K": 210}
GROUP_MAX_EPS = np.float32(1e-15)
_CHUNK_BLOCKS = 512  # super-blocks per vectorised pass: large enough to amortise numpy, small enough for cache
F32 = np.float32
_THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _rows_sum(values: np.ndarray) -> np.ndarray:
    """Sum over axis 0 as a running sum, element 0 first (the C loop's order and rounding)."""
    return np.add.reduce(values, axis=0)


def _nearest(values: np.ndarray) -> np.ndarray:
    """llama.cpp's nearest_int: round half to even in float32."""
    return np.rint(values)


def _affine_search(x: np.ndarray, weights: np.ndarray, nmax: int, rmin: float, rdelta: float, nstep: int):
    """make_qkx2_quants for every column of x (shape (32, n)): the scale, the min and the levels it chose."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = np.minimum(x.min(axis=0), F32(0))
        high = x.max(axis=0)
        flat = high == low
        sum_w = _rows_sum(weights)
        sum_x = _rows_sum(weights * x)
        fnmax = F32(nmax)
        iscale = fnmax / (high - low)
        scale = F32(1) / iscale
        levels = np.clip(_nearest(iscale * (x - low)), 0, nmax)
        diff = scale * levels + low - x
        best_error = _rows_sum(weights * (diff * diff))
        best_iscale, best_low = iscale, low.copy()
        shifted, trial, wl, work = (np.empty_like(x) for _ in range(4))  # reused: no allocation per trial
        for step in range(nstep + 1):
            iscale = (F32(rmin) + F32(rdelta) * F32(step) + fnmax) / (high - low)
            np.subtract(x, low, out=shifted)
            np.multiply(shifted, iscale, out=trial)
            np.rint(trial, out=trial)
            np.clip(trial, 0, nmax, out=trial)
            np.multiply(weights, trial, out=wl)
            sum_l = _rows_sum(wl)
            sum_l2 = _rows_sum(np.multiply(wl, trial, out=work))
            sum_xl = _rows_sum(np.multiply(wl, x, out=work))
            det = sum_w * sum_l2 - sum_l * sum_l
            this_scale = (sum_w * sum_xl - sum_x * sum_l) / det
            this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det
            positive = this_min > 0
            this_min = np.where(positive, F32(0), this_min)
            this_scale = np.where(positive, sum_xl / sum_l2, this_scale)
            np.multiply(trial, this_scale, out=work)  # (scale * l + min - x)^2 * w, in the C code's order
            work += this_min
            work -= x
            work *= work
            work *= weights
            error = _rows_sum(work)
            better = (det > 0) & (error < best_error)
            best_error = np.where(better, error, best_error)
            best_iscale = np.where(better, iscale, best_iscale)
            best_low = np.where(better, low, best_low)
            scale = np.where(better, this_scale, scale)
            low = np.where(better, this_min, low)
        scale = np.where(flat, F32(0), scale)
        levels = np.clip(_nearest(best_iscale * (x - best_low)), 0, nmax)
        levels[:, flat] = 0
    return scale.astype(F32), (-low).astype(F32), levels


def _pack_scales_mins(ls: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The 12-byte 6-bit packing of 8 scales and 8 mins (shape (n, 8) each) of Q4_K/Q5_K."""
    packed = np.zeros((ls.shape[0], 12), np.uint8)
    packed[:, 0:4] = ls[:, 0:4]
    packed[:, 4:8] = lm[:, 0:4]
    packed[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    packed[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    packed[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    return packed


def _affine_blocks(x: np.ndarray, nmax: int, rmin: float, rdelta: float, nstep: int):
    """The shared part of Q4_K and Q5_K for super-blocks x (shape (n, 256))."""
    n = x.shape[0]
    columns = np.ascontiguousarray(x.reshape(n * 8, 32).T)  # (32, n*8): one sub-block per column
    av_x = np.sqrt(_rows_sum(columns * columns) / F32(32))
    weights = av_x + np.abs(columns)
    scales, mins, search_levels = _affine_search(columns, weights, nmax, rmin, rdelta, nstep)
    scales, mins = scales.reshape(n, 8), mins.reshape(n, 8)
    max_scale = np.maximum(scales.max(axis=1), F32(0))
    max_min = np.maximum(mins.max(axis=1), F32(0))
    with np.errstate(divide="ignore"):
        inv_scale = np.where(max_scale > 0, F32(63) / max_scale, F32(0)).astype(F32)
        inv_min = np.where(max_min > 0, F32(63) / max_min, F32(0)).astype(F32)
    ls = np.minimum(_nearest(inv_scale[:, None] * scales).astype(np.int64) & 0xFF, 63).astype(np.uint8)
    lm = np.minimum(_nearest(inv_min[:, None] * mins).astype(np.int64) & 0xFF, 63).astype(np.uint8)
    d16 = (max_scale / F32(63)).astype(np.float16)
    dmin16 = (max_min / F32(63)).astype(np.float16)
    d = d16.astype(F32)[:, None] * ls.astype(F32)
    dm = dmin16.astype(F32)[:, None] * lm.astype(F32)
    sub = x.reshape(n, 8, 32)
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = np.clip(_nearest((sub + dm[:, :, None]) / d[:, :, None]), 0, nmax)
    zero = d == 0
    if zero.any():  # llama.cpp keeps the search's own levels where the packed scale is zero
        levels[zero] = search_levels.T.reshape(n, 8, 32)[zero]
    header = np.zeros((n, 4), np.uint8)
    header[:, 0:2] = d16.view(np.uint8).reshape(n, 2)
    header[:, 2:4] = dmin16.view(np.uint8).reshape(n, 2)
    return header, _pack_scales_mins(ls, lm), levels.astype(np.uint8).reshape(n, 256)


def _q4_k_chunk(x: np.ndarray) -> np.ndarray:
    header, scales, levels = _affine_blocks(x, 15, -1.0, 0.1, 20)
    quads = levels.reshape(-1, 4, 2, 32)  # 4 groups of 64: low nibble = first 32, high = next 32
    qs = (quads[:, :, 0, :] | (quads[:, :, 1, :] << 4)).reshape(-1, 128)
    return np.concatenate([header, scales, qs], axis=1)


def _q5_k_chunk(x: np.ndarray) -> np.ndarray:
    header, scales, levels = _affine_blocks(x, 31, -0.5, 0.1, 15)
    quads = levels.reshape(-1, 4, 2, 32)
    high = (quads >> 4) & 1  # (n, group, half, 32)
    shifts = (2 * np.arange(4)[:, None] + np.arange(2)[None, :]).astype(np.uint8)  # bit 2*group + half
    qh = np.bitwise_or.reduce((high << shifts[None, :, :, None]).reshape(-1, 8, 32), axis=1).astype(np.uint8)
    low = quads & 0xF
    qs = (low[:, :, 0, :] | (low[:, :, 1, :] << 4)).reshape(-1, 128)
    return np.concatenate([header, scales, qh, qs], axis=1)


def _symmetric_search(x: np.ndarray):
    """make_qx_quants(16, 32, x, L, rmse_type=1) for every column of x (shape (16, n))."""
    nmax = F32(32)
    count = x.shape[1]
    index = np.argmax(np.abs(x), axis=0)
    peak = x[index, np.arange(count)]
    zero = np.abs(peak) < GROUP_MAX_EPS
    weights = x * x
    wx = weights * x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iscale = -nmax / peak
        trial = np.clip(_nearest(iscale * x), -32, 31)
        sumlx = _rows_sum(wx * trial)
        suml2 = _rows_sum(weights * trial * trial)
        scale = np.where(suml2 != 0, sumlx / suml2, F32(0))
        best = scale * sumlx
        best_iscale = iscale
        trial, work = np.empty_like(x), np.empty_like(x)
        for step in range(-9, 10):
            if step == 0:
                continue
            iscale = -(nmax + F32(0.1) * F32(step)) / peak
            np.multiply(iscale, x, out=trial)
            np.rint(trial, out=trial)
            np.clip(trial, -32, 31, out=trial)
            sumlx = _rows_sum(np.multiply(wx, trial, out=work))
            np.multiply(weights, trial, out=work)
            work *= trial
            suml2 = _rows_sum(work)
            better = (suml2 > 0) & (sumlx * sumlx > best * suml2)
            scale = np.where(better, sumlx / suml2, scale)
            best = np.where(better, scale * sumlx, best)
            best_iscale = np.where(better, iscale, best_iscale)
        levels = np.clip(_nearest(best_iscale * x), -32, 31) + 32
    scale = np.where(zero, F32(0), scale).astype(F32)
    levels[:, zero] = 0
    return scale, levels


def _q6_k_chunk(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    columns = np.ascontiguousarray(x.reshape(n * 16, 16).T)
    scales, search_levels = _symmetric_search(columns)
    scales = scales.reshape(n, 16)
    pick = np.argmax(np.abs(scales), axis=1)
    max_scale = scales[np.arange(n), pick]
    empty = np.abs(max_scale) < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iscale = F32(-128) / max_scale
        d16 = (F32(1) / iscale).astype(np.float16)
        packed_scales = np.minimum(_nearest(iscale[:, None] * scales), 127).astype(np.int8)
        d = d16.astype(F32)[:, None] * packed_scales.astype(F32)
        levels = np.clip(_nearest(x.reshape(n, 16, 16) / d[:, :, None]), -32, 31) + 32
    zero = d == 0
    if zero.any():
        levels[zero] = search_levels.T.reshape(n, 16, 16)[zero]
    levels = levels.astype(np.uint8).reshape(n, 2, 4, 32)  # two halves of 128, four rows of 32 each
    low = levels & 0xF
    ql = np.concatenate([low[:, :, 0] | (low[:, :, 2] << 4), low[:, :, 1] | (low[:, :, 3] << 4)], axis=2)
    high = levels >> 4
    qh = high[:, :, 0] | (high[:, :, 1] << 2) | (high[:, :, 2] << 4) | (high[:, :, 3] << 6)
    block = np.concatenate([ql.reshape(n, 128), qh.reshape(n, 64), packed_scales.view(np.uint8),
                            d16.view(np.uint8).reshape(n, 2)], axis=1)
    block[empty] = 0
    return block


_ENCODERS = {"Q4_K": _q4_k_chunk, "Q5_K": _q5_k_chunk, "Q6_K": _q6_k_chunk}


def quantize(values: np.ndarray, kind: str) -> np.ndarray:
    """Encode a float tensor whose last dimension is a multiple of 256 as `kind` ("Q4_K", "Q5_K", "Q6_K").

    Returns uint8 of shape (*values.shape[:-1], row bytes), the layout `gguf.GGUFWriter` writes as is."""
    if values.shape[-1] % QK_K:
        raise ValueError(f"{kind} needs rows of a multiple of {QK_K} values, not {values.shape[-1]}")
    encode = _ENCODERS[kind]
    flat = np.ascontiguousarray(values, dtype=F32).reshape(-1, QK_K)
    out = np.empty((flat.shape[0], BLOCK_BYTES[kind]), np.uint8)

    def encode_chunk(start: int) -> None:
        out[start:start + _CHUNK_BLOCKS] = encode(flat[start:start + _CHUNK_BLOCKS])

    starts = range(0, flat.shape[0], _CHUNK_BLOCKS)
    if len(starts) > 1 and _THREADS > 1:  # numpy lets go of the GIL inside its loops: chunks run in parallel
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(encode_chunk, starts))
    else:
        for start in starts:
            encode_chunk(start)
    row_bytes = values.shape[-1] // QK_K * BLOCK_BYTES[kind]
    return out.reshape(*values.shape[:-1], row_bytes)
