"""The discover ranker: a linear model over a few named, explainable features.

Each candidate gets one row of features, every one scaled to roughly ``[0, 1]``; the
score is the weighted sum. The weights have a hand-set default and can be re-learned
offline from the platform's own interaction log (``bridgenote feed train``),
by logistic regression: an engaged note is a positive, a shown-and-skipped or
"not interested" note is a negative. Because the model is linear, the largest
``weight * feature`` term of a note is also the honest answer to "why this?".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

FEATURES: tuple[str, ...] = (
    "similarity",  # cosine of the note's embedding and the user's interest vector
    "topic_affinity",  # the user's weights of the note's hashtags/topics
    "creator_affinity",  # the user's history with this creator
    "engagement",  # saves, comments and likes per view, smoothed; saves weigh most
    "freshness",  # decays with the note's age
    "creator_size",  # log of the creator's followers, scaled to [0, 1]
    "language_fit",  # the note's language is one the user reads
    "following",  # the viewer follows the creator
    "trending",  # engagement velocity in the last two days, scaled to [0, 1]
)

# Set by hand for a new platform: interest match first, quality next, and a small
# penalty on creator size so that two equally good notes go to the smaller creator.
DEFAULT_WEIGHTS: dict[str, float] = {
    "similarity": 2.0,
    "topic_affinity": 1.6,
    "creator_affinity": 0.6,
    "engagement": 1.0,
    "freshness": 0.7,
    "creator_size": -0.4,
    "language_fit": 0.5,
    "following": 0.4,
    "trending": 0.5,
}

# Relative weight of each signal in the engagement rate (saves are the strongest sign
# that a note was useful, then comments, then likes).
ENGAGEMENT_WEIGHTS = {"save": 3.0, "comment": 2.0, "like": 1.0}
# Smoothing: a note with few views is pulled towards the prior rate.
PRIOR_VIEWS = 30.0
PRIOR_RATE = 0.05
FRESHNESS_HALF_LIFE_HOURS = 36.0
SMALL_CREATOR_FOLLOWERS = 1000
CREATOR_SIZE_SCALE = math.log1p(1_000_000)


def engagement_rate(*, likes: float, saves: float, comments: float, views: float) -> float:
    """Weighted engagements per view with a Bayesian prior, squashed to ``[0, 1)``."""
    weighted = (
        ENGAGEMENT_WEIGHTS["like"] * likes
        + ENGAGEMENT_WEIGHTS["save"] * saves
        + ENGAGEMENT_WEIGHTS["comment"] * comments
    )
    # Views are buffered and can lag engagements: never fewer views than engagements.
    views = max(views, likes, saves, comments)
    rate = (weighted + PRIOR_RATE * PRIOR_VIEWS) / (views + PRIOR_VIEWS)
    return rate / (rate + 0.25)


def freshness(age_hours: float) -> float:
    return float(0.5 ** (max(age_hours, 0.0) / FRESHNESS_HALF_LIFE_HOURS))


def creator_size(followers: float) -> float:
    return min(1.0, math.log1p(max(followers, 0.0)) / CREATOR_SIZE_SCALE)


def weight_vector(weights: Mapping[str, float], names: Sequence[str] = FEATURES) -> np.ndarray:
    return np.array([float(weights.get(n, 0.0)) for n in names], dtype=np.float32)


def score(x: np.ndarray, weights: Mapping[str, float], names: Sequence[str] = FEATURES) -> np.ndarray:
    """Scores of the rows of ``x`` (candidates × features, columns in ``names`` order)."""
    if x.size == 0:
        return np.zeros(x.shape[0], dtype=np.float32)
    return np.asarray(x @ weight_vector(weights, names), dtype=np.float32)


def top_features(x: np.ndarray, weights: Mapping[str, float], names: Sequence[str] = FEATURES) -> list[str]:
    """For each row of ``x``, the feature that added most to its score (the basis of "Why this?")."""
    if x.shape[0] == 0:
        return []
    return [names[i] for i in np.argmax(x * weight_vector(weights, names), axis=1).tolist()]


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    *,
    names: Sequence[str] = FEATURES,
    l2: float = 1e-3,
    iterations: int = 50,
    sample_weight: np.ndarray | None = None,
) -> dict[str, float]:
    """L2-regularised logistic regression by Newton's method (numpy only; a few
    thousand rows and ten features converge in a handful of steps).

    Returns one weight per feature name; the intercept is dropped because it does not
    change any ordering.
    """
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] != len(names):
        raise ValueError("x must be (rows, len(names)) and y must have one label per row")
    if len(np.unique(y)) < 2:
        raise ValueError("training needs both positive and negative examples")
    n, f = x.shape
    design = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    sw = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    w = np.zeros(f + 1)
    penalty = np.full(f + 1, l2 * sw.sum())
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        z = design @ w
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        grad = design.T @ (sw * (p - y)) + penalty * w
        hess = (design * (sw * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return {name: float(w[i]) for i, name in enumerate(names)}


def log_loss(x: np.ndarray, y: np.ndarray, weights: Mapping[str, float], names: Sequence[str] = FEATURES) -> float:
    """Mean log loss with the best intercept for these weights (to compare weight sets)."""
    z = score(x, weights, names).astype(np.float64)
    best = math.inf
    for b in np.linspace(-6, 6, 49):
        p = np.clip(1.0 / (1.0 + np.exp(-(z + b))), 1e-9, 1 - 1e-9)
        best = min(best, float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()))
    return best
