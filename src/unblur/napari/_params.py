"""Parameter forms built from a function's signature: one row per keyword parameter.

The widgets never hard-code a method's or a PSF model's parameters: they read them from
:attr:`unblur.restore.Method.parameters` or :func:`inspect.signature`, so a parameter added to
the library appears in napari without a change here. Each row is a text field (numbers, or
``1.5x3`` / ``1.5, 3`` for per-axis values), a check box (booleans) or a drop-down
(``boundary``). A parameter whose default is ``None`` (or ``"auto"``) is chosen automatically:
its row has an *auto* box, ticked by default; after a run the value the library chose is shown
greyed in the field (:meth:`ParameterForm.show_chosen`), and unticking *auto* starts tuning
from it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit

from ..errors import InvalidParameterError
from ..operators import BOUNDARIES

__all__ = ["ParameterField", "ParameterForm", "field_kind", "format_value", "parse_value"]

#: drop-down choices of parameters whose values form a closed set
CHOICES: dict[str, tuple[str, ...]] = {"boundary": tuple(BOUNDARIES)}
_SPLIT = re.compile(r"[\s,;x×]+")


def field_kind(name: str, annotation: Any, default: Any) -> tuple[str, bool]:
    """``(kind, per_axis)`` of a parameter: kind is bool, choice, int, float or text.

    Examples
    --------
    >>> field_kind("num_iter", "int", 30)
    ('int', False)
    >>> field_kind("sigma", "float | Sequence[float]", inspect.Parameter.empty)
    ('float', True)
    >>> field_kind("boundary", "str", "unknown")
    ('choice', False)
    """
    text = annotation if isinstance(annotation, str) else repr(annotation)
    if annotation is inspect.Parameter.empty:
        text = ""
    tokens = set(re.findall(r"[A-Za-z_]+", text))
    per_axis = bool(tokens & {"Sequence", "tuple"})
    if isinstance(default, bool) or tokens == {"bool"}:
        return "bool", False
    if name in CHOICES:
        return "choice", False
    if "float" in tokens or (not tokens and isinstance(default, float)):
        return "float", per_axis
    if "int" in tokens or (not tokens and isinstance(default, int)):
        return "int", per_axis
    return "text", False


def format_value(value: Any) -> str:
    """A value as the text a field shows: ``2``, ``0.0123``, ``1.5x3``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.6g}"
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return "x".join(format_value(v) for v in value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # a NumPy scalar
        return format_value(value.item())
    return str(value)


def parse_value(name: str, text: str, kind: str, per_axis: bool = False) -> Any:
    """The value a field's text stands for.

    Raises
    ------
    InvalidParameterError
        Empty text, text that is not a number (for numeric kinds), several numbers where one
        is expected, or a fraction where a whole number is expected.

    Examples
    --------
    >>> parse_value("sigma", "1.5x3", "float", per_axis=True)
    (1.5, 3.0)
    >>> parse_value("num_iter", "50", "int")
    50
    """
    text = str(text).strip()
    if not text:
        raise InvalidParameterError(f"{name}: give a value (or tick auto where there is one)")
    if kind in ("text", "choice"):
        return text
    parts = [p for p in _SPLIT.split(text) if p]
    if len(parts) > 1 and not per_axis:
        raise InvalidParameterError(f"{name}: expected one number, got {text!r}")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError(f"{name}: {text!r} is not a number") from None
    if kind == "int":
        if not all(n.is_integer() for n in numbers):
            raise InvalidParameterError(f"{name}: {text!r} is not a whole number")
        numbers = [int(n) for n in numbers]
    return numbers[0] if len(numbers) == 1 else tuple(numbers)


class ParameterField(Container):
    """One parameter: its value widget and, for automatic parameters, an *auto* box."""

    def __init__(self, name: str, annotation: Any, default: Any, initial: str | None = None):
        self.parameter = name
        self.kind, self.per_axis = field_kind(name, annotation, default)
        self.default = default
        # None or "auto" (tv's tol): the library chooses
        self.automatic = default is None or (isinstance(default, str) and default == "auto")
        if self.kind == "bool":
            self.input = CheckBox(value=bool(default), text="")
        elif self.kind == "choice":
            self.input = ComboBox(choices=CHOICES[name], value=default)
        else:
            text = initial if initial is not None else ""
            if initial is None and not self.automatic and default is not inspect.Parameter.empty:
                text = format_value(default)
            self.input = LineEdit(value=text)
        self.auto = CheckBox(value=self.automatic, text="auto", visible=self.automatic)
        super().__init__(
            widgets=[self.input, self.auto],
            layout="horizontal",
            labels=False,
            label=name,
            name=name,
        )
        self.margins = (0, 0, 0, 0)
        if initial is not None and self.automatic:
            self.auto.value = False
        self.auto.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        self.input.enabled = not self.is_auto
        self.input.tooltip = "chosen automatically" if self.is_auto else None

    @property
    def is_auto(self) -> bool:
        """Whether the library chooses this value."""
        return self.automatic and bool(self.auto.value)

    def get(self) -> Any:
        """The value (``None`` when automatic); raises ``InvalidParameterError`` for bad text."""
        if self.is_auto:
            return None
        if self.kind == "bool":
            return bool(self.input.value)
        return parse_value(self.parameter, self.input.value, self.kind, self.per_axis)

    def set(self, value: Any) -> None:
        """Set the value (text, number or bool); unticks *auto*."""
        if self.automatic:
            self.auto.value = False
        if self.kind in ("bool", "choice"):
            self.input.value = value
        else:
            self.input.value = value if isinstance(value, str) else format_value(value)

    def show_chosen(self, value: Any) -> None:
        """Show the value the library chose, greyed, with *auto* still ticked."""
        if self.is_auto and self.kind not in ("bool", "choice"):
            self.input.value = format_value(value)
            self.input.tooltip = f"chosen automatically: {format_value(value)}"


class ParameterForm(Container):
    """Rows of :class:`ParameterField` for a set of parameters, rebuilt on demand."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(labels=True, **kwargs)
        self.margins = (0, 0, 0, 0)
        self.fields: dict[str, ParameterField] = {}

    def set_parameters(
        self, parameters: Mapping[str, inspect.Parameter], initial: Mapping[str, str] = {}
    ) -> None:
        """Replace the rows with one per parameter (``initial``: text for required ones)."""
        self.clear()
        self.fields = {
            name: ParameterField(name, p.annotation, p.default, initial.get(name))
            for name, p in parameters.items()
        }
        self.extend(self.fields.values())

    def values(self) -> dict[str, Any]:
        """Every parameter that is not automatic, parsed."""
        out = {}
        for name, field in self.fields.items():
            value = field.get()
            if value is not None or not field.automatic:
                out[name] = value
        return out

    def show_chosen(self, chosen: Mapping[str, Any]) -> None:
        """Show the values the library chose for the automatic parameters."""
        for name, field in self.fields.items():
            if name in chosen and chosen[name] is not None:
                field.show_chosen(chosen[name])

    def __getitem__(self, key):  # fields by parameter name; the Container's otherwise
        if isinstance(key, str) and key in self.fields:
            return self.fields[key]
        return super().__getitem__(key)
