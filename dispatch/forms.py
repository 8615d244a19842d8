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

from .models import Category, Channel, Priority

CHANNEL_PAIRS = [("phone", "Phone"), ("email", "E-mail"), ("web", "Web form"), ("messaging", "Messaging"),
                 ("walk_in", "Walk-in")]
PRIORITY_PAIRS = [("normal", "Normal"), ("urgent", "Urgent"), ("high", "High"), ("low", "Low")]
CATEGORY_PAIRS = [("charged", "Charged"), ("contract", "Contract"), ("free", "Free")]
RATING_PAIRS = [("5", "5 · very satisfied"), ("4", "4 · satisfied"), ("3", "3 · average"),
                ("2", "2 · unsatisfied"), ("1", "1 · very unsatisfied")]


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
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    phone = StringField("Phone", filters=[strip], validators=[DataRequired(), Length(max=40)])
    contact_name = StringField("Contact person", filters=[blank_to_none], validators=[Optional(), Length(max=200)])
    email = StringField("E-mail", filters=[blank_to_none],
                        validators=[Optional(), Length(max=200), Email(check_deliverability=False)])
    notes = TextAreaField("Notes", filters=[blank_to_none], validators=[Optional(), Length(max=2000)])


class SiteForm(FlaskForm):
    address = StringField("Address", filters=[strip], validators=[DataRequired(), Length(max=500)])
    latitude = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])


class EquipmentForm(FlaskForm):
    site_id = SelectField("Site", coerce=int, validators=[InputRequired(message="Pick the site.")])
    model = StringField("Model", filters=[strip], validators=[DataRequired(), Length(max=200)])
    serial_number = StringField("Serial number", filters=[strip], validators=[DataRequired(), Length(max=200)])
    warranty_until = DateField("Warranty until", validators=[Optional()])


class ContractForm(FlaskForm):
    number = StringField("Contract number", filters=[strip], validators=[DataRequired(), Length(max=60)])
    starts_on = DateField("Starts on", validators=[InputRequired(message="Give the first day.")])
    ends_on = DateField("Ends on", validators=[InputRequired(message="Give the last day.")])
    equipment_ids = SelectMultipleField("Covered equipment (none ticked: all of the customer's equipment)",
                                        coerce=int, validators=[Optional()],
                                        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    covers_parts = BooleanField("Covers parts")
    notes = TextAreaField("Notes", filters=[blank_to_none], validators=[Optional(), Length(max=2000)])


# ----------------------------------------------------------------------------- calls


class CallForm(FlaskForm):
    """The call itself. Customer, site and equipment are picked on the page and checked by the view."""

    customer_id = HiddenField()
    site_id = RadioField("Site", coerce=int, validate_choice=False, validators=[Optional()])
    equipment_id = RadioField("Equipment", coerce=int, validate_choice=False, validators=[Optional()])
    problem_type = StringField("Problem type", filters=[strip], validators=[DataRequired(), Length(max=100)])
    priority = SelectField("Priority", choices=PRIORITIES, default="normal")
    channel = SelectField("Channel", choices=CHANNELS, default="phone")
    description = TextAreaField("What the customer says", filters=[strip],
                                validators=[DataRequired(), Length(max=5000)])
    on_site = BooleanField("Site visit needed", default=True)
    required_skill = StringField("Required skill", filters=[blank_to_none], validators=[Optional(), Length(max=60)])


class _Inline(FlaskForm):
    """A part of the intake form saved by its own button; the page's one CSRF token covers it."""

    class Meta:
        csrf = False


class NewCustomerForm(_Inline):
    name = StringField("Customer name", filters=[strip], validators=[DataRequired(), Length(max=200)])
    phone = StringField("Phone", filters=[strip], validators=[DataRequired(), Length(max=40)])
    contact_name = StringField("Contact person", filters=[blank_to_none], validators=[Optional(), Length(max=200)])


class NewSiteForm(_Inline):
    address = StringField("Address", filters=[strip], validators=[DataRequired(), Length(max=500)])
    latitude = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])


class NewEquipmentForm(_Inline):
    model = StringField("Model", filters=[strip], validators=[DataRequired(), Length(max=200)])
    serial_number = StringField("Serial number", filters=[strip], validators=[DataRequired(), Length(max=200)])
    warranty_until = DateField("Warranty until", validators=[Optional()])


class NoteForm(FlaskForm):
    channel = SelectField("Channel", choices=options([*CHANNEL_PAIRS, ("internal", "Internal")]), default="phone")
    text = TextAreaField("What was said / promised", filters=[strip], validators=[DataRequired(), Length(max=5000)])
    next_follow_up = DateTimeLocalField("Next follow-up", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                        validators=[Optional()])


class OverrideForm(FlaskForm):
    category = SelectField("New category", choices=CATEGORIES)
    reason = TextAreaField("Reason (kept in the audit trail)", filters=[strip],
                           validators=[DataRequired(message="Say why the category changes."), Length(max=1000)])


class FeedbackForm(FlaskForm):
    rating = SelectField("Rating", choices=RATINGS, coerce=int)
    comment = TextAreaField("Comment", filters=[blank_to_none], validators=[Optional(), Length(max=2000)])


class CallFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", filters=[strip], validators=[Optional(), Length(max=200)])
    status = SelectField("Status", validate_choice=False)
    category = SelectField("Category", choices=options([("", "Any category"), *CATEGORY_PAIRS]), validate_choice=False)
    priority = SelectField("Priority", choices=options([("", "Any priority"), *PRIORITY_PAIRS]), validate_choice=False)
    overdue = BooleanField("Overdue only")


# ----------------------------------------------------------------------------- user accounts (admin)

ROLE_CHOICES = options([("dispatcher", "Dispatcher"), ("technician", "Technician"), ("manager", "Service manager"),
                        ("finance", "Finance"), ("admin", "Admin")])


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80),
                                                   Regexp(r"^[\w.@+-]+$", message="letters, digits and . @ + - _ only")])
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = StringField("E-mail", validators=[Optional(), Email(), Length(max=200)])
    password = PasswordField("Password", validators=[Optional(), Length(min=8, max=200)])
    active = BooleanField("Active (may log in)", default=True)
