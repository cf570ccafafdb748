# Worker and API image: glibc Node (Temporal's core bridge ships linux-gnu builds only), non-root.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The build type-checks everything, then dist/ gets the product folders and the prebuilt workflow bundle only.
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./
USER node
# The same image runs the worker (default) or the API (command: ["node", "dist/api/main.js"]).
CMD ["node", "dist/worker/main.js"]
