# supajobs worker image.
#   docker build -t supajobs .
#   docker run --rm -e DATABASE_URL=postgres://user:password@host:5432/postgres -p 8080:8080 supajobs
# It needs DATABASE_URL or SUPABASE_URL: the embedded PostgreSQL (an optional dependency, 60 MB) is
# left out of the image; without either, the worker says so in one line and exits 1.

ARG NODE_VERSION=20

# ── build: all dependencies, TypeScript → dist/ ─────────────────────────────────────────────
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off here: `prepare` would build before the sources are in; the build is the next step.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dashboard ./dashboard
RUN npm run build

# ── runtime: production dependencies, dist/ and the SQL contract ───────────────────────────
FROM node:${NODE_VERSION}-slim AS runtime
# wget for the HEALTHCHECK: the slim image has neither wget nor curl.
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY supabase ./supabase
USER node
EXPOSE 8080
# Liveness only (/health); /ready is for load balancers and orchestrators that route or wait.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:${HEALTH_CHECK_PORT:-8080}/health || exit 1
# SIGTERM: stop claiming, let running jobs finish for SHUTDOWN_TIMEOUT_MS (default 30 s), release
# the rest, exit 0. `docker stop` waits 10 s before SIGKILL: use `docker stop -t 40` (compose:
# stop_grace_period) to give the drain its time.
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli/main.js", "start"]
