"""``unblur methods``: the restoration methods and their parameters, as terminal text.

The methods' documentation is written for Sphinx (numpydoc sections, reStructuredText roles,
LaTeX maths). For the terminal it is rendered here as rich markup: section titles in bold,
parameters with their defaults, roles reduced to their text (``:func:`~unblur.blur``` ->
``blur()``), and LaTeX turned into Unicode text (``\\lambda \\|\\nabla x\\|_2`` ->
``λ ‖∇x‖₂``). Paragraphs are re-flowed to the terminal's width, so no token is broken at 80
columns; examples and maths are kept as lines.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import click

from ._options import json_option
from ._output import echo_json, stdout_console

#: parameters of a method function that ``unblur deconvolve`` sets itself (not ``-p``)
_NOT_CLI = frozenset({"image", "psf", "callback", "info"})
#: numpydoc sections whose entries are ``name : type`` lines with indented descriptions
_ENTRY_SECTIONS = frozenset(
    {"Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes"}
)

# ---------------------------------------------------------------------------------------------
# LaTeX -> Unicode text
# ---------------------------------------------------------------------------------------------
_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "sum": "Σ", "prod": "Π", "int": "∫", "nabla": "∇", "partial": "∂", "infty": "∞",
    "cdot": "·", "times": "×", "circledast": "⊛", "ast": "∗", "star": "⋆", "otimes": "⊗",
    "odot": "⊙", "circ": "∘", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "~", "propto": "∝",
    "equiv": "≡", "in": "∈", "notin": "∉", "subset": "⊂", "cup": "∪", "cap": "∩",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "mapsto": "↦", "Rightarrow": "⇒",
    "ldots": "…", "dots": "…", "cdots": "⋯", "prime": "′", "top": "ᵀ", "dagger": "†",
    "|": "‖", "lVert": "‖", "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|",
    "vert": "|", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋",
    "lceil": "⌈", "rceil": "⌉", "{": "{", "}": "}", "%": "%", "_": "_",
    ",": " ", ";": " ", ":": " ", "!": "", "quad": "  ", "qquad": "    ",
    "left": "", "right": "", "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", "big": "",
    "Big": "", "biggl": "", "biggr": "", "displaystyle": "", "limits": "",
}  # fmt: skip
_FONTS = r"operatorname\*?|mathrm|text|textrm|textit|mathit|mathbf|boldsymbol|mathsf|mathtt"
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304",
            "tilde": "\u0303", "widetilde": "\u0303", "dot": "\u0307", "vec": "\u20d7"}  # fmt: skip
_DOUBLE_STRUCK = {"R": "ℝ", "C": "ℂ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ"}
_CALLIGRAPHIC = {"F": "ℱ", "H": "ℋ", "L": "ℒ", "O": "𝒪", "N": "𝒩", "A": "𝒜", "D": "𝒟"}
_SUPERSCRIPT = str.maketrans("0123456789+-=()niT*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ*")
_SUBSCRIPT = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"  # one brace group, one level of nesting inside
_MARKS = {"^": "\x03", "_": "\x04"}


def _script(text: str, table: dict[int, str], mark: str) -> str:
    """``text`` as Unicode super/subscript when every character has one, else ``mark(text)``."""
    converted = text.translate(table)
    if all(c != o or c in "*" for c, o in zip(converted, text, strict=True)) and text:
        return converted
    mark = _MARKS[mark]  # placeholders, so that a later pass does not convert "_(" again
    return f"{mark}{text}" if len(text) == 1 else f"{mark}\x01{text}\x02"


def latex_to_text(tex: str) -> str:
    r"""LaTeX maths as plain Unicode text for a terminal (best effort; no backslash left).

    Examples
    --------
    >>> from unblur.cli.methods import latex_to_text
    >>> latex_to_text(r"\tfrac12 \|Hx - y\|^2 + \lambda \sum_j \|(\nabla x)_j\|_2")
    '½ ‖Hx - y‖² + λ Σⱼ ‖(∇x)ⱼ‖₂'
    >>> latex_to_text(r"\hat\sigma^{4/3}, \frac{a}{b + 1}, \mathcal F, \operatorname{round}(y)")
    'σ̂^(4/3), a/(b + 1), ℱ, round(y)'
    """
    s = tex.replace("\\tfrac12", "½").replace("\\frac12", "½").replace("``", "")
    for _ in range(3):  # nested groups: innermost first
        s = re.sub(rf"\\(?:{_FONTS}){_GROUP}", r"\1", s)
        s = re.sub(r"\\mathbb\s*\{?([A-Z])\}?", lambda m: _DOUBLE_STRUCK.get(m[1], m[1]), s)
        s = re.sub(r"\\mathcal\s*\{?([A-Z])\}?", lambda m: _CALLIGRAPHIC.get(m[1], m[1]), s)
        s = re.sub(
            rf"\\[dt]?frac\s*{_GROUP}\s*{_GROUP}",
            lambda m: f"{_wrap(m[1])}/{_wrap(m[2])}",
            s,
        )
        s = re.sub(rf"\\sqrt\s*{_GROUP}", lambda m: f"√{_wrap(m[1])}", s)
        s = re.sub(
            rf"\\({'|'.join(_ACCENTS)})\s*(?:{_GROUP}|\\([a-zA-Z]+)|([a-zA-Z]))",
            _accent,
            s,
        )
    s = re.sub(r"\\([a-zA-Z]+|[|{},;:!%_])", lambda m: _SYMBOLS.get(m[1], m[1]), s)
    for _ in range(2):
        s = re.sub(rf"\^{_GROUP}", lambda m: _script(m[1], _SUPERSCRIPT, "^"), s)
        s = re.sub(rf"_{_GROUP}", lambda m: _script(m[1], _SUBSCRIPT, "_"), s)
    s = re.sub(r"\^([^\s{}])", lambda m: _script(m[1], _SUPERSCRIPT, "^"), s)
    s = re.sub(r"_([^\s{}])", lambda m: _script(m[1], _SUBSCRIPT, "_"), s)
    s = s.replace("{", "").replace("}", "").replace("&", "").replace("\\", "")
    s = s.translate(str.maketrans({"\x01": "(", "\x02": ")", "\x03": "^", "\x04": "_"}))
    s = s.replace("^ᵀ", "ᵀ")
    s = re.sub(r"([∇∂√][⁰¹²³⁴⁵⁶⁷⁸⁹]*) +", r"\1", s)  # operators bind to what follows
    return re.sub(r"[ \t]+", " ", s).strip()


def _wrap(text: str) -> str:
    """``text`` in parentheses when it is more than one symbol (for a/b and √x)."""
    return text if len(text) <= 1 or re.fullmatch(r"\\?[a-zA-Z0-9.]+", text) else f"({text})"


def _accent(m: re.Match) -> str:
    mark = _ACCENTS[m[1]]
    inner = m[2] if m[2] is not None else ("\\" + m[3] if m[3] else m[4])
    inner = latex_to_text(inner)
    return inner + mark if len(inner) == 1 else f"({inner}){mark}"


# ---------------------------------------------------------------------------------------------
# reStructuredText inline markup -> rich markup
# ---------------------------------------------------------------------------------------------
_INLINE = re.compile(
    r":math:`(?P<math>[^`]+)`"
    r"|:(?P<role>[a-z]+(?::[a-z]+)?):`(?P<target>[^`]+)`"
    r"|``(?P<code>[^`]+)``"
    r"|`(?P<link>[^`<]+?)\s*<(?P<url>[^>]+)>`__?"
    r"|`(?P<default>[^`]+)`"
    r"|\*\*(?P<strong>[^*]+)\*\*"
    r"|(?<![\w*])\*(?P<emph>[^*\s][^*]*?)\*(?!\w)"
)


def _role_text(role: str, target: str) -> str:
    """What a role such as ``:func:`~unblur.blur``` shows: ``blur()``."""
    shown = target
    explicit = re.fullmatch(r"(.+?)\s*<(.+)>", target)
    if explicit:
        return explicit[1]
    if shown.startswith("~"):
        shown = shown[1:].rsplit(".", 1)[-1]
    if role in ("func", "meth", "py:func", "py:meth") and not shown.endswith(")"):
        shown += "()"
    return shown


def inline_markup(text: str) -> str:
    """One paragraph of reStructuredText as rich markup (literal text escaped).

    Examples
    --------
    >>> from unblur.cli.methods import inline_markup
    >>> inline_markup(r"see :func:`~unblur.noise.estimate_noise`, ``tol`` and :math:`\\rho > 0`")
    'see [cyan]estimate_noise()[/cyan], [cyan]tol[/cyan] and [italic]ρ > 0[/italic]'
    """
    from rich.markup import escape

    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[last : m.start()]))
        last = m.end()
        if m["math"] is not None:
            out.append(f"[italic]{escape(latex_to_text(m['math']))}[/italic]")
        elif m["role"] is not None:
            out.append(f"[cyan]{escape(_role_text(m['role'], m['target']))}[/cyan]")
        elif m["code"] is not None:
            out.append(f"[cyan]{escape(m['code'])}[/cyan]")
        elif m["link"] is not None:
            out.append(f"{escape(m['link'])} ({escape(m['url'])})")
        elif m["default"] is not None:
            out.append(f"[italic]{escape(m['default'])}[/italic]")
        elif m["strong"] is not None:
            out.append(f"[bold]{escape(m['strong'])}[/bold]")
        else:
            out.append(f"[italic]{escape(m['emph'])}[/italic]")
    out.append(escape(text[last:]))
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# numpydoc docstring -> rich renderables
# ---------------------------------------------------------------------------------------------
def _sections(doc: str) -> list[tuple[str | None, list[str]]]:
    """The docstring split at numpydoc section titles (a line underlined by dashes)."""
    lines = doc.splitlines()
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    i = 0
    while i < len(lines):
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        title = lines[i].strip()
        if title and len(underline) >= 3 and set(underline) == {"-"} and lines[i] == title:
            sections.append((title, []))
            i += 2
            continue
        sections[-1][1].append(lines[i])
        i += 1
    return [(name, body) for name, body in sections if name or any(x.strip() for x in body)]


def _dedent(lines: list[str]) -> list[str]:
    indents = [len(x) - len(x.lstrip()) for x in lines if x.strip()]
    cut = min(indents, default=0)
    return [x[cut:] for x in lines]


def _blocks(lines: list[str]) -> list[str]:
    """Body lines as rich markup blocks: paragraphs re-flowed, maths, lists and code kept."""
    out: list[str] = []
    lines = _dedent(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith(".. math::") or stripped.startswith(".. code-block::"):
            head = stripped.split("::", 1)[1].strip()
            body, i = _indented(lines, i + 1, len(line) - len(line.lstrip()))
            if stripped.startswith(".. math::"):
                tex = " ".join([head, *[b.strip() for b in body]]).strip()
                out.append("    " + _escape(latex_to_text(tex)))
            else:
                out.append("\n".join("    " + _escape(b) for b in _dedent(body) if b.strip()))
            continue
        if stripped.startswith(">>>") or stripped.startswith("$ "):
            code = []
            while i < len(lines) and lines[i].strip():
                code.append(lines[i])
                i += 1
            out.append("[dim]" + _escape("\n".join(code)) + "[/dim]")
            continue
        if stripped.startswith(".. "):  # another directive: its title only
            body, i = _indented(lines, i + 1, len(line) - len(line.lstrip()))
            continue
        paragraph = []
        while i < len(lines) and lines[i].strip():
            current = lines[i].strip()
            if paragraph and re.match(r"([-*+]|\d{1,2}[.)]|\(\d{1,2}\))\s", current):
                break  # a list item starts: its own block
            if current.startswith(".. math::"):
                break
            paragraph.append(current)
            i += 1
        out.append(inline_markup(" ".join(paragraph)))
    return out


def _indented(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The lines from ``start`` indented deeper than ``indent`` (blank lines inside kept)."""
    body, i = [], start
    while i < len(lines) and (
        not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
    ):
        body.append(lines[i])
        i += 1
    return body, i


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _entries(lines: list[str]) -> list[tuple[str, list[str]]]:
    """``name : type`` headers (at the section's indent) and their indented descriptions."""
    entries: list[tuple[str, list[str]]] = []
    for line in _dedent(lines):
        if line.strip() and not line.startswith(" "):
            entries.append((line.strip(), []))
        elif entries:
            entries[-1][1].append(line)
    return entries


