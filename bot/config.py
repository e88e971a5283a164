"""Settings, read from the environment or `.env` (every name is listed in `.env.example`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The operator's configuration; names are part of the external contract (DESIGN.md)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    """Redis to use; `hitlbot dev` starts a private one when unset."""
    redis_prefix: str = Field(default="hitlbot", alias="HITLBOT_REDIS_PREFIX")
    """Prefix of every key, so several deployments (or test runs) can share one Redis."""
    redis_pool_size: int = Field(default=64, alias="HITLBOT_REDIS_POOL_SIZE")
    """Connections in the blocking Redis pool of one process."""

    anthropic_api_key: str | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    """Read here only to say plainly when it is missing; the SDK reads it itself."""
    model: str = Field(default="claude-sonnet-5-5", alias="HITLBOT_MODEL")
    """Claude model id used for every agent step."""
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
    """Bearer token required on `/threads`; when unset the API refuses every request."""
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
    """Comma-separated Slack user ids allowed to approve; empty means nobody can approve in Slack."""
    slack_routes: str = Field(default="", alias="HITLBOT_SLACK_ROUTES")
    """Channel-to-agent routing, e.g. `C123=deploy,C456=support`; other channels use the default."""
    slack_default_agent: str = Field(default="deploy", alias="HITLBOT_SLACK_DEFAULT_AGENT")
    """Agent for mentions in channels without a route, and for direct messages."""
    slack_working_reaction: str = Field(default="eyes", alias="HITLBOT_SLACK_WORKING_REACTION")
    """Reaction put on a person's message while the agent works on it; empty turns it off."""

    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    smtp_port: int = Field(default=587, alias="SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=True, alias="SMTP_STARTTLS")
    email_from: str | None = Field(default=None, alias="EMAIL_FROM")
    email_inbound_secret: str | None = Field(default=None, alias="EMAIL_INBOUND_SECRET")

    deploy_webhook_url: str | None = Field(default=None, alias="DEPLOY_WEBHOOK_URL")
    """Where the `deploy` agent POSTs approved deploys."""

    def slack_approver_ids(self) -> frozenset[str]:
        """The Slack user ids in `SLACK_APPROVERS`."""
        return frozenset(part.strip() for part in self.slack_approvers.split(",") if part.strip())

    def retry_delays(self) -> list[float]:
        """The thread-level LLM retry schedule, in seconds."""
        return [float(part) for part in self.llm_retry_schedule.split(",") if part.strip()]
