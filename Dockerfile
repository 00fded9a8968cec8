# Small, non-root image. Build: docker build -t renraku . ; run with an env file:
#   docker run --env-file .env -p 8080:8080 -v renraku-data:/app/data renraku
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY messages ./messages
COPY domain ./domain
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8080
RUN useradd --create-home --uid 10001 renraku
COPY --from=build /install /usr/local
WORKDIR /app
RUN mkdir -p /app/data && chown renraku:renraku /app/data
USER renraku
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8080\")}/healthz', timeout=2)" || exit 1
# `renraku run` brings the schema up to date before it starts.
CMD ["renraku", "run"]
