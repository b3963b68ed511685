"""The web console (``scv serve``): stock, orders, alerts, quality and pipeline pages over the
stages' own reads, served by Starlette on uvicorn with every asset local."""
