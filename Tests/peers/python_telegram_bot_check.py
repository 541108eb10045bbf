import asyncio
from telegram import Bot, InlineKeyboardMarkup, InlineKeyboardButton
async def main():
    bot = Bot("123:abc", base_url="http://127.0.0.1:8082/bot", base_file_url="http://127.0.0.1:8082/file/bot")
    async with bot:
        me = await bot.get_me(); print("ptb getMe", me.username)
        updates = await bot.get_updates(timeout=0); print("ptb updates", [u.message.text for u in updates])
        m = await bot.send_message(42, "hi from ptb", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]))
        print("ptb sent", m.message_id)
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
asyncio.run(main())
