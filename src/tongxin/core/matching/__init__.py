"""Matching: ranking candidates by text relevance and structured fit, with explanations."""
