"""The service's refusals, under the name the shell has always used (they live in the core,
`bot.core.refusals`, since the core decides them)."""

from bot.core.refusals import (
    NO_CHOICE,
    NOT_FOR_YOU,
    AlreadyAnswered,
    AlreadyVoted,
    Forbidden,
    Invalid,
    InvalidEdit,
    NotAccepting,
    NotFound,
    ServiceError,
    TooLarge,
)

__all__ = [
    "NO_CHOICE",
    "NOT_FOR_YOU",
    "AlreadyAnswered",
    "AlreadyVoted",
    "Forbidden",
    "Invalid",
    "InvalidEdit",
    "NotAccepting",
    "NotFound",
    "ServiceError",
    "TooLarge",
]
