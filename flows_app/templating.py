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
are replaced by versions that read Sluice's expression grammar), not done by rewriting
template text. Templates are parsed once and cached; rendering is bounded by the limits
below. Text output writes ``null`` as "", booleans as true/false, objects and arrays as
JSON, and whole floats without ".0", as JavaScript and ``functions.toString`` do.
"""

import inspect
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from liquid import BoundTemplate, Environment, Markup, RenderContext, TokenStream, Undefined, escape
from liquid.ast import ConditionalBlockNode
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import (
    BooleanExpression,
    Filter,
    FilteredExpression,
    KeywordArgument,
    Path,
    PositionalArgument,
    parse_identifier,
    parse_primitive,
)
from liquid.builtin.expressions.logical import (
    PRECEDENCE_LOWEST,
    PRECEDENCES,
    ContainsExpression,
    EqExpression,
    GeExpression,
    GtExpression,
    LeExpression,
    LogicalAndExpression,
    LogicalOrExpression,
    LtExpression,
    NeExpression,
)
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.builtin.filters.string import replace as liquid_replace
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.assign_tag import AssignTag
from liquid.builtin.tags.if_tag import IfTag
from liquid.builtin.tags.unless_tag import UnlessTag
from liquid.exceptions import (
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LiquidSyntaxError,
    LiquidTypeError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.expression import Expression
from liquid.output import LimitedStringIO
from liquid.parser import get_parser
from liquid.tag import Tag
from liquid.token import (
    TOKEN_ASSIGN,
    TOKEN_COLON,
    TOKEN_COMMA,
    TOKEN_DOT,
    TOKEN_EOF,
    TOKEN_EXPRESSION,
    TOKEN_FLOAT,
    TOKEN_IDENTINDEX,
    TOKEN_IDENTSTRING,
    TOKEN_ILLEGAL,
    TOKEN_INTEGER,
    TOKEN_LBRACKET,
    TOKEN_LPAREN,
    TOKEN_OUTPUT,
    TOKEN_PIPE,
    TOKEN_RANGE,
    TOKEN_RANGE_LITERAL,
    TOKEN_RBRACKET,
    TOKEN_RPAREN,
    TOKEN_SKIP,
    TOKEN_STRING,
    TOKEN_TAG,
    TOKEN_WORD,
    Token,
    operators,
)
from liquid.undefined import UNDEFINED

from flows_app.liquid_functions import FUNCTIONS, check_replacement_size, to_string

__all__ = [
    "FUNCTIONS",
    "Rendered",
    "TemplateError",
    "TemplateProblem",
    "check_template",
    "referenced_variables",
    "render_html",
    "render_json",
    "render_text",
    "render_value",
]

LOOP_ITERATION_LIMIT = 10_000
"""Loop iterations per render, nested loops multiplied (also the longest range literal)."""
OUTPUT_STREAM_LIMIT = 1_000_000
"""Bytes (UTF-8) one render may write, ``capture`` blocks included."""
LOCAL_NAMESPACE_LIMIT = 1_000_000
"""Bytes, by ``sys.getsizeof``, of the values ``assign`` and ``capture`` keep."""
CONTEXT_DEPTH_LIMIT = 30
"""Scopes a render may nest (loops inside loops); python-liquid's default."""
RENDER_CPU_SECONDS = 2.0
"""CPU time one render may take, checked whenever it reads or assigns a variable."""
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


# --- Tokens: Liquid's, plus `??` and the parentheses of a call -------------------------------

