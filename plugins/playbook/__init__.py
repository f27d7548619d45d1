"""The playbook: every tip of the article, as a built-in plugin.

Each module is a plugin like any other (registered through
:data:`coffeechat.plugins.manager.DEFAULT_PLUGINS`); each rule is a pure function of
the state, the instant and the settings.
"""
