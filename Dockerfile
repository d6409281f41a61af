# The inference service image. Build context: the repository root (see .dockerignore).
# The base is an argument so that a mirror or a local stand-in can replace the official image.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: dependencies only, so this stage is reused until requirements.txt changes ---
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUSERBASE=/install
COPY requirements.txt /tmp/requirements.txt
RUN python -m pip install --user --no-cache-dir --no-warn-script-location -r /tmp/requirements.txt
# The wheels ship their own test suites and their C/Cython sources (a quarter of their size);
# the service loads neither. Drop them, then byte-compile what is left: the runtime user cannot
# write __pycache__, so anything not compiled here would be compiled again at every start.
RUN find /install -type d \( -name tests -o -name test \) -prune -exec rm -rf {} + \
    && find /install -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \
        -o -name '*.c' -o -name '*.cpp' -o -name '*.h' \) -delete \
    && python -m compileall -q /install

# --- runtime: the installed packages, the model and the service; no compiler, no pip cache ---
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUSERBASE=/install \
    PATH=/install/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /install /install
WORKDIR /app
# The model changes less often than the code: keep its layer first.
COPY service/model/ service/model/
COPY service/*.py service/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"]
CMD ["python", "-m", "service"]
