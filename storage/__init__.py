"""Persistence: tables, repositories, the unit of work and the engine factory."""
