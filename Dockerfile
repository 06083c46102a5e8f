# certharvest worker image. Mirrors scripts/setup.sh: Node 20 on Debian, Debian's Chromium
# (Playwright never downloads a browser), npm packages from the lock file. Redis runs elsewhere
# (REDIS_URL); install redis-server here only for the all-in-one `demo`.
# Build stage: compile the TypeScript (dev dependencies stay here).
FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-stamp.mjs ./scripts/
COPY src ./src
COPY jobs ./jobs
RUN npm run build

FROM node:20-bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    CHROMIUM_PATH=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    NODE_ENV=production \
    UV_THREADPOOL_SIZE=32

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium redis-server ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
# The compiled JavaScript from the build stage: production runs dist/, no TypeScript loader.
COPY --from=build /build/dist ./dist

# Chromium's sandbox needs user namespaces; running as an unprivileged user keeps it on.
RUN useradd --create-home --uid 10001 certharvest && mkdir -p /data/certificates && chown -R certharvest /data
USER certharvest
ENV OUTPUT_DIR=/data/certificates
VOLUME ["/data/certificates"]
EXPOSE 3000

ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/certharvest.js"]
CMD ["worker"]
