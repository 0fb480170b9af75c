"""The Management API's errors: ``statusCode``, ``error``, ``message`` and usually ``errorCode``."""

from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
}


class ApiError(Exception):
    """An answer other than success, with Auth0's body; ``note`` goes to a header that tells
    Sluice's client why (what the sandbox does not serve)."""

    def __init__(self, status: int, message: str, code: str | None = None, *, note: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.note = note

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "statusCode": self.status,
            "error": REASONS.get(self.status, "Error"),
            "message": str(self),
        }
        if self.code:
            body["errorCode"] = self.code
        return body


def invalid_body(message: str) -> ApiError:
    return ApiError(400, message, "invalid_body")


def invalid_query(message: str) -> ApiError:
    return ApiError(400, message, "invalid_query_string")


def inexistent_user() -> ApiError:
    return ApiError(404, "The user does not exist.", "inexistent_user")


def not_served(what: str) -> ApiError:
    return ApiError(
        404,
        "Not Found",
        note=f"The sandbox tenant does not serve {what}: it serves tokens and users (create, "
        "get, update, delete, list and users-by-email). Use an Auth0 tenant for this request.",
    )