TOKEN_NULLISH = "nullish"
_KEYWORDS = frozenset(("true", "false", "nil", "null", "empty", "blank", "and", "or", "contains"))
_PATH_ENDS = frozenset((TOKEN_WORD, TOKEN_IDENTSTRING, TOKEN_IDENTINDEX, TOKEN_RBRACKET))
_TOKEN_RULES = (
    (TOKEN_RANGE_LITERAL, r"\((?=.+?\.\.)"),
    (TOKEN_IDENTINDEX, r"\[\s*(?P<index>-?\d+)\s*]"),
    (TOKEN_IDENTSTRING, r"\[\s*(?P<keyquote>[\"'])(?P<key>.*?)(?P=keyquote)\s*]"),
    (TOKEN_STRING, r"(?P<quote>[\"'])(?P<text>.*?)(?P=quote)"),
    (TOKEN_RANGE, r"\.\."),
    (TOKEN_FLOAT, r"-?\d+\.(?!\.)\d*"),
    (TOKEN_INTEGER, r"-?\d+\b"),
    (TOKEN_DOT, r"\."),
    (TOKEN_WORD, r"\w[\w\-]*(?:\?(?!\?))?"),  # Liquid allows a trailing ?, but not of ??
    (TOKEN_NULLISH, r"\?\?"),
    (TOKEN_LPAREN, r"\("),
    (TOKEN_RPAREN, r"\)"),
    (TOKEN_LBRACKET, r"\["),
    (TOKEN_RBRACKET, r"]"),
    (TOKEN_COLON, r":"),
    (TOKEN_COMMA, r","),
    (TOKEN_PIPE, r"\|"),
    ("operator", r"[!=<>]{1,2}"),
    (TOKEN_SKIP, r"\s+"),
    (TOKEN_ILLEGAL, r"."),
)
_TOKEN_PATTERN = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _TOKEN_RULES), re.DOTALL)
_PROPERTY = re.compile(r"\w[\w-]*")
_TOKEN_VALUES = {TOKEN_IDENTINDEX: "index", TOKEN_IDENTSTRING: "key", TOKEN_STRING: "text"}


def tokenize_expression(expression: Token) -> Iterator[Token]:
    """Split the text of an expression token into tokens located in the template source."""
    previous = ""
    for match in _TOKEN_PATTERN.finditer(expression.value):
        kind, value = _token_kind(match, previous), match.group()
        token = Token(kind, value, expression.start_index + match.start(), expression.source)
        if kind == TOKEN_ILLEGAL:
            raise LiquidSyntaxError(f"unexpected {value!r}", token=token)
        if kind == "operator":
            raise LiquidSyntaxError(f"unknown operator {value!r}", token=token)
        if kind != TOKEN_SKIP:
            yield token._replace(value=match.group(_TOKEN_VALUES.get(kind, 0)))
        previous = kind


def _token_kind(match: re.Match[str], previous: str) -> str:
    kind, value = str(match.lastgroup), match.group()
    if kind == TOKEN_WORD and value in _KEYWORDS and previous != TOKEN_DOT:
        return value  # after a dot it names a property: fields.empty, vars.and
    if kind == "operator":
        return operators.get(value, kind)
    if kind == TOKEN_RANGE_LITERAL and previous in _PATH_ENDS:
        return TOKEN_LPAREN  # the parenthesis of a call, not the start of a range
    return kind


# --- Expressions: the grammar Sluice adds to Liquid's -------------------------------------


class FunctionCall(Expression):
    """A call to one of the ``functions.*`` helpers."""

    __slots__ = ("name", "arguments")

    def __init__(self, token: Token, name: str, arguments: list[Expression]):
        super().__init__(token)
        self.name = name
        self.arguments = arguments

    def __str__(self) -> str:
        return f"functions.{self.name}({', '.join(map(str, self.arguments))})"

    def evaluate(self, context: RenderContext) -> object:
        arguments = [_plain(argument.evaluate(context)) for argument in self.arguments]
        try:
            result = FUNCTIONS[self.name](*arguments)
        except (TypeError, ValueError, ArithmeticError) as err:
            raise LiquidTypeError(f"functions.{self.name}: {err}", token=self.token) from err
        if self.name == "mask" and isinstance(context, _RenderContext):
            context.masked.update(text for text in _texts_of(result) if text)
        return result

    def children(self) -> list[Expression]:
        return list(self.arguments)


class NullishExpression(Expression):
    """``a ?? b ?? c``: the first operand that is defined and not null."""

    __slots__ = ("operands",)

    def __init__(self, token: Token, operands: list[Expression]):
        super().__init__(token)
        self.operands = operands

    def __str__(self) -> str:
        return " ?? ".join(map(str, self.operands))

    def evaluate(self, context: RenderContext) -> object:
        for operand in self.operands[:-1]:
            value = _evaluate_quietly(operand, context)
            if value is not None and not isinstance(value, Undefined):
                return value
        return self.operands[-1].evaluate(context)

    def children(self) -> list[Expression]:
        return list(self.operands)


class BoundedRange(RangeLiteral):
    """A range literal no longer than the loop limit, so ``(1..1e9) | join`` cannot run."""

    __slots__ = ()

    def evaluate(self, context: RenderContext) -> range:
        numbers = super().evaluate(context)
        if numbers.stop - numbers.start > LOOP_ITERATION_LIMIT:
            raise LoopIterationLimitError("range too long", token=self.token)
        return numbers


