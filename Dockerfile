# One image for the three roles of the production-like stack (SPEC §9, docker-compose.yml):
#   npx tsx db/migrate-cli.ts   one-shot schema migration
#   npx tsx worker/main.ts      a worker (run as many as you like)
#   npx tsx api/main.ts         the HTTP API (default CMD)
# The app runs TypeScript through tsx, which is a regular dependency, so no build step is needed.
FROM node:20.20.2-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    API_HOST=0.0.0.0 \
    PORT=3000

WORKDIR /app

# Dependencies first, so the layer is cached until the lockfile changes. Install scripts must run
# (@swc/core, esbuild, protobufjs, @embedded-postgres need them), hence no --ignore-scripts. Our own
# postinstall (scripts/provision-temporal.mjs --if-possible) needs its three files and never fails;
# the image has no Python, so it just skips: the containers talk to the Temporal server over the
# network and never start a local dev server.
COPY package.json package-lock.json ./
COPY scripts/provision-temporal.mjs scripts/tools.mjs scripts/temporal-tools.json ./scripts/
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY domain ./domain
COPY db ./db
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY api ./api
COPY client ./client
COPY platform ./platform
COPY scripts ./scripts

# Sources and node_modules stay root-owned and read-only for the app; tsx caches in /tmp.
USER node

EXPOSE 3000
CMD ["npx", "tsx", "api/main.ts"]