def method_doc(method, *, skip: frozenset[str] = _NOT_CLI) -> list:
    """The documentation of a registered method as rich renderables for the terminal.

    The summary and extended description as paragraphs; Parameters with each default (those
    in ``skip`` left out: ``unblur deconvolve`` sets them); the other sections with bold
    titles. Nothing of reStructuredText or LaTeX is left.
    """
    from rich.padding import Padding
    from rich.text import Text

    doc = inspect.getdoc(method.func) or method.summary
    params = method.parameters
    kind = "iterative" if method.iterative else "direct"
    parts: list[Any] = [Text.from_markup(f"[bold]{method.name}[/bold] ({kind})")]
    for name, body in _sections(doc):
        if name is not None:
            parts += [Text(""), Text.from_markup(f"[bold underline]{_escape(name)}[/]")]
        if name == "Examples":
            parts += [Text("")] + [Text.from_markup(b) for b in _blocks(body)]
            continue
        if name in _ENTRY_SECTIONS:
            for header, description in _entries(body):
                keys = [k.strip() for k in header.split(" : ", 1)[0].split(",")]
                if name == "Parameters" and all(k in skip for k in keys):
                    continue
                title = _entry_title(header)
                known = [k for k in keys if k in params] if name == "Parameters" else []
                if len(known) == 1:
                    title += f" [dim](default: {_escape(_default_text(params[known[0]]))})[/dim]"
                elif known:
                    text = ", ".join(f"{k}={_default_text(params[k])}" for k in known)
                    title += f" [dim](defaults: {_escape(text)})[/dim]"
                parts.append(Text.from_markup(title))
                for block in _blocks(description):
                    parts.append(Padding(Text.from_markup(block), (0, 0, 0, 4), expand=False))
            continue
        if name == "References":
            parts += [Text.from_markup(inline_markup(ref)) for ref in _references(body)]
            continue
        for block in _blocks(body):
            parts += [Text(""), Text.from_markup(block)]
    return parts


