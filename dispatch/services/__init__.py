"""The desk's rules, one module per noun: `users` (accounts, technicians' working hours), `customers`
(customers and their equipment), `sites` (placed on the map), `contracts` (service contracts and their fees),
`calls` (repair calls from intake to closure) and `queues` (what the desk's pages list). Plain functions on
explicit arguments: they flush, never commit, and raise domain errors."""
