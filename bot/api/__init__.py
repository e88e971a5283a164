"""The HTTP API channel (factor 6): `http` serves `/threads`, `outbound` sends the approvals
of threads launched through it."""
