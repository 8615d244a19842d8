"""The whole demo, package by package: the desk first, then billing's prices and charges, then the
technician's day. A top module (DESIGN.md): the one place the demo of all three packages is put together."""

from __future__ import annotations

import billing.demo
import technicians.demo

from . import demo


def seed_demo() -> bool:
    """Load the demo once; False (and nothing changed) when it is already there."""
    if not demo.seed():
        return False
    billing.demo.seed()  # prices (80.00 call-out, 120.00/h, 13 % tax, CNY), parts, finished calls' charges
    technicians.demo.seed()  # the demo technician's day: a signed visit, tomorrow's, admin time
    return True