def _evaluate_quietly(expression: Expression, context: RenderContext) -> object:
    """Evaluate, reading a missing variable as None without warning about it."""
    if not isinstance(expression, Path):
        return expression.evaluate(context)
    segments = [s.evaluate(context) if isinstance(s, Path) else s for s in expression.path]
    return context.get(segments, token=expression.token, default=None)


def _texts_of(value: Any) -> Iterator[str]:
    """Yield the text of a masked value and of everything inside it."""
    yield to_string(value)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for child in value:
            yield from _texts_of(child)


# --- Parsing -------------------------------------------------------------------------------

# Keys are Liquid's token kinds for the operators, as in liquid.token.
_INFIX_OPERATORS: dict[str, Callable[[Token, Expression, Expression], Expression]] = {
    "eq": EqExpression,
    "ne": NeExpression,
    "ltgt": NeExpression,
    "lt": LtExpression,
    "gt": GtExpression,
    "le": LeExpression,
    "ge": GeExpression,
    "contains": ContainsExpression,
    "and": LogicalAndExpression,
    "or": LogicalOrExpression,
}
_PATH_STARTS = frozenset((TOKEN_WORD, TOKEN_IDENTSTRING, TOKEN_LBRACKET))


class ExpressionStream(TokenStream):
    """The tokens of one expression; its end is located just after the expression."""

    def __init__(self, expression: Token):
        super().__init__(tokenize_expression(expression))
        end = expression.start_index + len(expression.value)
        self.eof = Token(TOKEN_EOF, TOKEN_EOF, end, expression.source)


def _expression_stream(stream: TokenStream, tag: Token, *, eat: bool = True) -> ExpressionStream:
    token = stream.current
    if token.kind != TOKEN_EXPRESSION:
        raise LiquidSyntaxError("missing expression", token=tag)
    if eat:
        next(stream)
    return ExpressionStream(token)


def parse_filtered(env: Environment, tokens: TokenStream) -> FilteredExpression:
    """Parse ``operand ?? operand | filter: argument, ...`` to the end of the stream."""
    left = parse_nullish(env, tokens)
    filters = _parse_filters(env, tokens)
    tokens.eat(TOKEN_EOF)
    return FilteredExpression(left.token, left, filters)


def parse_condition(env: Environment, tokens: TokenStream) -> BooleanExpression:
    """Parse the condition of ``if``, ``elsif`` or ``unless`` to the end of the stream."""
    expression = _parse_infix(env, tokens, PRECEDENCE_LOWEST)
    tokens.eat(TOKEN_EOF)
    return BooleanExpression(expression.token, expression)


def _parse_infix(env: Environment, tokens: TokenStream, precedence: int) -> Expression:
    # Same precedence and right-to-left grouping of and/or as Liquid's own parser.
    left = parse_nullish(env, tokens)
    while (kind := tokens.current.kind) in _INFIX_OPERATORS and PRECEDENCES[kind] >= precedence:
        operator = next(tokens)
        right = _parse_infix(env, tokens, PRECEDENCES[kind])
        left = _INFIX_OPERATORS[kind](operator, left, right)
    return left


def parse_nullish(env: Environment, tokens: TokenStream) -> Expression:
    """Parse one operand, or several joined by ``??``."""
    operands = [_parse_operand(env, tokens)]
    while tokens.current.kind == TOKEN_NULLISH:
        next(tokens)
        operands.append(_parse_operand(env, tokens))
    if len(operands) == 1:
        return operands[0]
    return NullishExpression(operands[0].token, operands)


def _parse_operand(env: Environment, tokens: TokenStream) -> Expression:
    kind = tokens.current.kind
    if kind == TOKEN_RANGE_LITERAL:
        return _parse_range(env, tokens)
    if kind not in _PATH_STARTS:
        return parse_primitive(env, tokens)
    path = Path.parse(env, tokens)
    if tokens.current.kind == TOKEN_LPAREN:
        return _parse_call(env, tokens, path)
    if path.head() == "functions":
        raise LiquidSyntaxError(f"'{path}' is a function: call it as {path}(...)", token=path.token)
    return path


def _parse_range(env: Environment, tokens: TokenStream) -> BoundedRange:
    token = tokens.eat(TOKEN_RANGE_LITERAL)
    start = parse_nullish(env, tokens)
    tokens.eat(TOKEN_RANGE)
    stop = parse_nullish(env, tokens)
    tokens.eat(TOKEN_RPAREN)
    return BoundedRange(token, start, stop)


