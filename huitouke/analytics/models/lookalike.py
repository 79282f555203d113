"""Look-alikes: how far each candidate is from the gold customers on standardised features (pure numpy)."""

from __future__ import annotations

import numpy as np

CHUNK = 4096  # candidates per distance block: 4,096 × 2,000 gold rows × 8 bytes ≈ 65 MB at most
MAX_GOLD = 2000  # more gold customers than this: an evenly spaced sample of them is the reference (cost: candidates × MAX_GOLD)


def standardise(features: np.ndarray) -> np.ndarray:
    """Each column to mean 0 and standard deviation 1 over all rows; a constant column becomes 0."""
    if features.shape[0] == 0:
        return features.astype(float)
    mean, std = features.mean(axis=0), features.std(axis=0)
    return (features - mean) / np.where(std > 0, std, 1.0)


def gold_sample(n: int, limit: int = MAX_GOLD) -> np.ndarray:
    """Row indexes of the gold reference: all of them, or `limit` evenly spaced ones (deterministic)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def distance_to_gold(gold: np.ndarray, candidates: np.ndarray, *, k: int = 5, chunk: int = CHUNK) -> np.ndarray:
    """Mean Euclidean distance from each candidate row to its k nearest gold rows (k capped at the gold rows).

    Squared distances come from ‖a‖² + ‖b‖² − 2a·b, one matrix product per block of candidates, so the
    memory is chunk × gold whatever the number of candidates.
    """
    if gold.shape[0] == 0:
        raise ValueError("no gold customers to compare with")
    k = min(k, gold.shape[0])
    gold_sq = (gold * gold).sum(axis=1)
    out = np.empty(candidates.shape[0])
    for start in range(0, candidates.shape[0], chunk):
        block = candidates[start:start + chunk]
        squared = (block * block).sum(axis=1)[:, None] + gold_sq[None, :] - 2.0 * block @ gold.T
        nearest = np.partition(np.maximum(squared, 0.0), k - 1, axis=1)[:, :k]
        out[start:start + chunk] = np.sqrt(nearest).mean(axis=1)
    return out
