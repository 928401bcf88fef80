"""Domain errors. Each maps once (in api.errors) to the one response shape
``{"error": {"code", "message", "details"}}``; domain code raises these, never HTTP exceptions."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code
        if status:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status, code = 400, "BAD_REQUEST"


class ValidationFailed(AppError):
    status, code = 422, "VALIDATION_ERROR"


class Unauthorized(AppError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(AppError):
    status, code = 403, "FORBIDDEN"


class NotFound(AppError):
    status, code = 404, "NOT_FOUND"


class Conflict(AppError):
    status, code = 409, "CONFLICT"


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"

    def __init__(self, entity: str, current: str, requested: str, allowed: list[str] | tuple[str, ...]):
        super().__init__(
            f"{entity} cannot go from {current} to {requested}",
            details={"entity": entity, "current": current, "requested": requested,
                     "allowed": sorted(allowed)},
        )


class PayloadTooLarge(AppError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class TooManyRequests(AppError):
    status, code = 429, "RATE_LIMITED"


class ServiceUnavailable(AppError):
    status, code = 503, "UPSTREAM_UNAVAILABLE"
