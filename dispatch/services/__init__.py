"""The desk's rules, one module per noun: `users` (accounts, technicians' working hours), `customers`
(customers, their sites, equipment and contracts), `calls` (repair calls from intake to closure) and
`queues` (what the desk's pages list). Plain functions on explicit arguments: they flush, never commit,
and raise domain errors."""
