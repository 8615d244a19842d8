"""The rules of work on site, by noun: `progress` (on my way, arrived, the visit's steps), `work` (the work
record: labor, parts through billing, outcome), `payments` (money taken on site), `signoff` (the customer's
signature and the sealed content), `admin_work` (category D time), `actions` (what a visit offers now).
Carry-back repairs and the workshop board will get their own module here."""
