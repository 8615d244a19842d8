"""Flask-WTF forms of the phone pages. Field names are the JSON fields of the on-site API, so the
offline outbox can turn any of these forms into the API call (parts rows: parts-0-sku, parts-0-quantity)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

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

from billing.models import ChargeLine
from billing.services.parts import format_quantity
from dispatch.core.i18n import _l
from dispatch.core.validate import DateInRange

from .models import LABELS, WorkRecord

PART_ROWS = 3


# How the customer pays on the spot (billing.models.PAYMENT_METHODS), as the phone offers them.
PAYMENT_METHOD_LABELS = {"cash": _l("Cash"), "card": _l("Card"), "transfer": _l("Transfer"),
                         "wechat": _l("WeChat Pay"), "alipay": _l("Alipay")}


def _options(labels: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


class ActionForm(FlaskForm):
    """On my way / Arrived: nothing but the CSRF token."""


class PartRow(Form):
    sku = StringField(_l("Part (sku)"), validators=[Optional(), Length(max=60)])
    quantity = StringField(_l("Qty"), default="1", validators=[Optional(), Length(max=12)])


class CompleteForm(FlaskForm):
    work_summary = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=5000)])
    labor_minutes = IntegerField(_l("Labor (minutes)"), validators=[InputRequired(), NumberRange(min=0, max=1440)])
    parts = FieldList(FormField(PartRow), min_entries=PART_ROWS)
    outcome = RadioField(_l("Outcome"), choices=_options(LABELS["outcome"]), default="fixed",
                         validators=[DataRequired()])

    def show_record(self, record: WorkRecord, parts: Sequence[ChargeLine]) -> None:
        """Fill the form with the work recorded so far (to correct it), one blank part row to spare."""
        self.work_summary.data = record.work_summary
        self.labor_minutes.data = record.labor_minutes
        self.outcome.data = record.outcome
        while len(self.parts.entries) < len(parts) + 1:
            self.parts.append_entry()
        for row, line in zip(self.parts.entries, parts, strict=False):
            row.form.sku.data = line.sku
            row.form.quantity.data = format_quantity(line.quantity)

    def part_rows(self) -> list[dict[str, Any]]:
        """The part rows as the API's part list, for the one parser of part lists."""
        return [{"sku": row.form.sku.data, "quantity": row.form.quantity.data} for row in self.parts.entries]


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    method = RadioField(_l("Method"), choices=_options(PAYMENT_METHOD_LABELS),
                        default="cash", validators=[DataRequired()])
    # The form's idempotency key: a double tap or a re-sent form records one payment (see page_view).
    request_key = HiddenField(default=lambda: uuid.uuid4().hex)


class SignatureForm(FlaskForm):
    signer_name = StringField(_l("Customer's name"), validators=[DataRequired(), Length(max=200)])
    image_png_base64 = HiddenField(validators=[DataRequired(message=_l("The customer has not signed yet."))])
    technician_confirmed = BooleanField(_l("I confirm the work record above is complete and correct"),
                                        validators=[DataRequired(message=_l("Tick to confirm the work record."))])


class AdminWorkForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired(), DateInRange()])
    activity = SelectField(_l("Activity"), choices=_options(LABELS["activity"]), validators=[DataRequired()])
    minutes = IntegerField(_l("Minutes"), validators=[InputRequired(), NumberRange(min=1, max=1440)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
