"""The pages of the web UI, one module per page, over :mod:`pilots.web.context` and
:mod:`pilots.web.render`; :mod:`pilots.web.app` routes to their handlers."""
