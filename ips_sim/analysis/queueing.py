"""Closed forms of the textbook queues the model reduces to, for checking it.

When job search is switched off and every drop-out hazard equals ``mu``, an
enrolled member's stay is exponential, so the program is a multi-server queue:
``c = specialists x caseload_cap`` places ("servers"), Poisson referrals at
rate ``lam``, first come first served waitlist. Without patience it is M/M/c
(Erlang C); with exponential patience of rate ``theta`` it is M/M/c+M
(Erlang A, Palm's queue). All rates are per unit time (any unit, used
consistently); waits come out in the same unit.
"""

from __future__ import annotations

import math

__all__ = ["erlang_b", "erlang_c", "erlang_a", "competing_exponential_cdf"]


def erlang_b(a: float, c: int) -> float:
    """Erlang B blocking probability for offered load ``a`` and ``c`` servers.

    Stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``.

    >>> erlang_b(1.0, 1)
    0.5
    >>> round(erlang_b(2.0, 2), 6)   # (2^2/2) / (1 + 2 + 2)
    0.4
    """
    if c < 0 or a < 0:
        raise ValueError("need a >= 0 and c >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """M/M/c: (probability an arrival waits, mean wait in queue of all arrivals).

    ``P(wait) = c B / (c - a (1 - B))`` with ``a = lam / mu`` and ``B`` the
    Erlang B probability; ``E[W] = P(wait) / (c mu - lam)``. Needs
    ``lam < c mu``.

    M/M/1 gives ``P(wait) = rho`` and ``E[W] = rho / (mu - lam)``:

    >>> erlang_c(0.5, 1.0, 1)
    (0.5, 1.0)

    M/M/2 with ``a = 1``: by hand, ``p0 = 1 / (1 + 1 + (1/2) 2/(2-1)) = 1/3``
    and ``P(wait) = p0 (a^2/2!) (2/(2-1)) = 1/3``, ``E[W] = (1/3) / (2 - 1)``:

    >>> [round(x, 12) for x in erlang_c(1.0, 1.0, 2)]
    [0.333333333333, 0.333333333333]

    A standard call-centre case: ``a = 8`` Erlangs on 10 servers waits with
    probability 0.409 (tables of Erlang C) and on average 0.409 / (10 - 8)
    service times:

    >>> pw, w = erlang_c(8.0, 1.0, 10)
    >>> round(pw, 3), round(w, 3)
    (0.409, 0.205)
    """
    if lam < 0 or mu <= 0 or c < 1:
        raise ValueError("need lam >= 0, mu > 0, c >= 1")
    a = lam / mu
    if a >= c:
        raise ValueError(f"unstable: lam / mu = {a} >= c = {c}")
    b = erlang_b(a, c)
    p_wait = c * b / (c - a * (1.0 - b))
    return p_wait, p_wait / (c * mu - lam)


def _birth_death(lam: float, mu: float, theta: float, c: int, tol: float = 1e-15) -> list[float]:
    """Stationary distribution of the M/M/c+M number in system, truncated far out.

    Birth rate ``lam`` in every state; death rate ``d_n = min(n, c) mu +
    max(n - c, 0) theta`` (services plus abandonments of the ``n - c``
    waiting). Unnormalised weights ``w_n = prod_{k<=n} lam / d_k``. Since
    ``d_n`` never decreases, the ratio ``r_n = lam / d_{n+1}`` never increases,
    so once ``r < 1`` the tail beyond ``n`` is at most ``w_n r / (1 - r)``
    (a geometric bound). The state space is truncated at the first ``n > c``
    where that bound is below ``tol`` times the mass so far, so the neglected
    probability is below ``tol`` (relative): the truncation error is far
    below any simulation tolerance.
    """
    weights = [1.0]
    total = 1.0
    n = 0
    while True:
        d_next = min(n + 1, c) * mu + max(n + 1 - c, 0) * theta
        r = lam / d_next
        if n > c and r < 1.0 and weights[-1] * r / (1.0 - r) < tol * total:
            break
        if n > 10_000_000:
            raise ValueError("state space does not converge (lam >= c mu and theta = 0?)")
        weights.append(weights[-1] * r)
        total += weights[-1]
        n += 1
        if weights[-1] > 1e250:  # rescale to stay in floating point range
            weights = [w / 1e250 for w in weights]
            total /= 1e250
    return [w / total for w in weights]


def erlang_a(lam: float, mu: float, theta: float, c: int) -> tuple[float, float, float, float]:
    """M/M/c+M (Erlang A): (P(wait), P(abandon), mean wait of all arrivals, mean wait of the served).

    Derived from the birth-death chain of :func:`_birth_death`. By PASTA an
    arrival finds ``n`` in system with probability ``pi_n`` and waits iff
    ``n >= c``; it then has ``j = n - c`` waiting ahead of it (first come
    first served). A tagged waiting customer with ``i`` ahead moves up at rate
    ``c mu + i theta`` (the head enters service or one ahead gives up) and gives
    up at rate ``theta``; the time spent at each position is exponential with
    rate ``c mu + (i + 1) theta`` and independent of which event ends it. So,
    given ``j`` ahead:

    * ``P(served) = prod_{i=0..j} (c mu + i theta) / (c mu + (i+1) theta) = c mu / (c mu + (j+1) theta)``
    * ``E[W] = (j + 1) / (c mu + (j+1) theta)``  (all arrivals, wait ends at service or abandonment)
    * ``E[W | served] = sum_{i=0..j} 1 / (c mu + (i+1) theta)``

    averaged over ``pi``. ``theta = 0`` gives Erlang C (needs ``lam < c mu``).

    With ``c = 1`` and ``theta = mu`` the death rate is ``n mu``: the number in
    system is Poisson(``a = lam/mu``), so ``P(wait) = 1 - e^-a``, and by rate
    balance ``P(abandon) = theta E[(N-1)+] / lam = (a - 1 + e^-a) / a``; at
    ``a = 1`` that is ``e^-1``, and the mean wait of all is ``E[(N-1)+] / lam = e^-1``:

    >>> pw, pa, w_all, w_served = erlang_a(1.0, 1.0, 1.0, 1)
    >>> round(pw, 10) == round(1 - math.exp(-1), 10), round(pa, 10) == round(math.exp(-1), 10)
    (True, True)
    >>> round(w_all, 10) == round(math.exp(-1), 10)
    True

    Little's law cross-check (mean queue length over lam equals mean wait of all):

    >>> pi = _birth_death(9.0, 1.0, 0.5, 8)
    >>> eq = sum(max(n - 8, 0) * p for n, p in enumerate(pi))
    >>> abs(eq / 9.0 - erlang_a(9.0, 1.0, 0.5, 8)[2]) < 1e-12
    True

    Tiny patience rate approaches Erlang C:

    >>> [round(x, 3) for x in erlang_a(8.0, 1.0, 1e-9, 10)]
    [0.409, 0.0, 0.205, 0.205]
    """
    if lam < 0 or mu <= 0 or theta < 0 or c < 1:
        raise ValueError("need lam >= 0, mu > 0, theta >= 0, c >= 1")
    if theta == 0 and lam >= c * mu:
        raise ValueError("unstable without abandonment: lam >= c mu")
    pi = _birth_death(lam, mu, theta, c)
    cmu = c * mu
    p_wait = p_abandon = w_all = w_served_joint = 0.0
    served_partial = 0.0  # sum_{i=0..j} 1 / (c mu + (i+1) theta), built up as j grows
    for n in range(c, len(pi)):
        j = n - c
        p = pi[n]
        rate = cmu + (j + 1) * theta
        served_partial += 1.0 / rate
        p_served = cmu / rate
        p_wait += p
        p_abandon += p * (1.0 - p_served)
        w_all += p * (j + 1) / rate
        w_served_joint += p * p_served * served_partial
    p_served_total = 1.0 - p_abandon
    w_served = w_served_joint / p_served_total if p_served_total > 0 else math.nan
    return p_wait, p_abandon, w_all, w_served


def competing_exponential_cdf(rate: float, other: float, t: float) -> float:
    """P(the event of hazard ``rate`` happens by ``t`` and before a competing event of hazard ``other``).

    ``rate / (rate + other) * (1 - exp(-(rate + other) t))``.

    >>> competing_exponential_cdf(1.0, 1.0, 0.0)
    0.0
    >>> round(competing_exponential_cdf(1.0, 1.0, 1e9), 12)
    0.5
    """
    total = rate + other
    if total == 0:
        return 0.0
    return rate / total * -math.expm1(-total * t)
