# syntax=docker/dockerfile:1
# Twofold: multi-stage build on the official Node 24 image. No build step (Node runs the
# TypeScript sources directly); dev dependencies (tests, the pinned `node` package) are omitted.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    TWOFOLD_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY public ./public
COPY src ./src
COPY views ./views
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# /readyz also checks the database and Redis; /healthz says the process answers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# 8 MiB semi-spaces (V8's default grows them to 32 MiB): docs/deployment.md, Memory.
CMD ["node", "--max-semi-space-size=8", "src/main.ts"]
