"""tongxin (同心): an open exchange for the Beijing–Tianjin–Hebei region."""

__version__ = "0.1.0"
