"""Pure domain core: rules, text analysis and matching. No web, CLI or SQL imports here."""
