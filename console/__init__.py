"""The operations web console under /console: server-rendered pages (Jinja2 through sanic-ext's templating),
htmx partial updates, ECharts charts; staff sign in with a password (docs/console.md)."""
