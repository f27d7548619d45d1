"""Hook specifications, the plugin manager and the built-in plugins.

A plugin author needs only :data:`hookimpl`::

    from coffeechat.plugins import hookimpl
"""

from coffeechat.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
