"""Money: officers and county lists speak 万元; the database stores yuan with cents.

One conversion each way and one way to show a figure, so a form, an import, an export, the
report and a page never disagree on a rounding (`Numeric(16, 2)` columns: `YUAN_MOST`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask

WAN = Decimal(10000)
CENT = Decimal("0.01")
YUAN_MOST = Decimal(10) ** 14  # money columns: Numeric(16, 2) in yuan
WAN_MOST = YUAN_MOST / WAN  # the same in 万元, as forms ask for it

Amount = Decimal | int | float


def to_yuan(wan: Amount | None) -> Decimal | None:
    """A figure in 万元 as the yuan we store, to the cent."""
    if wan is None:
        return None
    return (Decimal(wan) * WAN).quantize(CENT)


def to_wan(yuan: Amount | None) -> Decimal | None:
    """Stored yuan as 万元, exactly (what a form shows to edit)."""
    if yuan is None:
        return None
    return Decimal(yuan) / WAN


def wan_cell(yuan: Amount | None) -> int | float | None:
    """Stored yuan as the 万元 number a spreadsheet cell holds, an int when whole
    (200000.00 → 20, 55000 → 5.5)."""
    if yuan is None:
        return None
    wan = (Decimal(yuan) / WAN).normalize()
    return int(wan) if wan == wan.to_integral_value() else float(wan)


def format_wan(yuan: Amount | None, places: int | None = None, empty: str = "") -> str:
    """Stored yuan shown in 万元: with thousands separators to `places` decimals, or (None)
    as short as it is exact (200000.00 → 20, 55000 → 5.5, 10 → 0.001)."""
    if yuan is None:
        return empty
    wan = Decimal(yuan) / WAN
    if places is not None:
        return f"{wan:,.{places}f}"
    text = f"{wan:f}"  # stored cents carry trailing zeros (150000.00 → 15.00): dropped
    return text.rstrip("0").rstrip(".") if "." in text else text


def register(app: Flask) -> None:
    def wan_filter(yuan: Any, places: int | None = None, empty: str = "") -> str:
        return format_wan(yuan, places, empty)

    app.jinja_env.filters["wan"] = wan_filter
