"""Contract fees: each maintenance contract with a fee and a billing period (monthly, quarterly, yearly) is
invoiced once per period, in advance, in the INV series.

"Contract invoices due" may run as often as anyone likes (a button, the API, a nightly job): the unique
key (contract_id, period_start) on invoices makes each period's invoice exist exactly once. The contract row
is locked before its periods are read, and each invoice is written inside a savepoint, so two runs at the same
moment issue every period once and leave no gap in the numbers (a lost race rolls its number back).

Periods run from the contract's first day in steps of 1, 3 or 12 months; the last one ends with the
contract and is charged for its share of days (half-up to cents). A period is due from its first day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.core import audit
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import local_date_of, local_today, utcnow
from dispatch.core.types import money
from dispatch.models import Contract, Customer

from ..models import INVOICE_SERIES, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ..parsing import ZERO
from .fee_lines import line_description
from .invoices import _seller, payment_terms_days
from .pending import tax_on
from .prices import current_prices

PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
BILLING_PERIODS = tuple(PERIOD_MONTHS)
CONTRACT_FEE_CATEGORY = "contract_fee"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    amount: Decimal
    full: bool  # False: the contract ends inside it (charged for its share of days)


def periods(contract: Contract, *, until: date | None = None) -> list[Period]:
    """The contract's billing periods that have begun by `until` (all of them without it)."""
    if contract.fee is None or contract.billing_period not in PERIOD_MONTHS:
        return []
    months = PERIOD_MONTHS[contract.billing_period]
    out: list[Period] = []
    n = 0
    while True:
        start = add_months(contract.starts_on, months * n)
        if start > contract.ends_on or (until is not None and start > until):
            return out
        natural_end = add_months(contract.starts_on, months * (n + 1)) - timedelta(days=1)
        end = min(natural_end, contract.ends_on)
        if end == natural_end:
            amount = money(contract.fee)
        else:
            share = Decimal((end - start).days + 1) / Decimal((natural_end - start).days + 1)
            amount = money(contract.fee * share)
        out.append(Period(start, end, amount, end == natural_end))
        n += 1


# ----------------------------------------------------------------------------- issuing


def _buyer_address(customer: Customer) -> str | None:
    sites = [s for s in customer.sites if getattr(s, "archived_at", None) is None] or list(customer.sites)
    return sites[0].address if sites else None


def _invoiced_starts(contract: Contract) -> set[date]:
    return {d for d in db.session.scalars(select(Invoice.period_start).where(Invoice.contract_id == contract.id))
            if d is not None}


def _issue(actor: User | None, contract: Contract, period: Period) -> Invoice:
    # The same seller snapshot, terms and tax arithmetic as every other invoice (invoices, pending).
    prices = current_prices()
    now = utcnow()
    issued_on = local_date_of(now)
    subtotal = money(period.amount)
    tax = tax_on(subtotal, prices.tax_rate)
    customer = contract.customer
    invoice = Invoice(
        number=next_number(INVOICE_SERIES, issued_on.year), customer_id=customer.id, kind=InvoiceKind.CONTRACT,
        status=InvoiceStatus.ISSUED, issued_at=now, issued_by_id=actor.id if actor is not None else None,
        due_on=issued_on + timedelta(days=payment_terms_days()), currency=prices.currency,
        tax_rate=prices.tax_rate, subtotal=subtotal, tax=tax, total=subtotal + tax, buyer_name=customer.name,
        buyer_address=_buyer_address(customer), buyer_tax_id=getattr(customer, "tax_id", None) or None,
        contract_id=contract.id, period_start=period.start, period_end=period.end, **_seller())
    db.session.add(invoice)
    db.session.flush()
    db.session.add(InvoiceLine(invoice_id=invoice.id, call_id=None, charge_line_id=None,
                               description=line_description(contract, period), quantity=Decimal(1),
                               unit_price=subtotal, amount=subtotal, covered=False, covered_by=None,
                               category=CONTRACT_FEE_CATEGORY, position=0, kind=CONTRACT_FEE_CATEGORY))
    db.session.flush()
    audit.record(actor, invoice, "invoice.issued",
                 after={**audit.snapshot(invoice, "number", "kind", "customer_id", "subtotal", "tax", "total",
                                         "contract_id", "period_start", "period_end")})
    return invoice


def billable_contracts() -> list[Contract]:
    return list(db.session.scalars(select(Contract).where(Contract.fee.is_not(None),
                                                          Contract.billing_period.is_not(None),
                                                          Contract.cancelled_at.is_(None))
                                   .order_by(Contract.starts_on, Contract.id)))


def due_periods(contract: Contract, today: date | None = None) -> list[Period]:
    """The periods begun by `today` that have no invoice yet."""
    done = _invoiced_starts(contract)
    return [p for p in periods(contract, until=today or local_today()) if p.start not in done]


def issue_contract_invoices(actor: User | None, today: date | None = None) -> list[Invoice]:
    """Issue every contract period due by `today` (default: the local today) that has no invoice yet;
    returns the invoices issued now (empty when everything is already invoiced)."""
    on = today or local_today()
    issued: list[Invoice] = []
    for contract in billable_contracts():
        # Lock the contract: a run at the same moment waits here, then sees what this one committed.
        db.session.execute(select(Contract.id).where(Contract.id == contract.id).with_for_update())
        for period in due_periods(contract, on):
            savepoint = db.session.begin_nested()
            try:
                invoice = _issue(actor, contract, period)
                savepoint.commit()
            except IntegrityError:
                savepoint.rollback()  # issued by another run at the same moment: its number is given back
                continue
            issued.append(invoice)
    return issued


def contract_invoices(limit: int = 200) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.kind == InvoiceKind.CONTRACT)
                                   .order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit)))


def preview(today: date | None = None) -> list[tuple[Contract, list[Period]]]:
    """Each billable contract with the periods a run would invoice now (finance sees them before pressing)."""
    on = today or local_today()
    return [(c, due_periods(c, on)) for c in billable_contracts()]


def due_total(rows: list[tuple[Contract, list[Period]]]) -> Decimal:
    return money(sum((p.amount for _c, ps in rows for p in ps), ZERO))
