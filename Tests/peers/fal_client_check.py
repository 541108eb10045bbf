import fal_client, fal_client.client as c, time
c.QUEUE_URL_FORMAT = "http://127.0.0.1:8788/"   # point the official client at MockFAL; its logic is unchanged
client = fal_client.SyncClient(key="dev")
h = client.submit("fal-ai/flux-pro-trainer", arguments={"data_url":"http://127.0.0.1:8901/photos.zip","finetune_comment":"x","mode":"style","iterations":100})
print("submitted", h.request_id)
time.sleep(0.4)
st = h.status(with_logs=True); print("status", type(st).__name__, [l["message"] for l in (st.logs or [])][:3])
print("result", h.get())
h2 = client.submit("fal-ai/flux-pro-trainer", arguments={"data_url":"http://127.0.0.1:8901/photos.zip","finetune_comment":"x","iterations":1000})
h2.cancel(); print("cancelled", type(h2.status()).__name__)
try:
    client.submit("fal-ai/flux-pro-trainer", arguments={"data_url":"x","finetune_comment":"x","steps":2000})
except Exception as e:
    print("refused:", type(e).__name__, str(e)[:150])
