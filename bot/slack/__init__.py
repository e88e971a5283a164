"""The Slack channel: triggers, questions, approval cards and answers, through Bolt.

`blocks` builds Block Kit (pure), `inbound` reads Slack's payloads (pure), `channel` sends a
thread's outbound events, and the listener modules (`messages`, `actions`, `modals`) turn
Slack's requests into `Service` calls. `app` puts them together for the web process.
"""
