"""How figures look: one colour per compound everywhere, arms by line style, and named styles.

Three rules hold in every figure, the report and the notebooks:

* **Colour means compound.** :func:`compound_colour` gives each compound id one colour. Compounds of the
  shipped library take the palette in the library's order (``data/compounds.csv``), so MG, 7-OH-MG and
  morphine keep their colours from figure to figure and run to run; any other id (a compound added later, an
  illustrative ligand) gets a colour from a stable hash of its name. Quantities that no single compound owns
  (an endpoint's response to every ligand together) are drawn in :attr:`Style.combined_colour`.
* **Line style means arm.** :func:`arm_linestyle` gives the i-th arm of a study its dash pattern in every
  panel of every figure.
* **Legends sit outside the data.** :func:`figure_legend` puts one legend above the panels (colour = compound,
  line style = arm) and :func:`footer` the teaching-and-research statement under them; the two never share
  the bottom band (a legend there used to cover the footer).

Styles (:data:`STYLES`): ``"default"`` (sizes for a screen or a printed report) and ``"classroom"`` (large
fonts, thick lines, black text and axes: what a projector in a lit room needs). Choose one with
``style=`` in :func:`pharmsim.plots.study_figures` and the plotting functions, or ``pharmsim run ... --style
classroom``.

Not for: drawing data (:mod:`pharmsim.plots`) or choosing what to draw.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .validate import PharmsimError, suggest

__all__ = ["ARM_LINESTYLES", "COMBINED", "DISCLAIMER", "PALETTE", "STYLES", "Style", "arm_linestyle",
           "compound_colour", "compound_colours", "figure_legend", "footer", "get_style"]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."

#: Distinct, dark-enough colours on white (Okabe & Ito 2008 and Tol 2021 qualitative sets, yellow left out
#: because it vanishes on a projector). Compound colours are taken from here.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#117733", "#332288",
           "#AA4499", "#44AA99", "#999933")

#: Labels of series that belong to no single compound (responses to every ligand together).
COMBINED = ("all", "-", "")

#: Dash patterns of arms 0, 1, 2, ... (solid first).
ARM_LINESTYLES = ("-", "--", "-.", ":", (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (10, 3)), (0, (1, 1)),
                  (0, (4, 1.5, 1, 1.5)))


@dataclass(frozen=True)
class Style:
    """Sizes, weights and colours of one look.

    Parameters
    ----------
    name : str
    fonts : mapping
        Font sizes (points) of ``title``, ``label``, ``tick``, ``legend``, ``annotation`` and ``footer``.
    line_width, reference_line_width : float
        Width of ordinary curves and of the full-agonist reference (points).
    figure_scale : float
        Factor on every figure size (larger fonts need larger figures to keep panels readable).
    grid_alpha : float
    axes_line_width : float
    text_colour, combined_colour : str
        Colour of text and axes; colour of series that belong to no single compound.
    dpi : int
        Resolution of the PNG files.
    """

    name: str
    fonts: Mapping[str, float] = field(default_factory=dict)
    line_width: float = 2.5
    reference_line_width: float = 3.5
    figure_scale: float = 1.0
    grid_alpha: float = 0.3
    axes_line_width: float = 1.0
    text_colour: str = "#1a1a1a"
    combined_colour: str = "#222222"
    dpi: int = 110

    def __post_init__(self):
        fonts = dict(_DEFAULT_FONTS)
        fonts.update(self.fonts)
        object.__setattr__(self, "fonts", MappingProxyType(fonts))

    def font(self, kind: str) -> float:
        """Font size (points) of ``kind`` (title, label, tick, legend, annotation, footer)."""
        if kind not in self.fonts:
            raise PharmsimError(f"font kind must be one of {', '.join(self.fonts)}; got {kind!r}"
                                f"{suggest(kind, self.fonts)}")
        return self.fonts[kind]

    def figsize(self, width_in: float, height_in: float) -> tuple[float, float]:
        """A figure size (inches) scaled by :attr:`figure_scale`."""
        return (width_in * self.figure_scale, height_in * self.figure_scale)

    def rc(self) -> dict:
        """matplotlib rcParams of this style (for ``matplotlib.pyplot.rc_context``)."""
        return {"font.size": self.fonts["tick"], "axes.titlesize": self.fonts["title"],
                "axes.labelsize": self.fonts["label"], "xtick.labelsize": self.fonts["tick"],
                "ytick.labelsize": self.fonts["tick"], "legend.fontsize": self.fonts["legend"],
                "lines.linewidth": self.line_width, "axes.linewidth": self.axes_line_width,
                "text.color": self.text_colour, "axes.labelcolor": self.text_colour,
                "axes.edgecolor": self.text_colour, "xtick.color": self.text_colour,
                "ytick.color": self.text_colour, "figure.facecolor": "white", "axes.facecolor": "white",
                "savefig.facecolor": "white"}


_DEFAULT_FONTS = {"title": 16, "label": 14, "tick": 12, "legend": 12, "annotation": 11, "footer": 9}

#: The named styles.
STYLES = MappingProxyType({
    "default": Style("default"),
    "classroom": Style("classroom", fonts={"title": 22, "label": 20, "tick": 17, "legend": 17, "annotation": 16,
                                           "footer": 13},
                       line_width=4.0, reference_line_width=5.5, figure_scale=1.3, grid_alpha=0.45,
                       axes_line_width=2.0, text_colour="#000000", combined_colour="#000000", dpi=100),
})


def get_style(style: str | Style | None = None) -> Style:
    """The :class:`Style` named ``style`` (``None``: ``"default"``), or ``style`` itself."""
    if style is None:
        return STYLES["default"]
    if isinstance(style, Style):
        return style
    if isinstance(style, str) and style in STYLES:
        return STYLES[style]
    raise PharmsimError(f"style must be one of {', '.join(map(repr, STYLES))} or a pharmsim Style; got {style!r}"
                        f"{suggest(str(style), STYLES)}")


# ------------------------------------------------------------------------------------------------ colours
@functools.lru_cache(maxsize=1)
def _library_order() -> tuple[dict, dict]:
    """``({compound id: index}, {alias: id})`` of the shipped library (empty if it cannot be read)."""
    try:
        from .catalog import catalog  # noqa: PLC0415

        compounds = catalog().library.compounds()
    except Exception:  # noqa: BLE001 - colours must never break a figure; fall back to hashing
        return {}, {}
    order, aliases = {}, {}
    for i, c in enumerate(compounds):
        order[c.id] = i
        for a in (getattr(c, "aliases", ()) or ()):
            aliases[str(a)] = c.id
        if getattr(c, "name", None):
            aliases[str(c.name)] = c.id
    return order, aliases


def compound_colour(compound: str, style: str | Style | None = None) -> str:
    """The colour (hex) of ``compound`` in every figure.

    A compound of the shipped library (id, name or alias) takes ``PALETTE[i % len(PALETTE)]`` with ``i`` its
    position in ``data/compounds.csv``; any other name takes the palette entry given by a CRC-32 hash of the
    name (stable across runs and machines). Series of no single compound (``'all'``, ``'-'``) take the
    style's combined colour.
    """
    if not isinstance(compound, str):
        raise PharmsimError(f"compound must be a compound id (a string); got {compound!r}")
    if compound in COMBINED:
        return get_style(style).combined_colour
    order, aliases = _library_order()
    cid = compound if compound in order else aliases.get(compound, compound)
    if cid in order:
        return PALETTE[order[cid] % len(PALETTE)]
    return PALETTE[zlib.crc32(cid.encode("utf-8")) % len(PALETTE)]


def compound_colours(compounds: Sequence[str], style: str | Style | None = None) -> dict[str, str]:
    """``{compound: colour}`` (:func:`compound_colour`) of each of ``compounds``."""
    return {c: compound_colour(c, style) for c in compounds}


def arm_linestyle(index: int):
    """The dash pattern of the ``index``-th arm (0: solid)."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise PharmsimError(f"arm index must be a whole number >= 0; got {index!r}")
    return ARM_LINESTYLES[index % len(ARM_LINESTYLES)]


