"""docs/SAMPLES.md is exactly what the real compose functions produce today."""

from __future__ import annotations

from tests import samples


async def test_samples_md_is_up_to_date() -> None:
    expected = await samples.render()
    assert samples.SAMPLES.read_text(encoding="utf-8") == expected, (
        "docs/SAMPLES.md is out of date: run `python -m tests.samples`"
    )


async def test_samples_are_stable_and_complete() -> None:
    first, second = await samples.render(), await samples.render()
    assert first == second, "the samples depend on something other than the code and texts"
    for heading in ("follow-up, in Japanese", "in English", "re-check", "closing", "内定"):
        assert heading in first
    assert "{" not in first.replace("```text", "")
