# Server mode: the collector talks to a ClickHouse server (CLICKHOUSE_URL), so the
# embedded engine's native library (chdb's optional @chdb/lib-* package, ~550 MB) is
# left out of the image with --omit=optional.
#
# The build stage compiles everything into dist/ with `npm run build` (esbuild; the
# dev dependencies stay in this stage); the image runs the compiled JavaScript with
# plain `node`, no TypeScript loader and no npm in between. Node is PID 1 and handles
# SIGTERM itself: `docker stop` drains the spool (give it SHUTDOWN_TIMEOUT_MS plus a
# few seconds: `stop_grace_period` in docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json ./
COPY collector ./collector
COPY tracker ./tracker
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional also leaves out Argon2's native binary (an optional platform package):
# it is installed by name, beside, and copied in.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && version=$(node -p "require('./package-lock.json').packages['node_modules/@node-rs/argon2'].version") \
 && mkdir /tmp/argon2 && cd /tmp/argon2 \
 && npm install --no-audit --no-fund --no-package-lock "@node-rs/argon2-linux-$(node -p process.arch)-gnu@$version" \
 && cp -r node_modules/@node-rs/argon2-linux-* /app/node_modules/@node-rs/ \
 && cd /app && rm -rf /tmp/argon2 && node -e "require('@node-rs/argon2')" \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schema ./schema
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8787
# /metrics listens on loopback (METRICS_HOST, METRICS_PORT=9464) inside the container:
# to scrape it from another container, set METRICS_HOST=0.0.0.0 and METRICS_TOKEN, and
# publish 9464 on a private network only.
ENV HOST=0.0.0.0 PORT=8787 DATA_DIR=/app/data
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/collector/src/main.js"]
