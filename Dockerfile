# certharvest image. Mirrors scripts/setup.sh: Node on Debian (the current LTS here; the machines
# run Node 20), Debian's Chromium (Playwright never downloads a browser), npm packages from the
# lock file (npm ci). Redis runs elsewhere (REDIS_URL; compose.yaml starts one). The worker is the
# default command; the board is `board` (compose.yaml shows both).
# The sandbox (packages/sandbox/, the development package @certharvest/sandbox behind `demo` and
# `sandbox`) is never copied. The lock file marks it and its own dependencies (oidc-provider,
# pdf-lib, …) as dev dependencies, so the runtime stage's `npm ci --omit=dev` installs none of
# them; the product compiles without it. In the image, `certharvest demo` says how to get it.

# Build stage: compile the TypeScript (dev dependencies stay here).
FROM node:24-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-stamp.mjs scripts/bundle-cli.mjs ./scripts/
COPY src ./src
COPY jobs ./jobs
RUN npm run build

FROM node:24-bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    CHROMIUM_PATH=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    NODE_ENV=production \
    UV_THREADPOOL_SIZE=32 \
    OUTPUT_DIR=/data/certificates \
    BOARD_HOST=0.0.0.0 \
    BOARD_PORT=3000 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
# The compiled JavaScript from the build stage: production runs dist/, no TypeScript loader.
COPY --from=build /build/dist ./dist

# A non-root user: Chromium keeps its sandbox when the container's seccomp profile allows user
# namespaces (docs/operations.md); otherwise set CHROMIUM_NO_SANDBOX=true explicitly.
RUN useradd --create-home --uid 10001 certharvest && mkdir -p /data/certificates && chown -R certharvest /data
USER certharvest
VOLUME ["/data/certificates"]
EXPOSE 3000 9464

# /healthz of the worker (METRICS_PORT) or, for a `board` container, of the board (BOARD_PORT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const up=p=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>r.ok,()=>false);up(process.env.METRICS_PORT).then(ok=>ok||up(process.env.BOARD_PORT)).then(ok=>process.exit(ok?0:1))"]

ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/certharvest.js"]
CMD ["worker"]
