"""Template filters for the ticket lists; cheap enough to run fifty times per page."""

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def isoformat(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@register.filter
def relative(value: datetime | None, now: datetime) -> str:
    """'5 min ago', 'in 2 h', '3 days ago': one unit, rounded down."""
    if value is None:
        return ""
    seconds = int((value - now).total_seconds())
    future = seconds > 0
    seconds = abs(seconds)
    if seconds < 60:
        return "now" if not future else "in <1 min"
    for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            return f"in {amount}" if future else f"{amount} ago"
    return ""
