from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from . import selectors
from .chain import COMMITMENT_PREFIX
from .forms import AuditFilterForm

BLINDED_ON_PAGE = gettext_lazy("(blinded)")


def _shown(value) -> dict:
    """A value as the page shows it: ``text``, and whether it is recorded data (shown as recorded, in the words it
    was entered in) or the page's own word. A commitment is for verifiers (the API gives it whole); on the page it
    reads as what it stands for; a missing value is a dash."""
    if value is None:
        return {"text": "–", "data": False}
    if isinstance(value, str) and value.startswith(COMMITMENT_PREFIX):
        return {"text": BLINDED_ON_PAGE, "data": False}
    return {"text": value, "data": True}


@login_required
def trail(request):
    form = AuditFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    f = selectors.AuditFilter(**{k: v for k, v in form.cleaned_data.items() if v}) if request.GET and valid \
        else selectors.AuditFilter()
    qs = selectors.events(request.user, f)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [(ev, {name: [_shown(v) for v in pair]
                  for name, pair in selectors.visible_changes(ev, request.user).items()}) for ev in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/trail.html", {
        "form": form, "page": page, "rows": rows, "actions": selectors.action_choices(),
        "query": query.urlencode(),
    }, status=200 if valid else 400)
