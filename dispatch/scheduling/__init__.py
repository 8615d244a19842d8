"""Scheduling: booking visits, ranking suggestions, the technicians' calendars.

booking    book, move and cancel a visit; the overlap, window and availability checks
ranking    the suggestion model on plain data (shared with the bench)
plans      the same on the database: plans, travel model, the queue of calls to book
calendars  working hours, time off, skills and base
visits     the visit loader and the local day window
lanes      the board's day and week as data
"""
