"""The editor's canvas: the palette of action types and the draft's steps as cards."""

from collections import defaultdict
from dataclasses import dataclass

from flows_app import drafts
from flows_app.actions import ACTION_TYPES, GROUPS
from flows_app.actions.base import ActionType
from flows_app.definition import Problem, action_of, steps_of


@dataclass
class StepCard:
    """One step as the canvas shows it."""

    id: str
    name: str
    action_label: str
    position: int
    problems: list[Problem]
    readers: list[str]
    last: bool = False

    @property
    def first(self) -> bool:
        return self.position == 0


def _display_name(step: dict) -> str:
    action = action_of(step)
    return str(step.get("alias") or (action.label if action else step.get("action")))


def step_cards(definition: dict, problems: list[Problem]) -> list[StepCard]:
    by_step: dict[str | None, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_step[problem.step_id].append(problem)
    cards = []
    for position, step in enumerate(steps_of(definition)):
        action = action_of(step)
        step_id = str(step.get("id"))
        cards.append(
            StepCard(
                id=step_id,
                name=_display_name(step),
                action_label=action.label if action else f"Unknown {step.get('action')}",
                position=position,
                problems=by_step.get(step_id) or by_step.get(f"step {position + 1}", []),
                readers=drafts.references_to(definition, step_id),
            )
        )
    if cards:
        cards[-1].last = True
    return cards


def palette() -> list[tuple[str, list[ActionType]]]:
    groups = {name: [] for name in GROUPS}  # type: dict[str, list[ActionType]]
    for action in ACTION_TYPES.values():
        groups.setdefault(action.group, []).append(action)
    return [(name, actions) for name, actions in groups.items() if actions]
