"""The systemd user unit, shipped as package data for ``coffeechat service install``."""
