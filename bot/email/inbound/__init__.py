"""Inbound mail into `ParsedEmail` (pure): raw MIME (`mime`), provider webhooks (`webhooks`,
`form`, `mailgun`), and the rules they share (`common`, `htmltext`, `reply`)."""
