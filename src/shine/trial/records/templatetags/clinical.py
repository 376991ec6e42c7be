"""``{{ value|clinical:"pao2_fio2" }}``: a derived number at its clinical precision (shine.clinical.precision),
the same table the API uses; empty for no value."""

from django import template
from django.template.defaultfilters import floatformat

from shine.clinical.precision import DECIMALS, shown

register = template.Library()


@register.filter
def clinical(value, quantity: str) -> str:
    if value is None or value == "":
        return ""
    return floatformat(shown(quantity, float(value)), DECIMALS[quantity])
