"""Thin adapters from agent frameworks to hitlbot's client: each one translates its
framework's pause for a human into `AsyncHitlbot.approval` and the decision back. Each needs
its framework, an optional extra (`hitlbot[langgraph]`, `[openai-agents]`, `[pydantic-ai]`)."""
