"""The HumanLayer v1 API (`/humanlayer/v1`), as the published `humanlayer` 0.7.9 SDK calls it."""
