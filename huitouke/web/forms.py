"""Forms of the web UI. They only parse input; the rules live in customers.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer
from huitouke.customers.services import HARD_PROFILE_FIELDS, SOFT_PROFILE_FIELDS

# The name is personal data: it is never put into a form field (that would show it unmasked, unlogged).
EDITABLE_FIELDS = tuple(name for name in HARD_PROFILE_FIELDS if name != "name") + SOFT_PROFILE_FIELDS
_TEXTAREAS = {"notes", "shopping_habits", "style_preferences", "hobbies", "lifestyle", "values", "family"}


class SearchForm(forms.Form):
    SORTS = (
        ("recent", _("Last purchase")),
        ("spend", _("Net spend")),
        ("registered", _("Newest registered")),
        ("completeness", _("Profile completeness")),
    )
    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    tag = forms.CharField(required=False, max_length=50, label=_("Tag"))
    sort = forms.ChoiceField(required=False, choices=SORTS, label=_("Sort by"))


class ProfileForm(forms.Form):
    """Hard and soft profile fields (built from the model, so labels and limits match) plus tags."""

    tags = forms.CharField(
        required=False, label=_("Tags"), max_length=1000,
        help_text=_("Separate tags with commas."),
    )
    # By number, not by name: a name in a form field would show personal data unmasked.
    referred_by = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, label=_("Referred by (customer no.)"),
        help_text=_("The number (#) of the customer who brought her in; leave empty if nobody did."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, forms.Field] = {}
        for name in EDITABLE_FIELDS:
            model_field = Customer._meta.get_field(name)
            widget = forms.Textarea(attrs={"rows": 2}) if name in _TEXTAREAS else None
            form_field = model_field.formfield(**({"widget": widget} if widget else {}))
            if name == "gender":
                form_field.required = False
            fields[name] = form_field
        fields["tags"] = self.fields["tags"]
        fields["referred_by"] = self.fields["referred_by"]
        self.fields = fields

    @classmethod
    def initial_for(cls, customer: Customer, tags: list[str]) -> dict[str, Any]:
        data = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
        data["tags"] = ", ".join(tags)
        data["referred_by"] = customer.referred_by_id
        return data

    def profile_changes(self) -> dict[str, Any]:
        """The cleaned profile fields as update_profile takes them (blank text as '', blank numbers as None)."""
        changes = {}
        for name in EDITABLE_FIELDS:
            value = self.cleaned_data.get(name)
            if value is None and isinstance(self.fields[name], forms.CharField):
                value = ""
            changes[name] = value
        return changes

    def referrer_id(self) -> int | None:
        return self.cleaned_data.get("referred_by")

    def tag_names(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [part.strip() for part in raw.replace("，", ",").replace("、", ",").split(",") if part.strip()]

    def hard_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in EDITABLE_FIELDS if name in HARD_PROFILE_FIELDS]

    def soft_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in SOFT_PROFILE_FIELDS]
