from bot.engine import Engine
from domain.protocol import Address, Incoming


async def test_start_greets_and_asks_for_the_name(engine: Engine) -> None:
    replies = await engine.handle(Incoming.text_message(Address("console", "u1"), "/start"))
    assert "Renraku" in replies[0].text
    assert replies[-1].choices[0].action == "a:onboarding:name:_skip"
