"""Sluice's expression grammar for Liquid, and the tags that read it.

Auth0 adds two things to Liquid's expressions: calls to the ``functions.*`` helpers
(``functions.encodeURIComponent(context.user.user_id)``) and the nullish operator
``fields.foo ?? fields.bar``. Liquid's output statement and its ``assign``, ``echo``,
``if`` and ``unless`` tags are replaced by versions that parse this grammar; the
environment that installs them is in ``flows_app.templating``.
"""

import inspect
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from liquid import Environment, Markup, RenderContext, TokenStream, Undefined, escape
from liquid.ast import ConditionalBlockNode
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
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.assign_tag import AssignTag
from liquid.builtin.tags.if_tag import IfTag
from liquid.builtin.tags.unless_tag import UnlessTag
from liquid.exceptions import LiquidSyntaxError, LiquidTypeError, LoopIterationLimitError
from liquid.expression import Expression
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

from flows_app.liquid_functions import FUNCTIONS, to_string

LOOP_ITERATION_LIMIT = 10_000
"""Loop iterations per render, nested loops multiplied (also the longest range literal)."""


class MaskRecordingContext(RenderContext):
    """A render context that keeps the text of every value given to ``functions.mask``."""

    __slots__ = ("masked",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.masked: set[str] = set()

    def check_time(self, token: Token | None) -> None:
        """Raise a ResourceLimitError once the render's CPU time is up (templating's)."""


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
        arguments = [plain_value(argument.evaluate(context)) for argument in self.arguments]
        if isinstance(context, MaskRecordingContext):
            context.check_time(self.token)
        try:
            result = FUNCTIONS[self.name](*arguments)
        except (TypeError, ValueError, ArithmeticError) as err:
            raise LiquidTypeError(f"functions.{self.name}: {err}", token=self.token) from err
        if self.name == "mask" and isinstance(context, MaskRecordingContext):
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


TAGS = (SluiceOutput, SluiceEcho, SluiceAssign, SluiceIf, SluiceUnless)
"""The tags that take the place of Liquid's own, the output statement's pseudo tag included."""


# --- Values ----------------------------------------------------------------------------------


def plain_value(value: object) -> object:
    """Turn Liquid's own kinds of value into plain Python ones for the helpers."""
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, range | tuple):
        return list(value)
    return value


def _output_text(value: object, autoescape: bool) -> str:
    if autoescape and hasattr(value, "__html__"):
        return str(value.__html__())
    text = to_string(plain_value(value))
    return str(escape(text)) if autoescape else text
