"""Flask-WTF forms of the desk (CSRF on each). Lengths match the columns, so over-long text is a form
error, never a database error."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as Option
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from .core.i18n import _l
from .core.models import ROLE_LABELS, Role
from .core.validate import DateInRange
from .models import (
    BILLING_PERIOD_LABELS,
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    NOTE_KIND_LABELS,
    PRIORITY_LABELS,
    RATING_LABELS,
    Category,
    Channel,
    Priority,
)


class _Numbered:
    """A rating choice: "5 · very satisfied" in the reader's language, when it is shown."""

    def __init__(self, number: str) -> None:
        self.number = number

    def __str__(self) -> str:
        return f"{self.number} · {RATING_LABELS[self.number]}"

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


# The choices people read come from the label tables next to the enums (dispatch/models.py).
CHANNEL_PAIRS = [(c.value, CHANNEL_LABELS[c])
                 for c in (Channel.PHONE, Channel.EMAIL, Channel.WEB, Channel.MESSAGING, Channel.WALK_IN)]
PRIORITY_PAIRS = [(p.value, PRIORITY_LABELS[p]) for p in (Priority.NORMAL, Priority.URGENT, Priority.HIGH,
                                                          Priority.LOW)]
CATEGORY_PAIRS = [(c.value, CATEGORY_LABELS[c]) for c in (Category.CHARGED, Category.CONTRACT, Category.FREE)]
RATING_PAIRS = [(n, _Numbered(n)) for n in ("5", "4", "3", "2", "1")]


def options(pairs: list[tuple[Any, str]]) -> list[Option]:
    return [Option(value, label) for value, label in pairs]


CHANNELS, PRIORITIES, CATEGORIES, RATINGS = (options(p) for p in (CHANNEL_PAIRS, PRIORITY_PAIRS, CATEGORY_PAIRS,
                                                                   RATING_PAIRS))
assert {c for c, _ in CHANNEL_PAIRS} == {c.value for c in Channel}
assert {p for p, _ in PRIORITY_PAIRS} == {p.value for p in Priority}
assert {c for c, _ in CATEGORY_PAIRS} == {c.value for c in Category}


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def blank_to_none(value: Any) -> Any:
    value = strip(value)
    return value or None


# ----------------------------------------------------------------------------- customers and what they own


class CustomerForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=40)])
    contact_name = StringField(_l("Contact person"), filters=[blank_to_none],
                               validators=[Optional(), Length(max=200)])
    email = StringField(_l("E-mail"), filters=[blank_to_none],
                        validators=[Optional(), Length(max=200), Email(check_deliverability=False)])
    notes = TextAreaField(_l("Notes"), filters=[blank_to_none], validators=[Optional(), Length(max=2000)])
    # Shown only when the name or phone is already on file (a new customer only).
    confirm_duplicate = BooleanField(_l("This is a different customer: add it anyway"))


class SiteForm(FlaskForm):
    address = StringField(_l("Address"), filters=[strip], validators=[DataRequired(), Length(max=500)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])


class SitePlaceForm(FlaskForm):
    """The dispatcher corrects where a site is: a place the address may mean (`code`), or coordinates."""
    code = HiddenField(filters=[blank_to_none], validators=[Optional(), Length(max=40)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])


class EquipmentForm(FlaskForm):
    site_id = SelectField(_l("Site"), coerce=int, validators=[InputRequired(message=_l("Pick the site."))])
    model = StringField(_l("Model"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), filters=[strip],
                                validators=[DataRequired(), Length(max=200)])
    warranty_until = DateField(_l("Warranty until"), validators=[Optional(), DateInRange()])


