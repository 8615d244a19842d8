"""Flask-WTF forms of the finance pages (CSRF on each). Numbers are checked by the services, which
give the same messages to the pages and the API."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from dispatch.core.i18n import _, _l
from dispatch.forms import blank_to_none, strip

from .parsing import rate_from_percent


class PricesForm(FlaskForm):
    call_out_fee = StringField(_l("Call-out fee"), filters=[strip], validators=[DataRequired(), Length(max=20)])
    labor_rate_per_hour = StringField(_l("Labor per hour"), filters=[strip],
                                      validators=[DataRequired(), Length(max=20)])
    tax_percent = StringField(_l("Tax rate (%)"), filters=[strip], validators=[DataRequired(), Length(max=20)])
    currency = StringField(_l("Currency"), filters=[strip], validators=[DataRequired(), Length(min=3, max=3)])

    def validate_tax_percent(self, field: Field) -> None:
        if rate_from_percent(field.data) is None:
            raise ValidationError(_("a number like 13"))

    @property
    def tax_rate(self) -> Decimal | None:
        """The percent finance typed as the rate the price list keeps (13 -> 0.13)."""
        return rate_from_percent(self.tax_percent.data)


class PartForm(FlaskForm):
    sku = StringField(_l("SKU"), filters=[strip], validators=[DataRequired(), Length(max=60)])
    name = StringField(_l("Part name"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    # "pcs" in English, "个" in Chinese: the unit as the person adding the part writes it.
    unit = StringField(_l("Unit"), filters=[strip], default=lambda: str(_l("pcs")),
                       validators=[DataRequired(), Length(max=20)])
    unit_price = StringField(_l("Unit price"), filters=[strip], validators=[DataRequired(), Length(max=20)])
    unit_cost = StringField(_l("Unit cost"), filters=[blank_to_none], validators=[Optional(), Length(max=20)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
