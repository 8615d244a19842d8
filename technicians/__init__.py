"""Work on site and in the workshop: the technician's phone pages, sign-off, payment, carry-back, admin time.
Its blueprints and the voucher hook are wired by the application factory (dispatch/app.py)."""