def _parse_call(env: Environment, tokens: TokenStream, path: Path) -> FunctionCall:
    name = _function_name(path)
    tokens.eat(TOKEN_LPAREN)
    arguments: list[Expression] = []
    while tokens.current.kind != TOKEN_RPAREN:
        arguments.append(parse_nullish(env, tokens))
        if tokens.current.kind != TOKEN_COMMA:
            break
        next(tokens)
    tokens.eat(TOKEN_RPAREN)
    try:
        _signature(name).bind(*arguments)
    except TypeError as err:
        raise LiquidSyntaxError(f"functions.{name}: {err}", token=path.token) from None
    return FunctionCall(path.token, name, arguments)


def _function_name(path: Path) -> str:
    if path.head() != "functions":
        raise LiquidSyntaxError(f"only functions.* can be called, not '{path}'", token=path.token)
    name = path.path[1] if len(path.path) == 2 else None
    if not isinstance(name, str) or name not in FUNCTIONS:
        raise LiquidSyntaxError(f"unknown function '{path}'", token=path.token)
    return name


@cache
def _signature(name: str) -> inspect.Signature:
    return inspect.signature(FUNCTIONS[name])


def _parse_filters(env: Environment, tokens: TokenStream) -> list[Filter]:
    filters = []
    while tokens.current.kind == TOKEN_PIPE:
        next(tokens)
        name = tokens.eat(TOKEN_WORD)
        if name.value not in env.filters:
            raise LiquidSyntaxError(f"unknown filter '{name.value}'", token=name)
        arguments = []
        if tokens.current.kind == TOKEN_COLON:
            next(tokens)
            arguments.append(_parse_filter_argument(env, tokens))
            while tokens.current.kind == TOKEN_COMMA:
                next(tokens)
                arguments.append(_parse_filter_argument(env, tokens))
        filters.append(Filter(name, name.value, arguments))
    return filters


def _parse_filter_argument(
    env: Environment, tokens: TokenStream
) -> KeywordArgument | PositionalArgument:
    token = tokens.current
    if token.kind == TOKEN_WORD and tokens.peek.kind == TOKEN_COLON:
        next(tokens)
        next(tokens)
        return KeywordArgument(token, token.value, parse_nullish(env, tokens))
    return PositionalArgument(parse_nullish(env, tokens))


# --- Tags that read Sluice's expressions ----------------------------------------------------


class SluiceOutputNode(OutputNode):
    """``{{ expression }}``, written out as JavaScript would write the value."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: Any) -> int:
        return buffer.write(_output_text(self.expression.evaluate(context), context.autoescape))


class SluiceOutput(Output):
    """The output statement's pseudo tag, replaced so ``{{ }}`` reads Sluice's grammar."""

    node_class = SluiceOutputNode

    def parse(self, stream: TokenStream) -> OutputNode:
        token = stream.eat(TOKEN_OUTPUT)
        expression = stream.expect(TOKEN_EXPRESSION)
        return self.node_class(token, parse_filtered(self.env, ExpressionStream(expression)))


class SluiceEcho(Tag):
    """``{% echo expression %}``, for ``{% liquid %}`` blocks."""

    name = "echo"
    block = False

    def parse(self, stream: TokenStream) -> OutputNode:
        token = stream.eat(TOKEN_TAG)
        tokens = _expression_stream(stream, token, eat=False)
        return SluiceOutputNode(token, parse_filtered(self.env, tokens))


class SluiceAssign(AssignTag):
    """``{% assign name = expression %}``."""

    def parse(self, stream: TokenStream) -> Any:
        token = stream.eat(TOKEN_TAG)
        tokens = _expression_stream(stream, token, eat=False)
        name = parse_identifier(self.env, tokens, allow_trailing_question_mark=False)
        tokens.eat(TOKEN_ASSIGN)
        return self.node_class(token, name=name, expression=parse_filtered(self.env, tokens))


class SluiceIf(IfTag):
    """``{% if %}`` with ``elsif`` and ``else`` branches."""

    def parse(self, stream: TokenStream) -> Any:
        return _parse_conditional(self, stream, "endif")


class SluiceUnless(UnlessTag):
    """``{% unless %}`` with ``elsif`` and ``else`` branches."""

    def parse(self, stream: TokenStream) -> Any:
        return _parse_conditional(self, stream, "endunless")


def _parse_conditional(tag: IfTag | UnlessTag, stream: TokenStream, end: str) -> Any:
    token = stream.eat(TOKEN_TAG)
    condition = parse_condition(tag.env, _expression_stream(stream, token))
    parse_block = get_parser(tag.env).parse_block
    branch_ends = (end, "elsif", "else")
    consequence = parse_block(stream, branch_ends)
    alternatives = []
    while stream.current.is_tag("elsif"):
        expression = parse_condition(tag.env, _expression_stream(stream, next(stream)))
        block_token = stream.current
        block = parse_block(stream, branch_ends)
        alternatives.append(ConditionalBlockNode(block_token, expression=expression, block=block))
    default = _parse_else(tag, stream, end) if stream.current.is_tag("else") else None
    if stream.current.kind == TOKEN_EOF:
        raise LiquidSyntaxError(f"missing {{% {end} %}}", token=token)
    stream.expect(TOKEN_TAG, value=end)
    return tag.node_class(token, condition, consequence, alternatives, default)


def _parse_else(tag: Tag, stream: TokenStream, end: str) -> Any:
    next(stream)
    if stream.current.kind == TOKEN_EXPRESSION:
        raise LiquidSyntaxError("'else' takes no condition; use 'elsif'", token=stream.current)
    return get_parser(tag.env).parse_block(stream, (end,))


def _bounded_replace(value: object, pattern: object, replacement: object = "") -> str:
    """Liquid's ``replace`` filter, refusing to build an oversized string."""
    try:
        check_replacement_size(to_string(value), to_string(pattern), to_string(replacement))
    except ValueError as err:
        raise FilterArgumentError(f"replace: {err}", token=None) from err
    return liquid_replace(value, pattern, replacement)


