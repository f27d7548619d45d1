"""The local web dashboard of ``coffeechat serve``: board, today, contact, insights.

Imported by ``serve`` only (never by a recording command). The standard library's
threaded HTTP server and a small router of our own (:mod:`.server`), pages from
templates shipped here (:mod:`.html`, :mod:`.pages`), charts drawn as SVG on the server
by pygal (:mod:`.charts`), live updates from the daemon's watcher (:mod:`.live`), and
the command line's own commands behind every button (:mod:`.actions`).
docs/dashboard.md describes it.
"""
