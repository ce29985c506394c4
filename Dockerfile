# One image for every Vigil stage; the stage is chosen by the command (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json tsconfig.json ./
# npm ci runs `prepare`, which bundles the web console from these sources (dashboards/console/build.ts).
COPY dashboards/console ./dashboards/console
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY platform ./platform
COPY schemas ./schemas
COPY ingest ./ingest
COPY scoring ./scoring
COPY ledger-sink ./ledger-sink
COPY dashboards ./dashboards
COPY notifier ./notifier
COPY distributed ./distributed
# The one-shot elasticsearch-setup service of docker-compose.yml makes the stages' API keys with these.
COPY infra/elasticsearch-api-keys.ts ./infra/
COPY infra/elasticsearch/api-key-roles.json ./infra/elasticsearch/
# Runs as the unprivileged `node` user; local state (idempotency journal, scoring snapshots, the notifier outbox)
# lives in /data.
RUN mkdir -p /data && chown node:node /data
USER node
ENV VIGIL_DATA_DIR=/data VIGIL_HTTP_HOST=0.0.0.0 VIGIL_HTTP_PORT=8080
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "distributed/main.ts"]
