# AsyncTool as an OpenEnv server (openenv.yaml): one episode per WebSocket session.
#   docker build -t asynctool-openenv .
#   docker run -p 8000:8000 -e ASYNCTOOL_MAX_SESSIONS=16 asynctool-openenv
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY asynctool_env ./asynctool_env
RUN pip install --no-cache-dir ".[openenv]"
ENV ASYNCTOOL_MAX_SESSIONS=8
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["uvicorn", "asynctool_env.integrations.openenv_app:app", "--host", "0.0.0.0", "--port", "8000"]
