"""The offline model: deterministic rules that stand in for Claude in the shipped agents."""
