# expect: dangerous-call
import asyncio


async def run():
    loop = asyncio.get_running_loop()
    return await loop.subprocess_shell(lambda: None, 'id')
