"""Seeded fault decisions and latency sampling (pure, no I/O: unit-testable directly)."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from .config import FaultConfig, LatencyConfig, lognormal_params

_TWO64 = float(1 << 64)
_ND = NormalDist()


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str | None  # None (serve normally), "error", "timeout", "drop", "malformed", "fail_first"
    status: int | None = None  # the status for "error" / "fail_first" of kind status
    latency_s: float = 0.0
    sub_kind: str | None = None  # for fail_first: "status", "drop", "timeout", "malformed"


NO_FAULT = Decision(None)


class LatencySampler:
    def __init__(self, cfg: LatencyConfig) -> None:
        self.cfg = cfg
        self.kind = cfg.distribution
        self.cap = cfg.cap_ms
        if self.kind == "lognormal":
            self.mu, self.sigma = lognormal_params(cfg.mean_ms, cfg.p99_ms)

    @property
    def active(self) -> bool:
        return self.kind != "none"

    def sample_ms(self, u: float) -> float:
        """Latency in ms for a uniform draw ``u`` in [0, 1) (inverse-CDF sampling)."""
        k = self.kind
        if k == "none":
            return 0.0
        if k == "fixed":
            v = self.cfg.fixed_ms
        elif k == "uniform":
            v = self.cfg.min_ms + u * (self.cfg.max_ms - self.cfg.min_ms)
        else:
            u = min(max(u, 1e-12), 1.0 - 1e-12)
            v = math.exp(self.mu + self.sigma * _ND.inv_cdf(u))
        if self.cap is not None and v > self.cap:
            v = self.cap
        return v


class FaultPlan:
    """Decides, per request, which fault (if any) and how much latency to inject."""

    def __init__(self, cfg: FaultConfig) -> None:
        self.cfg = cfg
        self.active = cfg.active
        self.seed = cfg.seed
        self.rng = random.Random(cfg.seed)
        self.latency = LatencySampler(cfg.latency)
        self.t_error = cfg.error_ratio
        self.t_timeout = self.t_error + cfg.timeout_ratio
        self.t_drop = self.t_timeout + cfg.drop_ratio
        self.t_malformed = self.t_drop + cfg.malformed_ratio
        self.statuses = list(cfg.error_statuses)
        self.fail_first = cfg.fail_first
        self.fail_first_ids = dict(cfg.fail_first_ids)
        self._seed_prefix = f"{cfg.seed}\x00".encode()

    def uniforms(self, key: str | None, attempt: int) -> tuple[float, float, float]:
        """Three uniforms: from a hash of (seed, key, attempt) when keyed, else the RNG."""
        if key is None:
            r = self.rng.random
            return r(), r(), r()
        d = hashlib.blake2b(
            self._seed_prefix + key.encode("utf-8", "surrogatepass") + b"\x00" + str(attempt).encode(),
            digest_size=24,
        ).digest()
        return (
            int.from_bytes(d[0:8], "big") / _TWO64,
            int.from_bytes(d[8:16], "big") / _TWO64,
            int.from_bytes(d[16:24], "big") / _TWO64,
        )

    def decide(self, key: str | None, attempt: int) -> Decision:
        if not self.active:
            return NO_FAULT
        u_fault, u_status, u_lat = self.uniforms(key, attempt)
        latency_s = self.latency.sample_ms(u_lat) / 1000.0 if self.latency.active else 0.0
        if key is not None and (self.fail_first or self.fail_first_ids):
            k = self.fail_first_ids.get(key, self.fail_first)
            if attempt < k:
                return Decision(
                    "fail_first", self.cfg.fail_first_status, latency_s, self.cfg.fail_first_kind
                )
        if u_fault < self.t_malformed:
            if u_fault < self.t_error:
                status = self.statuses[min(int(u_status * len(self.statuses)), len(self.statuses) - 1)]
                return Decision("error", status, latency_s)
            if u_fault < self.t_timeout:
                return Decision("timeout", 504, latency_s)
            if u_fault < self.t_drop:
                return Decision("drop", None, latency_s)
            return Decision("malformed", self.cfg.malformed_status, latency_s)
        if latency_s:
            return Decision(None, None, latency_s)
        return NO_FAULT
