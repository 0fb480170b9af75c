"""The registry of action types, keyed "TYPE/ACTION" as in Auth0's flow JSON."""

from flows_app.actions import (
    auth0,
    data,
    email_verification,
    http,
    jwt,
    logic,
    notifications,
    otp,
    twilio,
)
from flows_app.actions.base import ActionType

MODULES = (auth0, notifications, logic, http, data, jwt, otp, email_verification, twilio)
ACTION_TYPES: dict[str, ActionType] = {
    action.key: action for module in MODULES for action in module.ACTIONS
}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(action.group for action in ACTION_TYPES.values()))


def action_type(type_: str, action: str) -> ActionType | None:
    return ACTION_TYPES.get(f"{type_}/{action}")


__all__ = ["ACTION_TYPES", "GROUPS", "ActionType", "action_type"]
