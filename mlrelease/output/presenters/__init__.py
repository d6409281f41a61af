"""One module of views per module of results (`results/build.py` → `presenters/build.py`),
loaded only when a result of it is shown."""