# ------------------------------------------------------------------------------------------------ legends
def footer(fig, style: str | Style | None = None) -> None:
    """The teaching-and-research statement under the figure (space kept by the constrained layout)."""
    st = get_style(style)
    text = fig.supxlabel(DISCLAIMER, x=0.995, ha="right", fontsize=st.font("footer"), color="0.3")
    text.set_gid("footer")


def figure_legend(fig, *, compounds: Sequence[str] = (), arms: Sequence[str] = (), extra=(), title: str | None = None,
                  style: str | Style | None = None, max_columns: int = 6):
    """One legend for the whole figure, above the panels: a coloured line per compound, a line style per arm.

    ``extra`` holds further ``(handle, label)`` pairs (marks, bands). Placed with the constrained layout's
    ``"outside upper center"`` so that it never covers a panel and never shares the bottom band with
    :func:`footer`. Returns the Legend (or None when there is nothing to explain).
    """
    from matplotlib.lines import Line2D  # noqa: PLC0415

    st = get_style(style)
    handles, labels = [], []
    for c in compounds:
        handles.append(Line2D([], [], color=compound_colour(c, st), lw=st.line_width, ls="-"))
        labels.append(c)
    for i, a in enumerate(arms):
        handles.append(Line2D([], [], color=st.combined_colour, lw=st.line_width * 0.8, ls=arm_linestyle(i)))
        labels.append(f"arm: {a}")
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    if not handles:
        return None
    longest = max(len(s) for s in labels)
    width_chars = max(1, int(fig.get_figwidth() * 72 / max(st.font("legend"), 1) * 1.6))
    ncol = max(1, min(len(handles), max_columns, width_chars // (longest + 6)))
    leg = fig.legend(handles, labels, loc="outside upper center", ncols=ncol, fontsize=st.font("legend"),
                     frameon=False, title=title, title_fontsize=st.font("legend"), handlelength=3.2)
    leg.set_gid("figure-legend")
    return leg
