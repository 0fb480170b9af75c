"""How a text message travels: the GSM-7 alphabet or UCS-2, and how many segments it takes."""

from typing import Any

GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_EXTENDED = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> dict[str, Any]:
    """How a text message is sent: its encoding, length in characters and segment count."""
    if all(ch in GSM_7 or ch in GSM_7_EXTENDED for ch in text):
        length = sum(2 if ch in GSM_7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if length <= single else -(-length // multi)
    return {"length": length, "segments": segments, "encoding": encoding}
