"""The editor's canvas: the palette of action types and the draft's steps as cards.

Cards form a tree like the draft: an If/then card holds its Then and Else branches, each a
list of cards, down to ``DEPTH_LIMIT`` (validation reports anything deeper).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from flows_app import drafts
from flows_app.actions import ACTION_TYPES, GROUPS
from flows_app.actions.base import ActionType
from flows_app.definition import DEPTH_LIMIT, Problem, action_of, all_steps, steps_of
from flows_app.pins import pins_of

BRANCH_LABELS = {"then": "Then", "else": "Else"}


@dataclass
class StepCard:
    """One step as the canvas shows it."""

    id: str
    name: str
    action_label: str
    position: int  # in its own list
    problems: list[Problem]
    readers: list[str]
    pinned: bool = False  # test runs use its pinned output instead of running it
    first: bool = False  # the flow's first step: Move up has nowhere to go
    last: bool = False  # the flow's last step: Move down has nowhere to go
    depth: int = 0
    branches: list["BranchView"] = field(default_factory=list)

    @property
    def nested(self) -> int:
        """The steps in its branches, at any depth: they go with it when it is deleted."""
        return sum(branch.count for branch in self.branches)


@dataclass
class BranchView:
    """The Then or Else list of an If/then card."""

    parent: str
    name: str
    cards: list[StepCard]
    count: int  # steps inside, at any depth

    @property
    def label(self) -> str:
        return BRANCH_LABELS.get(self.name, self.name)


def _display_name(step: dict) -> str:
    action = action_of(step)
    return str(step.get("alias") or (action.label if action else step.get("action")))


def step_cards(definition: dict, problems: list[Problem]) -> list[StepCard]:
    """The top-level cards, each If/then card holding its branches' cards."""
    by_step: dict[str | None, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_step[problem.step_id].append(problem)
    cards = _Cards(definition, by_step).build(steps_of(definition), 0)
    if cards:
        cards[0].first = True
        cards[-1].last = True
    return cards


def find_card(cards: list[StepCard], step_id: str | None) -> StepCard | None:
    """The card of a step, at any depth."""
    for card in cards:
        if card.id == step_id:
            return card
        for branch in card.branches:
            if found := find_card(branch.cards, step_id):
                return found
    return None


class _Cards:
    """Builds cards in the order validation numbers steps (``step 3`` for a step without
    a usable id), so every problem lands on its card."""

    def __init__(self, definition: dict, by_step: dict[str | None, list[Problem]]):
        self.definition = definition
        self.by_step = by_step
        self.pins = pins_of(definition)
        self.number = 0

    def build(self, steps: list, depth: int) -> list[StepCard]:
        return [
            self.card(step if isinstance(step, dict) else {}, position, depth)
            for position, step in enumerate(steps)
        ]

    def card(self, step: dict, position: int, depth: int) -> StepCard:
        self.number += 1
        action = action_of(step)
        step_id = str(step.get("id"))
        card = StepCard(
            id=step_id,
            name=_display_name(step),
            action_label=action.label
            if action
            else f"Not supported yet: {step.get('type')}/{step.get('action')}",
            position=position,
            problems=self.by_step.get(step_id) or self.by_step.get(f"step {self.number}", []),
            readers=drafts.references_to(self.definition, step_id),
            pinned=step_id in self.pins,
            depth=depth,
        )
        if depth < DEPTH_LIMIT:
            card.branches = [
                self.branch(step_id, name, steps, depth) for name, steps in _branches(step)
            ]
        return card

    def branch(self, parent: str, name: str, steps: list, depth: int) -> BranchView:
        count = len(all_steps({"actions": steps}))
        return BranchView(parent, name, self.build(steps, depth + 1), count)


def _branches(step: dict) -> list[tuple[str, list]]:
    """An If/then's Then and Else, an empty list for one it lacks, so both take drops."""
    return [
        (name, steps)
        for name in BRANCH_LABELS
        if (steps := drafts.branch_of(step, name)) is not None
    ]


def palette() -> list[tuple[str, list[ActionType]]]:
    groups = {name: [] for name in GROUPS}  # type: dict[str, list[ActionType]]
    for action in ACTION_TYPES.values():
        groups.setdefault(action.group, []).append(action)
    return [(name, actions) for name, actions in groups.items() if actions]
