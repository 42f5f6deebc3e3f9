# ModelDeck for a team: one container per replica, behind a reverse proxy that terminates TLS (docs/deploy.md).
# The start command and port are the README's (`streamlit run streamlit_app.py`, 8501); tests/test_deploy.py checks
# that they stay the same. Secrets (sign-in, cookie secret) are mounted at run time, never baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MODELDECK_HOME=/data \
    OMP_NUM_THREADS=2

# libgomp: OpenMP for scikit-learn's and implicit's native code
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY ui ./ui
RUN pip install . "psycopg[binary]>=3.2,<4"
COPY streamlit_app.py ./
COPY pages ./pages
COPY data ./data
COPY static ./static
COPY .streamlit/config.toml ./.streamlit/config.toml

# Runs, artifacts and uploads live in MODELDECK_HOME (a volume) unless MODELDECK_DB_URL points at PostgreSQL.
RUN useradd --create-home --uid 10001 modeldeck && mkdir -p /data && chown modeldeck /data
USER modeldeck
VOLUME ["/data"]

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"

# server.address 0.0.0.0: reachable from the proxy (the committed config binds 127.0.0.1 for local use)
CMD ["streamlit", "run", "streamlit_app.py", "--server.port", "8501", "--server.address", "0.0.0.0", "--server.headless", "true"]
