"""Chinese text analysis: normalisation, segmentation, stop words, term statistics."""

from .analyzer import Analyzer, default_analyzer

__all__ = ["Analyzer", "default_analyzer"]
