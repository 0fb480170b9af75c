"""The one Liquid environment of Sluice, shared by the editor's preview and the executor.

Templates are python-liquid 2 with Auth0's additions to the expression syntax:

- calls to the ``functions.*`` helpers, written as Auth0 writes them:
  ``{{ functions.encodeURIComponent(context.user.user_id) }}``. Arguments may be literals,
  variables, ranges or other calls, and filters may follow the call. Calls work in output
  statements, ``assign``, ``echo``, ``if``/``elsif``/``unless`` conditions and filter
  arguments; a ``for`` or ``case`` tag takes a variable set by ``assign`` instead.
- the nullish operator ``fields.foo ?? fields.bar``: the first operand that is defined
  and not null (chainable). A missing variable on its left is expected, not warned about.

Both are built into the parser (the output statement's pseudo tag and the tags above
are replaced by versions that read Sluice's expression grammar, in
``flows_app.liquid_syntax``), not done by rewriting template text. Templates are parsed
once and cached; rendering is bounded by the limits below and ``LOOP_ITERATION_LIMIT``,
which is defined with the range literals it also bounds. Text output writes ``null`` as
"", booleans as true/false, objects and arrays as JSON, and whole floats without ".0", as
JavaScript and ``functions.toString`` do.
"""

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from liquid import BoundTemplate, Environment, Undefined
from liquid.builtin.content import ContentNode
from liquid.builtin.filters.string import replace as liquid_replace
from liquid.builtin.output import OutputNode
from liquid.exceptions import (
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.expression import Expression
from liquid.output import LimitedStringIO
from liquid.token import TOKEN_OUTPUT, Token
from liquid.undefined import UNDEFINED

from flows_app.liquid_functions import FUNCTIONS, check_replacement_size, to_string
from flows_app.liquid_syntax import LOOP_ITERATION_LIMIT, TAGS, MaskRecordingContext, plain_value

__all__ = [
    "FUNCTIONS",
    "Rendered",
    "TemplateError",
    "TemplateProblem",
    "check_template",
    "cpu_budget",
    "referenced_variables",
    "render_html",
    "render_json",
    "render_text",
    "render_value",
]

OUTPUT_STREAM_LIMIT = 1_000_000
"""Bytes (UTF-8) one render may write, ``capture`` blocks included."""
LOCAL_NAMESPACE_LIMIT = 1_000_000
"""Bytes, by ``sys.getsizeof``, of the values ``assign`` and ``capture`` keep."""
CONTEXT_DEPTH_LIMIT = 30
"""Scopes a render may nest (loops inside loops); python-liquid's default."""
RENDER_CPU_SECONDS = 2.0
"""CPU time one render of a run may take."""
PREVIEW_CPU_SECONDS = 1.0
"""CPU time the previews of one step may take together (``cpu_budget``)."""
TEMPLATE_CACHE_SIZE = 1_000
"""Parsed templates kept, per environment (text and HTML), least recently used dropped."""

_LIMIT_HINTS: dict[type[LiquidError], str] = {
    LoopIterationLimitError: f"loops may run {LOOP_ITERATION_LIMIT} times in all",
    OutputStreamLimitError: f"a template may write {OUTPUT_STREAM_LIMIT} bytes",
    LocalNamespaceLimitError: f"assigned values may take {LOCAL_NAMESPACE_LIMIT} bytes",
    ContextDepthError: f"blocks may nest {CONTEXT_DEPTH_LIMIT} deep",
}


@dataclass(frozen=True)
class TemplateProblem:
    """A syntax error or a limit hit; line and column count from 1."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"


class TemplateError(Exception):
    """A template that cannot be parsed, or whose rendering failed or hit a limit."""

    def __init__(self, problem: TemplateProblem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class Rendered:
    """What a template rendered to, with the undefined variables it met and the masks."""

    value: Any
    warnings: list[str]
    masked: set[str]


# --- The environment ------------------------------------------------------------------------


def _bounded_replace(value: object, pattern: object, replacement: object = "") -> str:
    """Liquid's ``replace`` filter, refusing to build an oversized string."""
    try:
        check_replacement_size(to_string(value), to_string(pattern), to_string(replacement))
    except ValueError as err:
        raise FilterArgumentError(f"replace: {err}", token=None) from err
    return liquid_replace(value, pattern, replacement)


_PROPERTY = re.compile(r"\w[\w-]*")
_PROBLEMS: ContextVar[list[TemplateProblem] | None] = ContextVar("_PROBLEMS", default=None)


_BUDGET: ContextVar[tuple[float, float] | None] = ContextVar("_BUDGET", default=None)


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Give every render inside the block ``seconds`` of CPU time in all, not each."""
    budget = _BUDGET.set((seconds, time.thread_time() + seconds))
    try:
        yield
    finally:
        _BUDGET.reset(budget)


class _RenderContext(MaskRecordingContext):
    """A render context that notes undefined variables and masked values, and keeps time.

    Loops and sizes are bounded, but 10,000 loops over a big value can still be slow, so
    the CPU time is checked before every variable read, assignment, filter and function
    call: between two checks there is at most one filter or function at work, on values
    the size limits keep small.
    """

    __slots__ = ("undefined_paths", "deadline", "seconds")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.undefined_paths: dict[str, None] = {}
        self.seconds, self.deadline = _BUDGET.get() or (
            RENDER_CPU_SECONDS,
            time.thread_time() + RENDER_CPU_SECONDS,
        )

    def get(
        self, path: list[object], *, token: Token | None, default: object = UNDEFINED
    ) -> object:
        self.check_time(token)
        value = super().get(path, token=token, default=default)
        if default is UNDEFINED and isinstance(value, Undefined):
            self.undefined_paths[_dotted(path)] = None
        return value

    def assign(self, key: str, val: Any) -> None:
        self.check_time(None)
        super().assign(key, val)

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        self.check_time(token)
        return super().filter(name, token)

    def check_time(self, token: Token | None) -> None:
        if time.thread_time() > self.deadline:
            unit = "second" if self.seconds == 1 else "seconds"
            message = f"render time limit reached: {self.seconds:g} {unit} of CPU"
            raise ResourceLimitError(message, token=token)


class _Template(BoundTemplate):
    context_class = _RenderContext


class _Environment(Environment):
    context_depth_limit = CONTEXT_DEPTH_LIMIT
    loop_iteration_limit = LOOP_ITERATION_LIMIT
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT
    output_stream_limit = OUTPUT_STREAM_LIMIT
    template_class = _Template

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        for tag in TAGS:
            self.add_tag(tag)
        for name in ("include", "render"):  # there are no other templates to load
            del self.tags[name]
        self.add_filter("replace", _bounded_replace)

    def error(self, exc: Any, msg: str | None = None, token: Token | None = None) -> None:
        """Collect the error while ``check_template`` runs; otherwise raise it."""
        problems = _PROBLEMS.get()
        if problems is None:
            return super().error(exc, msg, token)
        error = exc if isinstance(exc, LiquidError) else exc(msg, token=token)
        error.token = error.token or token
        problems.append(_problem(error))


_TEXT = _Environment()
_HTML = _Environment(autoescape=True)


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _parse(source: str, html: bool) -> BoundTemplate:
    with _template_errors():
        return (_HTML if html else _TEXT).from_string(source)


@contextmanager
def _template_errors() -> Iterator[None]:
    try:
        yield
    except LiquidError as err:
        raise TemplateError(_problem(err)) from err
    except ValueError as err:  # from Python itself, e.g. an integer too long to write out
        raise TemplateError(TemplateProblem(str(err))) from err


def _problem(error: LiquidError) -> TemplateProblem:
    message = str(error.message)
    if hint := _LIMIT_HINTS.get(type(error)):
        message = f"{message}: {hint}"
    try:
        position = error.context()
    except ValueError:  # a token past the end of the source
        position = None
    if position is None:
        return TemplateProblem(message)
    return TemplateProblem(message, line=position[0], column=position[1] + 1)


# --- Rendering ------------------------------------------------------------------------------


def render_text(source: str, scope: Mapping[str, Any]) -> Rendered:
    """Render a template to text."""
    return _render(source, scope, html=False)


def render_html(source: str, scope: Mapping[str, Any]) -> Rendered:
    """Render a template to HTML: every ``{{ output }}`` is escaped, the template's own text
    (and string literals written in it) is not."""
    return _render(source, scope, html=True)


def render_value(source: str, scope: Mapping[str, Any], undefined: Any = None) -> Rendered:
    """Render a template that is one ``{{ expression }}`` to the value itself.

    Whitespace around it is allowed. The value keeps its JSON type (object, array, number,
    boolean; ``undefined``, null by default, for an undefined variable); any other template
    renders as text.
    """
    template = None if _is_plain(source) else _parse(source, False)
    expression = template and _lone_expression(template)
    if not template or not expression:
        return render_text(source, scope)
    context = _new_context(template, scope)
    with _template_errors():
        value = expression.evaluate(context)
    if isinstance(value, Undefined):
        return _rendered(undefined, context)
    return _rendered(_json_value(value), context)


def render_json(data: Any, scope: Mapping[str, Any]) -> Rendered:
    """Render every string in JSON data with ``render_value`` and every key as text.

    Each leaf is rendered on its own, so a quote or a brace in a value cannot break the
    JSON or inject keys. Other leaves pass through unchanged.
    """
    warnings: dict[str, None] = {}
    masked: set[str] = set()

    def rendered(render: Callable[[str, Mapping[str, Any]], Rendered], text: str) -> Any:
        result = render(text, scope)
        warnings.update(dict.fromkeys(result.warnings))
        masked.update(result.masked)
        return result.value

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return rendered(render_value, node)
        if isinstance(node, dict):
            return {rendered(render_text, str(key)): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return Rendered(walk(data), list(warnings), masked)


def check_template(source: str) -> list[TemplateProblem]:
    """Return the template's syntax problems, with line and column; [] when it is fine."""
    try:
        _parse(source, False)  # most templates are fine: parse once, and keep it for later
        return []
    except TemplateError:
        pass
    problems: list[TemplateProblem] = []
    collecting = _PROBLEMS.set(problems)
    try:
        _TEXT.from_string(source)  # not _parse: a template with problems must not be cached
    except LiquidError as err:
        problems.append(_problem(err))
    finally:
        _PROBLEMS.reset(collecting)
    return problems


def referenced_variables(source: str) -> set[str]:
    """Return the dotted paths a template reads from its scope (best effort).

    Names the template assigns itself and loop variables are left out, and so is a
    template that does not parse.
    """
    return {".".join(segments) for _, segments in variable_locations(source)}


def variable_locations(source: str) -> list[tuple[int, list[str]]]:
    """Where each variable a template reads starts, with its path segments (best effort)."""
    try:
        template = _parse(source, False)
    except TemplateError:
        return []
    analysis = template.analyze(include_partials=False)
    return sorted(
        (variable.span.index, [str(part) for part in variable.segments])
        for variables in analysis.globals.values()
        for variable in variables
    )


def _render(source: str, scope: Mapping[str, Any], *, html: bool) -> Rendered:
    if _is_plain(source):
        return Rendered(source, [], set())
    template = _parse(source, html)
    context = _new_context(template, scope)
    buffer = LimitedStringIO(limit=OUTPUT_STREAM_LIMIT)
    with _template_errors():
        template.render_with_context(context, buffer)
    return _rendered(str(buffer.getvalue()), context)


def _is_plain(source: str) -> bool:
    return "{{" not in source and "{%" not in source


def _new_context(template: BoundTemplate, scope: Mapping[str, Any]) -> _RenderContext:
    return _RenderContext(template, globals=template.make_globals(scope))


def _rendered(value: Any, context: _RenderContext) -> Rendered:
    warnings = [f"{path} is undefined" for path in context.undefined_paths]
    return Rendered(value, warnings, context.masked)


def _lone_expression(template: BoundTemplate) -> Expression | None:
    nodes = [n for n in template.nodes if not (isinstance(n, ContentNode) and n.blank)]
    if len(nodes) == 1 and isinstance(nodes[0], OutputNode) and nodes[0].token.kind == TOKEN_OUTPUT:
        return nodes[0].expression
    return None


def _json_value(value: object) -> Any:
    value = plain_value(value)
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return to_string(value)


def _dotted(path: list[object]) -> str:
    text = str(path[0])
    for segment in path[1:]:
        if isinstance(segment, str) and _PROPERTY.fullmatch(segment):
            text += f".{segment}"
        else:  # an index, an odd key, or a nested variable that was itself undefined
            text += f"[{segment!r}]" if isinstance(segment, str | int) else "[?]"
    return text
