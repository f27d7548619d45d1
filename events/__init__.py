"""The core of coffeechat: event types, the log, projections and time helpers.

Nothing in this package imports from ``coffeechat.plugins`` or ``coffeechat.daemon``.
Importing it is cheap on purpose: the command line records an event with only this
package, msgspec and the standard library loaded.
"""
