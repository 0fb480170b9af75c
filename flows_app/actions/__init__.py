"""The registry of action types, keyed "TYPE/ACTION" as in Auth0's flow JSON."""

from flows_app.actions import auth0, data, http, logic, notifications
from flows_app.actions.base import ActionType

ACTION_TYPES: dict[str, ActionType] = {
    action.key: action
    for module in (
        auth0,
        notifications,
        logic,
        http,
        data,
    )
    for action in module.ACTIONS
}
GROUPS: tuple[str, ...] = (
    "Auth0",
    "Notifications",
    "Logic",
    "HTTP",
    "JSON",
    "XML",
)


def action_type(type_: str, action: str) -> ActionType | None:
    return ACTION_TYPES.get(f"{type_}/{action}")


__all__ = ["ACTION_TYPES", "GROUPS", "ActionType", "action_type"]
