# expect: dangerous-call
import asyncio


async def run():
    return await asyncio.create_subprocess_exec('ls')
