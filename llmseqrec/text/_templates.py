"""Item metadata -> one text per item, through a format template."""

from __future__ import annotations

import re
import string

import pandas as pd

__all__ = ["render_texts", "template_fields"]


def template_fields(template: str) -> list[str]:
    """Field names used by a ``str.format`` template.

    >>> template_fields("{title} by {brand}")
    ['title', 'brand']
    """
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_texts(items: pd.DataFrame, template: str = "{title}") -> list[str]:
    """Render one text per row of an item table.

    Missing values (NaN/None) render as empty strings; whitespace is collapsed and
    dangling separators at the ends are stripped, so ``"{title} - {brand}"`` gives
    ``"Lipstick"`` for an item without a brand. An item none of whose fields has content
    renders as ``""`` (an empty item: ``ItemTextEncoder``'s ``empty_text`` decides its
    vector), never as the template's own words (``". Genres: . Tags:"``).

    Parameters
    ----------
    items : pandas.DataFrame
        Item metadata, one row per item.
    template : str, default="{title}"
        A ``str.format`` template over the table's columns.

    Examples
    --------
    >>> t = pd.DataFrame({"title": ["Lipstick", None], "brand": [None, "Acme"]})
    >>> render_texts(t, "{title} - {brand}")
    ['Lipstick', 'Acme']
    """
    fields = template_fields(template)
    missing = [f for f in fields if f not in items.columns]
    if missing:
        raise KeyError(
            f"template {template!r} uses fields {missing} absent from the item table columns {list(items.columns)}"
        )
    texts = []
    for row in items[fields].itertuples(index=False, name=None) if fields else [()] * len(items):
        values = {
            f: ("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
            for f, v in zip(fields, row)
        }
        if fields and not any(values.values()):
            texts.append("")  # no field has content: an empty item, not the template's labels
            continue
        text = re.sub(r"\s+", " ", template.format(**values)).strip()
        texts.append(text.strip(" -|,;:/").strip())
    return texts
