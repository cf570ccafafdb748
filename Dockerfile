# Worker and API image: glibc Node (Temporal's core bridge ships linux-gnu builds only), non-root.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The build type-checks everything, then dist/ gets the product folders and the prebuilt workflow bundle only;
# dist/worker/main.js is the worker bundled into one file (scripts/bundle-worker.ts): a start reads one file, not
# thousands of modules. @temporalio/* stays in node_modules (native core bridge, workflow threads).
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
# jemalloc instead of glibc's malloc: glibc's per-thread arenas keep what the Temporal core and Node's buffers freed
# resident (about 180 MB of a 410-460 MB worker at 200 runs in flight); jemalloc returns it, and the same worker
# peaks near 315 MB, 350 MB with all 200 runs cached (issue 11; bench/fleet/lab.ts preloads it the same way).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/* \
 && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# A V8 heap limit per isolate (the worker's and its workflow thread's; the API's too): at 200 runs in flight a worker
# holds about 50 MB of live objects in each, and an unlimited heap fills with garbage first, to ~460 MB RSS in all
# (issue 11; bench/fleet/lab.ts WORKER_NODE_OPTIONS runs the bench's workers the same way).
ENV NODE_OPTIONS=--max-old-space-size=160
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./
USER node
# The same image runs the worker (default) or the API (command: ["node", "dist/api/main.js"]).
CMD ["node", "dist/worker/main.js"]
