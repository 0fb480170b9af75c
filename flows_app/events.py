"""Tell browsers that a run changed: over the channel layer, after the change is committed."""

from flows_app.models import Run, StepRun


def run_changed(run: Run, step: StepRun | None = None) -> None:
    """Announce that ``run`` (and ``step``, if given) was just written."""