class ContractForm(FlaskForm):
    number = StringField(_l("Contract number"), filters=[strip], validators=[DataRequired(), Length(max=60)])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired(message=_l("Give the first day.")), DateInRange()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired(message=_l("Give the last day.")), DateInRange()])
    equipment_ids = SelectMultipleField(_l("Covered equipment (none ticked: all of the customer's equipment)"),
                                        coerce=int, validators=[Optional()],
                                        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    covers_parts = BooleanField(_l("Covers parts"))
    fee = StringField(_l("Contract fee (per billing period)"), filters=[strip],
                      validators=[Optional(), Length(max=20)])
    billing_period = SelectField(_l("Billing period"),
                                 choices=[Option("", _l("Not invoiced"))]
                                 + [Option(v, t) for v, t in BILLING_PERIOD_LABELS.items()], default="")
    notes = TextAreaField(_l("Notes"), filters=[blank_to_none], validators=[Optional(), Length(max=2000)])


# ----------------------------------------------------------------------------- calls


class CallForm(FlaskForm):
    """The call itself. Customer, site and equipment are picked on the page and checked by the view."""

    customer_id = HiddenField()
    site_id = RadioField(_l("Site"), coerce=int, validate_choice=False, validators=[Optional()])
    equipment_id = RadioField(_l("Equipment"), coerce=int, validate_choice=False, validators=[Optional()])
    problem_type = StringField(_l("Problem type"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    priority = SelectField(_l("Priority"), choices=PRIORITIES, default="normal")
    channel = SelectField(_l("Channel"), choices=CHANNELS, default="phone")
    description = TextAreaField(_l("What the customer says"), filters=[strip],
                                validators=[DataRequired(), Length(max=5000)])
    on_site = BooleanField(_l("Site visit needed"), default=True)
    required_skill = StringField(_l("Required skill"), filters=[blank_to_none],
                                 validators=[Optional(), Length(max=60)])


class CallEditForm(FlaskForm):
    """Correcting a call that is not booked yet (the customer stays; site and equipment are theirs)."""

    site_id = SelectField(_l("Site"), coerce=int, validators=[InputRequired(message=_l("Pick the site."))])
    equipment_id = SelectField(_l("Equipment"), coerce=int, validators=[InputRequired()])
    problem_type = StringField(_l("Problem type"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    priority = SelectField(_l("Priority"), choices=PRIORITIES)
    channel = SelectField(_l("Channel"), choices=CHANNELS)
    description = TextAreaField(_l("What the customer says"), filters=[strip],
                                validators=[DataRequired(), Length(max=5000)])
    required_skill = StringField(_l("Required skill"), filters=[blank_to_none],
                                 validators=[Optional(), Length(max=60)])


class CancelCallForm(FlaskForm):
    reason = TextAreaField(_l("Why is the call cancelled?"), filters=[strip],
                           validators=[DataRequired(message=_l("Say why the call is cancelled.")),
                                       Length(max=1000)])


class _Inline(FlaskForm):
    """A part of the intake form saved by its own button; the page's one CSRF token covers it."""

    class Meta:
        csrf = False


class NewCustomerForm(_Inline):
    name = StringField(_l("Customer name"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=40)])
    contact_name = StringField(_l("Contact person"), filters=[blank_to_none],
                               validators=[Optional(), Length(max=200)])
    confirm_duplicate = BooleanField(_l("This is a different customer: add it anyway"))


class NewSiteForm(_Inline):
    address = StringField(_l("Address"), filters=[strip], validators=[DataRequired(), Length(max=500)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])


class NewEquipmentForm(_Inline):
    model = StringField(_l("Model"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), filters=[strip],
                                validators=[DataRequired(), Length(max=200)])
    warranty_until = DateField(_l("Warranty until"), validators=[Optional(), DateInRange()])


class NoteForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=options([*CHANNEL_PAIRS, ("internal", CHANNEL_LABELS["internal"])]),
                          default="phone")
    text = TextAreaField(_l("What was said / promised"), filters=[strip],
                         validators=[DataRequired(), Length(max=5000)])
    next_follow_up = DateTimeLocalField(_l("Next follow-up"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                        validators=[Optional(), DateInRange(with_time=True)])
    kind = SelectField(_l("Type"), choices=options([("", _l("Not said")), *NOTE_KIND_LABELS.items()]), default="")
    promise = StringField(_l("Promised to the customer"), filters=[strip], validators=[Optional(), Length(max=2000)])
    promised_by = DateTimeLocalField(_l("Promised by"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[Optional(), DateInRange(with_time=True)])
    escalated_authority = BooleanField(_l("Complaint escalated to a higher authority"))
    safety_risk = BooleanField(_l("Safety risk"))


class OverrideForm(FlaskForm):
    category = SelectField(_l("New category"), choices=CATEGORIES)
    reason = TextAreaField(_l("Reason (kept in the audit trail)"), filters=[strip],
                           validators=[DataRequired(message=_l("Say why the category changes.")),
                                       Length(max=1000)])


class FeedbackForm(FlaskForm):
    """The follow-up call's two questions: solved? and the rating (or none: the customer would not rate)."""
    solved = RadioField(_l("Is the problem solved?"), default="yes",
                        choices=options([("yes", _l("Yes, solved")), ("no", _l("No, not solved"))]))
    rating = SelectField(_l("Rating"), choices=[*RATINGS, Option("", _l("Would not rate"))], default="5")
    comment = TextAreaField(_l("Comment"), filters=[blank_to_none], validators=[Optional(), Length(max=2000)])


class CallFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip], validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validate_choice=False)
    category = SelectField(_l("Category"), choices=options([("", _l("Any category")), *CATEGORY_PAIRS]),
                           validate_choice=False)
    priority = SelectField(_l("Priority"), choices=options([("", _l("Any priority")), *PRIORITY_PAIRS]),
                           validate_choice=False)
    overdue = BooleanField(_l("Overdue only"))
    received_from = DateField(_l("Received from"), validators=[Optional(), DateInRange()])
    received_to = DateField(_l("Received until"), validators=[Optional(), DateInRange()])


# ----------------------------------------------------------------------------- user accounts (admin)

ROLE_CHOICES = options([(r.value, ROLE_LABELS[r]) for r in (Role.DISPATCHER, Role.TECHNICIAN, Role.MANAGER,
                                                             Role.FINANCE, Role.ADMIN)])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(max=80), Regexp(r"^[\w.@+-]+$", message=_l("letters, digits and . @ + - _ only"))])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Optional(), Email(), Length(max=200)])
    # Length and common passwords: dispatch/core/passwords.py, the one rule for every way a password is set.
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active (may log in)"), default=True)
