"""The Prometheus HTTP API client: a `tui.runner.MetricsSource` that makes one plain GET of the
instant-query endpoint (stdlib urllib, in a worker thread so the event loop never blocks).

Only http and https URLs are accepted; redirects are not followed to other schemes (urllib's default
handlers). An HTTP error status with a body (Prometheus explains a bad query in JSON) is returned like a
success, so the parser reports Prometheus's own words; no answer at all raises MetricsUnavailable.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request

from tui.runner import MetricsUnavailable

MAX_BODY = 64 << 20  # a fleet's answer is a few MB; anything far larger is not a Prometheus answer


class PrometheusHttp:
    """`await PrometheusHttp().instant_query("http://prom:9090", "up")` -> the JSON body."""

    def __init__(self, user_agent: str = "hascreen") -> None:
        self.user_agent = user_agent
        self.queries = 0

    def _get(self, url: str, timeout: float) -> str:
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - scheme checked
                return answer.read(MAX_BODY).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BODY).decode("utf-8", "replace") if exc.fp else ""
            if body.strip().startswith("{"):
                return body
            raise MetricsUnavailable(url, f"HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise MetricsUnavailable(url, str(exc.reason)) from exc
        except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
            raise MetricsUnavailable(url, f"{type(exc).__name__}: {exc}") from exc

    async def instant_query(self, base_url: str, expr: str, *, timeout: float = 5.0) -> str:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise MetricsUnavailable(base_url, "not an http(s) URL")
        url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        self.queries += 1
        return await asyncio.to_thread(self._get, url, timeout)
