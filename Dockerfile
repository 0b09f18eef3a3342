# syntax=docker/dockerfile:1
# onestop-metrics: a small, non-root image. Build: docker build -t onestop-metrics .
# Run with PostgreSQL: docker compose up (see docker-compose.yml and docs/operations.md).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the package and its dependencies into a virtual environment ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/onestop
WORKDIR /src
# dependencies first (a layer that survives code changes), then the code itself
COPY pyproject.toml README.md ./
RUN mkdir -p app migrations && touch app/__init__.py migrations/__init__.py \
 && /opt/onestop/bin/pip install . \
 && /opt/onestop/bin/pip uninstall -y onestop-metrics
COPY app ./app
COPY migrations ./migrations
RUN /opt/onestop/bin/pip install --no-deps . \
 && /opt/onestop/bin/python -m compileall -q /opt/onestop/lib

# ---- runtime: the virtual environment only, run as an unprivileged user ------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="onestop-metrics" \
      org.opencontainers.image.description="Dossier events in, one-stop metrics out."
RUN groupadd --system --gid 10001 onestop \
 && useradd --system --uid 10001 --gid onestop --create-home --home-dir /home/onestop onestop \
 && mkdir -p /home/onestop/var && chown onestop:onestop /home/onestop/var
COPY --from=build /opt/onestop /opt/onestop
ENV PATH=/opt/onestop/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ONESTOP_DATABASE_URL=sqlite+aiosqlite:////home/onestop/var/onestop.db
WORKDIR /home/onestop
USER onestop:onestop
# var/ holds the SQLite default and the generated secret_key: keep it on a volume
VOLUME ["/home/onestop/var"]
EXPOSE 8000
# /readyz: the database answers and is at the latest migration
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# `onestop serve` applies pending migrations, then serves
CMD ["onestop", "serve", "--host", "0.0.0.0", "--port", "8000"]
