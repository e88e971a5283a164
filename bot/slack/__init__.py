"""The Slack channel: triggers, questions, approval cards and answers, through Bolt.

`inbound` reads Slack's payloads (pure), `http` is `POST /slack/events`, `outbound` sends a
thread's outbound events, `cards` builds Block Kit (pure; `editform` the Edit modal). The
listener modules (`messages`, `actions`, `modals`) turn Slack's requests into `Service`
calls with what `resources` holds; `app` puts them together for the web process.
"""
