"""Rate limits of the sign-in routes, applied in one place: ``throttle(request, action, account)``.

Each action is limited per client address and per account (WeChat openid, console login name, pending binding
token, dev-login user id) by the rules in config.settings (``rate_<action>_per_…``). Over a limit the caller gets
429 ``RATE_LIMITED`` with ``details.retry_after_seconds`` and a ``Retry-After`` header (api.errors). Time is the
app's clock, so tests move a ManualClock instead of sleeping. Counts are per worker (core.ratelimit).
"""

from __future__ import annotations

from sanic import Request

from config.settings import Settings
from core.errors import TooManyRequests
from core.ratelimit import RateRule, SlidingWindowLimiter

#: action → (settings field of the per-account rule, settings field of the per-address rule)
ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("rate_login_per_account", "rate_login_per_address"),
    "bind": ("rate_bind_per_token", "rate_bind_per_address"),
    "dev_login": ("rate_dev_login_per_account", "rate_dev_login_per_address"),
}


def new_limiter(settings: Settings) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(max_keys=settings.rate_limit_max_keys)


def client_address(request: Request) -> str:
    """The caller's address: the proxy-forwarded one when Sanic is configured to trust it (REAL_IP_HEADER,
    PROXIES_COUNT, FORWARDED_SECRET), otherwise the socket peer."""
    return request.remote_addr or request.ip or "unknown"


def throttle(request: Request, action: str, account: str | None = None) -> None:
    """Count one attempt of ``action``: for the caller's address when ``account`` is None, else for that
    account. Routes call it twice: first for the address before doing any work, then for the account once it
    is known, so a flood from one address is stopped before it uses up its victims' per-account allowance.
    Raises TooManyRequests when over the limit."""
    settings: Settings = request.app.ctx.settings
    if not settings.rate_limit_enabled:
        return
    limiter: SlidingWindowLimiter = request.app.ctx.rate_limiter
    account_rule, address_rule = ACTIONS[action]
    rule_name, key, per = ((address_rule, f"{action}:addr:{client_address(request)}", "address") if account is None
                           else (account_rule, f"{action}:acct:{account}", "account"))
    decision = limiter.hit(key, RateRule.of(getattr(settings, rule_name)), request.app.ctx.clock.now().timestamp())
    if not decision.allowed:
        raise TooManyRequests("too many attempts, try again later", details={
            "retry_after_seconds": decision.retry_after_seconds, "limit": per, "action": action})
