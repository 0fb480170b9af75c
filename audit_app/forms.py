"""The Audit page's filters: person, kind, object and a date range."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit_app.models import KINDS, Entry


class AuditFilters(forms.Form):
    person = forms.CharField(
        required=False,
        max_length=254,
        label="Person",
        help_text='An email address or part of one, "command line" or "anonymous".',
    )
    kind = forms.ChoiceField(choices=[("", "Any kind"), *KINDS.items()], required=False)
    object = forms.CharField(
        required=False, max_length=254, label="Object", help_text="Its name, or #id."
    )

    def __init__(self, data):
        super().__init__(data)
        # "from" is a Python keyword, hence the fields added by name.
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = forms.DateField(
                required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
            )

    def clean_object(self):
        text = self.cleaned_data["object"].strip()
        if text.startswith("#") and not text[1:].isdigit():
            raise forms.ValidationError("After # comes an id: digits only, such as #12.")
        return text

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and end < start:
            self.add_error("to", "The end date is before the start date.")
        return cleaned

    def entries(self) -> QuerySet[Entry]:
        """The entries the filters select; call only once the form is valid."""
        data = self.cleaned_data
        found = Entry.objects.all()
        if data.get("person"):
            found = found.filter(actor_label__icontains=data["person"].strip())
        if data.get("kind"):
            found = found.filter(kind=data["kind"])
        text = data.get("object") or ""
        if text.startswith("#"):
            found = found.filter(object_id=text[1:])
        elif text:
            found = found.filter(Q(object_label__icontains=text) | Q(object_id=text))
        if data.get("from"):
            found = found.filter(at__gte=_start_of(data["from"]))
        if data.get("to"):
            found = found.filter(at__lt=_start_of(data["to"] + timedelta(days=1)))
        return found


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
