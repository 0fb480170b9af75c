"""Filters for Sluice's log lines."""

import logging

from django.core.exceptions import PermissionDenied


class ForbiddenInOneLine(logging.Filter):
    """Log a request refused with 403 as one line: who, what and why, without the traceback
    Django attaches. A refusal is expected behaviour, not an error to debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        exception = record.exc_info[1] if record.exc_info else None
        if getattr(record, "status_code", None) == 403 and isinstance(exception, PermissionDenied):
            request = getattr(record, "request", None)
            record.msg = "Forbidden: %s %s by %s: %s"
            record.args = tuple(
                _one_line(text)
                for text in (
                    getattr(request, "method", "?"),
                    getattr(request, "path", "?"),
                    _who(request),
                    str(exception) or "permission denied",
                )
            )
            record.exc_info = None
            record.exc_text = None
        return True


def _who(request) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "an anonymous visitor"
    role = getattr(user, "role", "")
    return f"{user.email} ({role})" if role else str(user.email)


def _one_line(text: str) -> str:
    """Escape line breaks and other control characters, so no one can forge log lines."""
    return text.encode("unicode_escape").decode("ascii")