# --- The environment ------------------------------------------------------------------------

_PROBLEMS: ContextVar[list[TemplateProblem] | None] = ContextVar("_PROBLEMS", default=None)


class _RenderContext(RenderContext):
    """A render context that notes undefined variables and masked values, and keeps time."""

    __slots__ = ("undefined_paths", "masked", "deadline")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.undefined_paths: dict[str, None] = {}
        self.masked: set[str] = set()
        self.deadline = time.thread_time() + RENDER_CPU_SECONDS

    def get(
        self, path: list[object], *, token: Token | None, default: object = UNDEFINED
    ) -> object:
        self._check_time(token)
        value = super().get(path, token=token, default=default)
        if default is UNDEFINED and isinstance(value, Undefined):
            self.undefined_paths[_dotted(path)] = None
        return value

    def assign(self, key: str, val: Any) -> None:
        self._check_time(None)
        super().assign(key, val)

    def _check_time(self, token: Token | None) -> None:
        # Loops and sizes are bounded, but 10,000 loops over a big value can still be slow.
        if time.thread_time() > self.deadline:
            message = f"render time limit reached: {RENDER_CPU_SECONDS:g} seconds of CPU"
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
        for tag in (SluiceOutput, SluiceEcho, SluiceAssign, SluiceIf, SluiceUnless):
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


def render_value(source: str, scope: Mapping[str, Any]) -> Rendered:
    """Render a template that is one ``{{ expression }}`` to the value itself.

    Whitespace around it is allowed. The value keeps its JSON type (object, array, number,
    boolean, null for undefined); any other template renders as text.
    """
    template = None if _is_plain(source) else _parse(source, False)
    expression = template and _lone_expression(template)
    if not template or not expression:
        return render_text(source, scope)
    context = _new_context(template, scope)
    with _template_errors():
        value = expression.evaluate(context)
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
    try:
        template = _parse(source, False)
    except TemplateError:
        return set()
    analysis = template.analyze(include_partials=False)
    return {str(variable) for variables in analysis.globals.values() for variable in variables}


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


def _plain(value: object) -> object:
    """Turn Liquid's own kinds of value into plain Python ones for the helpers."""
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, range | tuple):
        return list(value)
    return value


def _json_value(value: object) -> Any:
    value = _plain(value)
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return to_string(value)


def _output_text(value: object, autoescape: bool) -> str:
    if autoescape and hasattr(value, "__html__"):
        return str(value.__html__())
    text = to_string(_plain(value))
    return str(escape(text)) if autoescape else text


def _dotted(path: list[object]) -> str:
    text = str(path[0])
    for segment in path[1:]:
        if isinstance(segment, str) and _PROPERTY.fullmatch(segment):
            text += f".{segment}"
        else:  # an index, an odd key, or a nested variable that was itself undefined
            text += f"[{segment!r}]" if isinstance(segment, str | int) else "[?]"
    return text
