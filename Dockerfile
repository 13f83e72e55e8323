FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY dialogs dialogs
COPY domain domain
COPY gateway_mocks gateway_mocks
COPY locales locales
COPY config config
RUN pip install --no-cache-dir -e . && pybabel compile -d locales -D messages
EXPOSE 8080 8090
CMD ["proactive-bot", "serve"]
