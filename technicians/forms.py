"""Flask-WTF forms of the phone pages. Field names are the JSON fields of the on-site API, so the
offline outbox can turn any of these forms into the API call (parts rows: parts-0-sku, parts-0-quantity)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .models import ACTIVITY_LABELS, OUTCOME_LABELS

PART_ROWS = 3


def _options(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class ActionForm(FlaskForm):
    """On my way / Arrived: nothing but the CSRF token."""


class PartRow(Form):
    sku = StringField("Part (sku)", validators=[Optional(), Length(max=60)])
    quantity = StringField("Qty", default="1", validators=[Optional(), Length(max=12)])


class CompleteForm(FlaskForm):
    work_summary = TextAreaField("What was done", validators=[DataRequired(), Length(max=5000)])
    labor_minutes = IntegerField("Labor (minutes)", validators=[InputRequired(), NumberRange(min=0, max=1440)])
    parts = FieldList(FormField(PartRow), min_entries=PART_ROWS)
    outcome = RadioField("Outcome", choices=_options(OUTCOME_LABELS), default="fixed",
                         validators=[DataRequired()])


class PaymentForm(FlaskForm):
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)])
    method = RadioField("Method", choices=_options({"cash": "Cash", "card": "Card", "transfer": "Transfer"}),
                        default="cash", validators=[DataRequired()])
    request_key = HiddenField()


class SignatureForm(FlaskForm):
    signer_name = StringField("Customer's name", validators=[DataRequired(), Length(max=200)])
    image_png_base64 = HiddenField(validators=[DataRequired(message="The customer has not signed yet.")])
    technician_confirmed = BooleanField("I confirm the work record above is complete and correct",
                                        validators=[DataRequired(message="Tick to confirm the work record.")])


class AdminWorkForm(FlaskForm):
    date = DateField("Date", validators=[DataRequired()])
    activity = SelectField("Activity", choices=_options(ACTIVITY_LABELS), validators=[DataRequired()])
    minutes = IntegerField("Minutes", validators=[InputRequired(), NumberRange(min=1, max=1440)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])