#: the first line of a reference: "A. B. Name, ...", "Name, A. ...", ".. [1]" or "[1]"
_REFERENCE_START = re.compile(r"(\.\. \[|\[\d+\]|[A-Z]\.(-?[A-Z]\.)*\s|[A-Z][\w'-]+,\s[A-Z]\.)")


def _references(lines: list[str]) -> list[str]:
    """The entries of a References section, each joined into one line."""
    refs: list[str] = []
    for line in _dedent(lines):
        text = line.strip()
        if not text:
            continue
        if not refs or (not line.startswith(" ") and _REFERENCE_START.match(text)):
            refs.append(text)
        else:
            refs[-1] += " " + text
    return refs


def _entry_title(header: str) -> str:
    """``name : type`` with the name in bold (a ``Returns`` type alone stays plain)."""
    if " : " in header:
        name, kind = header.split(" : ", 1)
        return f"[bold]{_escape(name)}[/bold] : {inline_markup(kind)}"
    return inline_markup(header)


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def _default_text(p: inspect.Parameter) -> str:
    """A parameter's default, short: long floats to 6 significant digits (``1.41421``)."""
    if p.default is inspect.Parameter.empty:
        return "(required)"
    if isinstance(p.default, float) and len(repr(p.default)) > 8:
        return f"{p.default:.6g}"
    return repr(p.default)


