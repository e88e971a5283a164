"""The playground of `hitlbot dev`: a built-in Slack workspace, a mail catcher and a page.

Everything a person does on the page goes through the production routes: messages and clicks
are signed and POSTed to `/slack/events` as Slack would send them, mail is POSTed to
`/email/inbound`, and the bot's own Slack calls and mail go, through the real slack-sdk client
and SMTP sender, to the stand-ins served here. None of it exists in `hitlbot web`.
"""
