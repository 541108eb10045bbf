import asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardMarkup, InlineKeyboardButton
async def main():
    session = AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:8082"))
    bot = Bot("123:abc", session=session)
    me = await bot.get_me(); print("aiogram getMe", me.username)
    m = await bot.send_message(42, "hi from aiogram", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="B", callback_data="b")]]))
    print("aiogram sent", m.message_id)
    await session.close()
asyncio.run(main())
