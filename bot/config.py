"""Settings, read from the environment or `.env` (every name is listed in `.env.example`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotConfigured(Exception):
    """A setting the operator must give is missing or rejected; the message names it and says
    how to set it. Not the model's doing: kept apart from its errors so nobody reads it as one."""


class Settings(BaseSettings):
    """The operator's configuration; names are part of the external contract (the README)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        use_attribute_docstrings=True,  # the docstrings below are the fields' descriptions
        hide_input_in_errors=True,  # a refused setting's error never echoes a secret
    )

    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    """Redis to use; `hitlbot dev` starts a private one when unset."""
    redis_prefix: str = Field(default="hitlbot", alias="HITLBOT_REDIS_PREFIX")
    """Prefix of every key, so several deployments (or test runs) can share one Redis."""
    redis_pool_size: int = Field(default=64, alias="HITLBOT_REDIS_POOL_SIZE")
    """Connections in the blocking Redis pool of one process."""
    redis_cluster: Literal["auto", "yes", "no"] = Field(
        default="auto", alias="HITLBOT_REDIS_CLUSTER"
    )
    """`auto` (asks the server named by `REDIS_URL` at start), `yes` (a Redis Cluster: one
    node's URL is enough) or `no` (one Redis, or a failover-aware endpoint in front of one)."""
    redis_ca_cert: str | None = Field(default=None, alias="HITLBOT_REDIS_CA_CERT")
    """With `rediss://`: a PEM file of the CAs to trust (default: the system's)."""
    redis_client_cert: str | None = Field(default=None, alias="HITLBOT_REDIS_CLIENT_CERT")
    """With `rediss://`: a PEM client certificate, for servers that require one."""
    redis_client_key: str | None = Field(default=None, alias="HITLBOT_REDIS_CLIENT_KEY")
    """With `rediss://`: the client certificate's PEM private key."""
    redis_replicas_ack: int = Field(default=0, ge=0, alias="HITLBOT_REDIS_REPLICAS_ACK")
    """Replicas that must hold a commit that answers a human (a decision, an answer, an
    ingested message, a launch) before hitlbot acknowledges it (`WAIT`); 0: none."""
    redis_replicas_timeout_s: float = Field(
        default=2.0, gt=0, alias="HITLBOT_REDIS_REPLICAS_TIMEOUT_S"
    )
    """Longest wait for those replicas; past it the request is answered 503 (the commit may
    stand or not: a retry is safe, and finds it if it does)."""

    anthropic_api_key: str | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    """Anthropic API key, needed for Claude's steps; the SDK reads it, hitlbot checks it is set."""
    model: str = Field(default="claude-sonnet-5-5", alias="HITLBOT_MODEL")
    """Claude model id used for every agent step; `offline` for the rule-based offline model
    (the default when `ANTHROPIC_API_KEY` is unset)."""
    llm_timeout: float = Field(default=60.0, alias="HITLBOT_LLM_TIMEOUT")
    """Seconds one Messages API request may take."""
    llm_max_tokens: int = Field(default=1024, alias="HITLBOT_LLM_MAX_TOKENS")
    """`max_tokens` of each Messages API request."""
    llm_sdk_retries: int = Field(default=2, alias="HITLBOT_LLM_SDK_RETRIES")
    """Retries the anthropic SDK makes itself before the thread-level retry takes over."""
    llm_retry_schedule: str = Field(default="2,4,8,16,30", alias="HITLBOT_LLM_RETRY_SCHEDULE")
    """Seconds between thread-level retries of a failed LLM call; then the thread fails."""
    context_token_budget: int = Field(default=6000, alias="HITLBOT_CONTEXT_TOKENS")
    """Rough token budget of the rendered event log before old results are compacted."""
    prompt_cache: bool = Field(default=True, alias="HITLBOT_PROMPT_CACHE")
    """Mark prompt-cache breakpoints (tools, system prompt, event log) so each step reads the
    previous step's prefix at a tenth of the input price."""
    prompt_cache_min_tokens: int | None = Field(
        default=None, alias="HITLBOT_PROMPT_CACHE_MIN_TOKENS"
    )
    """Shortest prefix worth a cache breakpoint; unset: the model's documented minimum."""
    model_provider: Literal["anthropic", "bedrock", "vertex"] = Field(
        default="anthropic", alias="HITLBOT_MODEL_PROVIDER"
    )
    """Where Claude is called: the Anthropic API, AWS Bedrock (`AWS_REGION` and the AWS
    credentials) or Google Vertex AI (`CLOUD_ML_REGION`, `ANTHROPIC_VERTEX_PROJECT_ID` and
    Google credentials)."""
    prices_file: str | None = Field(default=None, alias="HITLBOT_PRICES")
    """JSON file of prices in USD per million tokens by model-id prefix
    (`{"claude-x": {"input": 3, "output": 15}}`), over the built-in table."""
    max_message_chars: int = Field(default=20_000, alias="HITLBOT_MAX_MESSAGE_CHARS")
    """Longest human message accepted (API, Slack, email); longer is refused."""

    step_lease_s: float = Field(default=30.0, alias="HITLBOT_STEP_LEASE_S")
    """Seconds before a step held by a dead worker is delivered again."""
    thread_ttl_s: int = Field(default=30 * 24 * 3600, alias="HITLBOT_THREAD_TTL_S")
    """Seconds a thread is kept after its last change."""
    queue_name: str = Field(default="hitlbot:steps", alias="HITLBOT_QUEUE")
    """Redis stream that carries step jobs."""
    worker_concurrency: int = Field(default=200, alias="HITLBOT_WORKER_CONCURRENCY")
    """Steps one worker process runs at once (they mostly wait on the LLM)."""

    api_token: str | None = Field(default=None, alias="HITLBOT_API_TOKEN")
    """Bearer token required on `/threads`; unset: the API refuses all (`hitlbot dev`: `dev`)."""
    api_trusted_decisions: bool = Field(default=False, alias="HITLBOT_API_TRUSTED_DECISIONS")
    """Development only: decisions made with `HITLBOT_API_TOKEN` count as the `user` they
    name, unchecked (`hitlbot dev` turns it on); off: that token decides only as `operator`."""
    api_keys: str = Field(default="", alias="HITLBOT_API_KEYS")
    """API clients, `KEY=IDENTITY` comma-separated: each key decides (and answers) only as its
    identity, a user id the policy may list, or `service:NAME`, which launches and reads but
    never decides. Keys: 16+ characters without `,` or `=`."""
    response_webhook_url: str | None = Field(default=None, alias="HITLBOT_RESPONSE_WEBHOOK_URL")
    """Where each answered external call (`/humanlayer/v1`) is POSTed, with its `state`:
    HMAC-signed, retried with backoff, the call id as `Idempotency-Key`."""
    response_webhook_secret: str | None = Field(
        default=None, alias="HITLBOT_RESPONSE_WEBHOOK_SECRET"
    )
    """Key of the response webhook's HMAC-SHA256 signature (unset: `HITLBOT_API_TOKEN`)."""
    policy_file: str | None = Field(default=None, alias="HITLBOT_POLICY")
    """TOML or YAML file of approval rules per agent and tool (approvers, quorum,
    self-approval); refused at start, with the line, if it is invalid."""
    agent_paths: str = Field(default="", alias="HITLBOT_AGENT_PATHS")
    """Folders of your own agents besides the bundled ones, separated by `:` (each holds
    `<name>/agent.py` defining `AGENT`); a name claimed twice stops the start."""
    offline_script: str | None = Field(default=None, alias="HITLBOT_OFFLINE_SCRIPT")
    """YAML file of scripted replies for the offline model, per agent (a test or a demo):
    `{agent: [{tool: name, args: {...}}, ...]}`, played in order in each thread."""
    port: int = Field(default=8000, alias="PORT")
    """Port of the web process."""

    slack_bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    """Bot token (`xoxb-...`); the Slack channel is on when it is set."""
    slack_signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    """Checks the signature of Slack's requests to `POST /slack/events`."""
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    """Slack Web API base; tests and offline runs point it at a stand-in."""
    slack_app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    """App-level token (`xapp-...`): receive Slack over Socket Mode instead of the Request URL."""
    slack_approval_channel: str | None = Field(default=None, alias="SLACK_APPROVAL_CHANNEL")
    """Channel id for approval cards of threads that did not start in Slack."""
    slack_approvers: str = Field(default="", alias="SLACK_APPROVERS")
    """Comma-separated Slack user ids allowed to approve; empty: nobody can approve in Slack."""
    slack_routes: str = Field(default="", alias="HITLBOT_SLACK_ROUTES")
    """Channel-to-agent routing, e.g. `C123=deploy,C456=support`; others use the default."""
    slack_default_agent: str = Field(default="deploy", alias="HITLBOT_SLACK_DEFAULT_AGENT")
    """Agent for mentions in channels without a route, and for direct messages."""
    slack_working_reaction: str = Field(default="eyes", alias="HITLBOT_SLACK_WORKING_REACTION")
    """Reaction put on a person's message while the agent works on it, where Slack cannot show
    the status line; empty turns it off."""
    slack_status: bool = Field(default=True, alias="HITLBOT_SLACK_STATUS")
    """Show the agent's status line under the Slack thread while it works ("is thinking…")."""
    slack_streaming: bool = Field(default=True, alias="HITLBOT_SLACK_STREAMING")
    """Stream Claude's final answers into the Slack thread as they are written."""

    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    """Outbound mail relay; email threads get no answers by mail while it is unset."""
    smtp_port: int = Field(default=587, alias="SMTP_PORT")
    """Port of the relay (587 for STARTTLS, 465 for implicit TLS, 25 for plain)."""
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    """Login at the relay (AUTH), when it needs one."""
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    """Password of `SMTP_USERNAME`."""
    smtp_starttls: bool = Field(default=True, alias="SMTP_STARTTLS")
    """Upgrade the connection with STARTTLS (required when on); ignored with `SMTP_TLS`."""
    smtp_tls: bool = Field(default=False, alias="SMTP_TLS")
    """Implicit TLS from the first byte (port 465) instead of STARTTLS."""
    smtp_timeout: float = Field(default=30.0, alias="SMTP_TIMEOUT")
    """Seconds for connecting and for each SMTP command; past it the send is retried later."""
    smtp_validate_certs: bool = Field(default=True, alias="SMTP_VALIDATE_CERTS")
    """Check the relay's TLS certificate; turn off only for a relay on a trusted network."""
    smtp_ca_file: str | None = Field(default=None, alias="SMTP_CA_FILE")
    """PEM file of CA certificates to trust for the relay (a private CA, a self-signed cert)."""
    email_from: str | None = Field(default=None, alias="EMAIL_FROM")
    """The bot's own address: the default sender, and the domain of its Message-IDs."""
    email_inbound_secret: str | None = Field(default=None, alias="EMAIL_INBOUND_SECRET")
    """Secret required on `POST /email/inbound` (Bearer, or the basic-auth password)."""
    mailgun_signing_key: str | None = Field(default=None, alias="MAILGUN_WEBHOOK_SIGNING_KEY")
    """Mailgun's HTTP webhook signing key: a Mailgun route's signed POST needs no secret."""
    email_routes: str = Field(default="", alias="HITLBOT_EMAIL_ROUTES")
    """Address-to-agent routing, e.g. `support@example.com=support,billing@example.com=support`."""
    email_default_agent: str = Field(default="support", alias="HITLBOT_EMAIL_DEFAULT_AGENT")
    """Agent for new mail to an address without a route."""
    email_max_bytes: int = Field(default=10_000_000, alias="HITLBOT_EMAIL_MAX_BYTES")
    """Largest inbound mail (request body) accepted on `/email/inbound`; larger gets 413."""
    delivery_retry_schedule: str = Field(
        default="5,30,120,600,1800", alias="HITLBOT_DELIVERY_RETRY_SCHEDULE"
    )
    """Seconds between retries of a send that failed for now (a relay's 4xx, no connection)."""

    deploy_webhook_url: str | None = Field(default=None, alias="DEPLOY_WEBHOOK_URL")
    """Where the `deploy` agent POSTs approved deploys."""

    def offline_model(self) -> bool:
        """Whether the offline model answers: `HITLBOT_MODEL=offline`, or no API key and no
        model chosen (a chosen Claude model without a key fails, saying the key is missing)."""
        if self.model == "offline":
            return True
        if self.model_provider != "anthropic":  # the cloud's own credentials, no API key
            return False
        return not self.anthropic_api_key and "model" not in self.model_fields_set

    def model_label(self) -> str:
        """The model as people should read it: `offline` or the Claude model id."""
        return "offline" if self.offline_model() else self.model

    def agent_roots(self) -> list[str]:
        """The folders named by `HITLBOT_AGENT_PATHS`, in order."""
        return [part.strip() for part in self.agent_paths.split(":") if part.strip()]

    def slack_approver_ids(self) -> frozenset[str]:
        """The Slack user ids in `SLACK_APPROVERS`."""
        return frozenset(part.strip() for part in self.slack_approvers.split(",") if part.strip())

    @field_validator("api_keys")
    @classmethod
    def _api_keys_parse(cls, value: str) -> str:
        api_keys(value)  # refused at start, not at the first request
        return value

    def api_key_identities(self) -> dict[str, str]:
        """`HITLBOT_API_KEYS` as {key: identity}; ValueError saying which entry is wrong."""
        return api_keys(self.api_keys)

    def retry_delays(self) -> list[float]:
        """The thread-level LLM retry schedule, in seconds."""
        return [float(part) for part in self.llm_retry_schedule.split(",") if part.strip()]

    def delivery_retry_delays(self) -> list[float]:
        """The retry schedule of a send that failed for now, in seconds."""
        return [float(part) for part in self.delivery_retry_schedule.split(",") if part.strip()]


def _stripped(key: str) -> str | None:
    return key.strip() or None


def agent_routes(
    spec: str,
    setting: str,
    shape: str,
    *,
    separators: str = ",",
    key: Callable[[str], str | None] = _stripped,
) -> dict[str, str]:
    """A routing setting's `KEY=agent` entries (`HITLBOT_SLACK_ROUTES`, `HITLBOT_EMAIL_ROUTES`)
    as {key(KEY): agent}, split on any of `separators`, blank entries skipped; ValueError
    naming `setting` and the entry that is not `shape` (no `=`, no agent, `key` gives None)."""
    for separator in separators[1:]:
        spec = spec.replace(separator, separators[0])
    routes: dict[str, str] = {}
    for entry in (part.strip() for part in spec.split(separators[0])):
        if not entry:
            continue
        left, eq, agent = entry.partition("=")
        found = key(left)
        if not eq or found is None or not agent.strip():
            raise ValueError(f"{setting}: {entry!r} is not {shape}")
        routes[found] = agent.strip()
    return routes


API_KEY_MIN = 16
"""Shortest key `HITLBOT_API_KEYS` accepts."""


def api_keys(spec: str) -> dict[str, str]:
    """`key1=U123, key2=service:ci` as {key: identity}; ValueError naming the bad entry by
    its identity and position, never by its key (a message may reach a log)."""
    found: dict[str, str] = {}
    for number, entry in enumerate((part.strip() for part in spec.split(",")), start=1):
        if not entry:
            continue
        key, eq, identity = (part.strip() for part in entry.partition("="))
        where = f"HITLBOT_API_KEYS entry {number}"
        if not eq or not identity or "=" in identity:
            raise ValueError(
                f"{where} is not KEY=IDENTITY (e.g. `<key>=U0123` or `<key>=service:ci`)"
            )
        if len(key) < API_KEY_MIN or any(c.isspace() for c in key):
            raise ValueError(
                f"{where} ({identity}): a key needs {API_KEY_MIN}+ characters, no spaces"
            )
        if identity.startswith("service:") and not identity.removeprefix("service:"):
            raise ValueError(f"{where}: a service identity needs a name (`service:ci`)")
        if key in found:
            raise ValueError(f"{where} ({identity}): the same key is listed twice")
        found[key] = identity
    return found