def _method_json(m) -> dict[str, Any]:
    return {
        "name": m.name,
        "iterative": m.iterative,
        "summary": m.summary,
        "parameters": {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in m.parameters.items()
        },
    }


@click.command("methods")
@click.argument("name", required=False)
@json_option
def methods_command(name: str | None, as_json: bool) -> None:
    """List the restoration methods and their parameters, or document method NAME.

    Pass parameters to `unblur deconvolve` as -p KEY=VALUE; `auto` (the default method)
    picks one for you.

    \b
    Examples:
      unblur methods
      unblur methods wiener          # the full documentation of one method
      unblur methods --json
    """
    from rich.markup import escape
    from rich.table import Table

    from ..restore import available_methods, get_method

    console = stdout_console()
    if name is not None:
        m = get_method(name)
        if as_json:
            echo_json(_method_json(m))
            return
        for part in method_doc(m):
            console.print(part)
        return
    methods = [get_method(n) for n in available_methods()]
    if as_json:
        echo_json({"methods": [_method_json(m) for m in methods]})
        return
    table = Table(
        title="unblur methods",
        caption="unblur deconvolve -m NAME -p KEY=VALUE; unblur methods NAME for the details",
    )
    table.add_column("method", no_wrap=True)
    table.add_column("parameters (defaults)", no_wrap=True)
    table.add_column("summary", ratio=1)
    for m in methods:
        kind = "iterative" if m.iterative else "direct"
        table.add_row(
            f"[bold]{escape(m.name)}[/bold]\n[dim]{kind}[/dim]",
            escape("\n".join(f"{n}={_default_text(p)}" for n, p in m.parameters.items())),
            escape(m.summary),
        )
    console.print(table)
