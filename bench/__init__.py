"""The benchmark suite: `make bench` (full) and `make bench-smoke` (tiny counts, in `make test`).

Every figure is measured against a baseline in the same run, on the same machine; the real
`web` and `worker` processes are measured from outside, with the load generator and the
Slack/Anthropic stand-ins in processes of their own.
"""
