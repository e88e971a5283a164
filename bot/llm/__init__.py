"""The model: Claude through the Messages API, and the offline rules that stand in for it."""
