"""Shell extraction: every simple command in a bash/sh/zsh text, as Tokens with file positions.

tree-sitter-bash parses (error-tolerant, never raises); this module walks the tree in document
order, tracking the variables and arrays the text assigns (``shell_words``), and emits one
:class:`Command` per simple command outside ``$(...)``.  Strings run by ``eval`` or
``bash -c`` are re-parsed with their positions mapped back into the file.  Broken and dangling
line continuations are found by ``shell_breaks`` afterwards; the orphaned flag lines they
create are reported there and dropped from the commands.

Embedded snippets (Markdown fences, YAML block scalars) pass a :class:`RowMap`.  Positions
inside a re-parsed *double-quoted* string are exact only when the string holds no escapes
before the position (an escape shifts later columns on that row by one).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from hicachectl.lint.extract.common import RowMap, hash_comment_suppressions
from hicachectl.lint.extract.shell_assign import Assignments
from hicachectl.lint.extract.shell_syntax import SyntaxHelpers, hide_placeholders, is_vague
from hicachectl.lint.extract.shell_words import Vars, expand_string, expand_word_origins
from hicachectl.lint.types import Command, Finding, HostFormat, Span, Suppression, Token

_PARSER = None
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SKIP_ARGS = frozenset(
    {"file_redirect", "heredoc_redirect", "herestring_redirect", "comment", "heredoc_body"}
)
_NO_DESCEND = frozenset(
    {
        "command_substitution",
        "process_substitution",
        "heredoc_body",
        "comment",
        "string",
        "raw_string",
        "word",
        "arithmetic_expansion",
        "test_command",
    }
)
# Blocks whose assignments are not certain to happen (or, for subshells, to persist).
_SCOPES = frozenset(
    {
        "if_statement",
        "case_statement",
        "while_statement",
        "for_statement",
        "c_style_for_statement",
        "function_definition",
        "list",
        "subshell",
        "pipeline",
    }
)
_DECL = frozenset({"export", "declare", "typeset", "local", "readonly"})
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_NESTING = _SHELLS | {"eval"}
_MAX_TOKENS = 20_000  # words in one command after expansion
_MAX_NESTING = 4  # eval inside bash -c inside eval ...


def parser():
    """The tree-sitter-bash parser, created once on first use (import cost stays off the CLI)."""
    global _PARSER
    if _PARSER is None:
        import tree_sitter_bash
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(tree_sitter_bash.language()))
    return _PARSER


@dataclass(slots=True)
class ShellResult:
    commands: list[Command] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    file_env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Walker(Assignments, SyntaxHelpers):
    def __init__(
        self,
        text: str,
        path: str,
        rowmap: RowMap,
        host_format: HostFormat,
        group: str,
        vars: Vars,
        result: ShellResult,
        depth: int,
    ) -> None:
        self.text, self.path, self.rowmap = text, path, rowmap
        self.host_format, self.group, self.vars = host_format, group, vars
        self.result, self.depth = result, depth
        self.exported_names: set[str] = set()  # names ever exported (scan only these)
        self.syntax_notes = True
        # tree-sitter-bash 0.25's external scanner reads out of bounds (SIGSEGV, or silent
        # corruption) on some non-ASCII code points.  Bash gives meaning only to ASCII, so
        # tree-sitter parses a copy where every non-ASCII character is 'x': the word
        # boundaries are the same, byte offsets equal character offsets, and each word's
        # text is sliced from the original.
        data = text if text.isascii() else _NON_ASCII.sub("x", text)
        self.data = hide_placeholders(data).encode("ascii")
        # command node id -> words tree-sitter put inside a redirection (`cmd >log --tp 2`)
        self.redirect_args: dict[int, list] = {}
        self.fast = isinstance(rowmap, RowMap) and not rowmap.rows
        # (command, start_row, end_row) in snippet rows, for shell_breaks
        self.placed: list[tuple[Command, int, int]] = []
        # end row -> name of plain `NAME=value` statements (for `X=1 \<space>` breaks)
        self.assign_rows: dict[int, str] = {}

    # -- positions -------------------------------------------------------------------------
    def span(self, node):
        (sr, sc), (er, ec) = node.start_point, node.end_point
        if self.fast:  # the common case: a whole file, no row map
            if (er, max(ec, 1)) < (sr, sc + 1):
                return Span(sr + 1, sc + 1, sr + 1, sc + 1)
            return Span(sr + 1, sc + 1, er + 1, max(ec, 1))
        return self.rowmap.span(sr, sc, er, ec)

    # -- walk ------------------------------------------------------------------------------
    def run(self) -> None:
        tree = parser().parse(self.data)
        if tree.root_node.has_error and self.depth == 0 and self.syntax_notes:
            self._syntax_note(tree.root_node)
        # entries: (node, background) or (None, scope kind, variables before the scope)
        stack: list = [(tree.root_node, False)]
        while stack:
            item = stack.pop()
            node = item[0]
            if node is None:  # leaving a conditional block or a subshell
                self._leave(item[1], item[2])
                continue
            bg = item[1]
            t = node.type
            if t == "command":
                self._command(node, bg)
            elif t == "redirected_statement":
                self._redirect_args(node)
                stack.extend((c, bg) for c in reversed(node.children))
            elif t == "variable_assignment":
                if not self._valid_name(node):  # a flag line on its own: `--tp=2`
                    self._emit(node, [node], {}, {}, bg)
                    continue
                self._assign(node, export=False)
                self.assign_rows[node.end_point[0]] = self._raw(node).split("=", 1)[0]
            elif t == "declaration_command":
                self._declaration(node)
            elif t == "unset_command":
                for child in node.named_children:
                    if child.type == "variable_name":
                        self.vars.values.pop(self._raw(child), None)
            elif t == "heredoc_redirect":
                if self.depth < _MAX_NESTING:
                    from hicachectl.lint.extract.shell_nested import run_heredoc

                    run_heredoc(self, node)
            elif t not in _NO_DESCEND:
                if t in _SCOPES:
                    stack.append((None, t, dict(self.vars.values)))
                if t == "function_definition":
                    bg = False  # defining a function runs nothing
                # `a && b &`, `( … ) &`: a statement followed by `&` runs in the background
                # with everything inside it.  (Computed here, not via node.parent, which
                # tree-sitter resolves from the root: quadratic on deeply nested scripts.)
                children = node.children
                n = len(children)
                for k in range(n - 1, -1, -1):
                    child = children[k]
                    amp = k + 1 < n and children[k + 1].type == "&"
                    stack.append((child, bg or amp))

    def _raw(self, node) -> str:
        return self.text[node.start_byte : node.end_byte]

    def _command(self, node, background: bool = False) -> None:
        env: dict[str, str] = {}
        env_spans = {}
        words = []
        for child in node.children:
            t = child.type
            if child.start_byte == child.end_byte:
                continue  # a MISSING node tree-sitter inserted to recover
            if t == "variable_assignment" and not words and not self._valid_name(child):
                words.append(child)
            elif t == "variable_assignment" and not words:
                name_node = child.child_by_field_name("name")
                value = child.child_by_field_name("value")
                if name_node is None:
                    continue
                raw = self._raw(value) if value is not None else ""
                text, known = expand_string(raw, self.vars)
                name = self._raw(name_node)
                env[name] = text if known else raw
                env_spans[name] = self.span(child)
            elif t == "command_name" or (words and t not in _SKIP_ARGS and child.is_named):
                words.append(child)
        if words and self.redirect_args:
            words.extend(self.redirect_args.pop(node.id, ()))
        self._emit(node, words, env, env_spans, background)

    def _emit(self, node, words: list, env: dict, env_spans: dict, background: bool) -> None:
        """One Command from the word nodes of ``node``."""
        if not words:
            return
        tokens: list[Token] = []
        for w in words:
            raw = self._raw(w)
            sp = self.span(w)
            # A placeholder or an ellipsis stands for values the text does not give.
            vague = is_vague(raw)
            for text, known, origin in expand_word_origins(raw, self.vars):
                tokens.append(Token(text, sp, raw, known and not vague, origin))
            if len(tokens) > _MAX_TOKENS:
                self.result.notes.append(
                    f"{self.path}:{sp.line}: command expands to more than {_MAX_TOKENS} words; "
                    "the rest was not read"
                )
                break
        if not tokens:
            return
        prog = posixpath.basename(tokens[0].text)
        if self.depth < _MAX_NESTING and prog in _NESTING:
            from hicachectl.lint.extract.shell_nested import run_nested

            if run_nested(self, prog, tokens, words, env, background):
                return
        if prog == "env":
            for tok in tokens[1:]:
                if "=" in tok.text and not tok.text.startswith("-"):
                    k, _, v = tok.text.partition("=")
                    env[k] = v
                    env_spans[k] = tok.span
                elif not tok.text.startswith("-"):
                    break
        cmd = Command(
            path=self.path,
            host_format=self.host_format,
            tokens=tokens,
            span=self.span(node),
            env=env,
            env_spans=env_spans,
            background=background,
            group=self.group,
        )
        if self.depth:
            cmd.context["nested_depth"] = self.depth
        if self.exported_names:
            # Kept apart from env (prefixes, `env`): rules that want inherited variables
            # (HC513) read them here, with where they were exported.
            exported = self.exported_env()
            if exported:
                cmd.context["exported_env"] = exported
        self.result.commands.append(cmd)
        self.placed.append((cmd, node.start_point[0], node.end_point[0]))


def extract_shell(
    text: str,
    path: str,
    *,
    rowmap: RowMap | None = None,
    host_format: HostFormat = "shell",
    group: str | None = None,
    vars: Vars | None = None,
    suppressions: bool = True,
    syntax_notes: bool = True,
) -> ShellResult:
    """All simple commands in ``text``; positions mapped through ``rowmap`` into ``path``."""
    from hicachectl.lint.extract.shell_breaks import find_breaks

    result = ShellResult()
    walker = _Walker(
        text,
        path,
        rowmap or RowMap.identity(),
        host_format,
        path if group is None else group,
        vars or Vars(),
        result,
        0,
    )
    walker.syntax_notes = syntax_notes
    walker.run()
    nested = [c for c in result.commands if c.context.get("via")]
    top = find_breaks(walker, result.findings)
    # nested commands were appended during the walk; keep document order by span
    result.commands = sorted(
        top + [c for c in nested if c not in top], key=lambda c: (c.span.line, c.span.col)
    )
    if suppressions:
        for s in hash_comment_suppressions(text.split("\n"), 1):
            line = s.line if s.file_wide else walker.rowmap.line_col(s.line - 1, 0)[0]
            result.suppressions.append(
                Suppression(s.codes, 0 if s.file_wide else line, s.reason, s.file_wide)
            )
    return result
