"""The semantic layer's pure part: encoders (text → unit vectors) and the text of a listing to embed.

numpy and the model load lazily (inside the functions that need them), so importing the core
stays cheap for everything that never embeds.
"""

from .encoder import ENCODERS, Encoder, HashEncoder, encoder_from_setting, get_encoder
from .text import MAX_CHARS, embed_text, text_hash

__all__ = ["ENCODERS", "MAX_CHARS", "Encoder", "HashEncoder", "embed_text", "encoder_from_setting", "get_encoder", "text_hash"]
