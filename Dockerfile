# syntax=docker/dockerfile:1
# One image per app, each from the folder `pnpm deploy` makes for it (docs/deploy.md):
#   docker build --target api -t runstream-api .
#   docker build --target outbox-worker -t runstream-outbox-worker .
#   docker build --target run-worker -t runstream-run-worker .
# The Node major matches CI; pass --build-arg NODE_VERSION=22 to move on from Node 20.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /repo
RUN npm install --global pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm turbo run build --output-logs=errors-only \
      --filter=@runstream/api... --filter=@runstream/outbox-worker... --filter=@runstream/run-worker...
RUN for app in api outbox-worker run-worker; do \
      pnpm --filter "@runstream/$app" deploy --prod "/out/$app"; \
    done

# Only what `node dist/main.js` reads: its package.json (for "type": "module"), its code and its
# dependencies. pnpm's lockfiles in the folder record where it was built from and are not copied.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
USER node
# node directly, not npm or pnpm, so that SIGTERM reaches the process and it drains.
CMD ["node", "dist/main.js"]

FROM runtime AS api
COPY --from=build /out/api/package.json ./
COPY --from=build /out/api/dist ./dist
COPY --from=build /out/api/node_modules ./node_modules
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM runtime AS outbox-worker
COPY --from=build /out/outbox-worker/package.json ./
COPY --from=build /out/outbox-worker/dist ./dist
COPY --from=build /out/outbox-worker/node_modules ./node_modules
ENV RUNSTREAM_OUTBOX_METRICS_HOST=0.0.0.0 RUNSTREAM_OUTBOX_METRICS_PORT=9464
EXPOSE 9464
HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.RUNSTREAM_OUTBOX_METRICS_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM runtime AS run-worker
COPY --from=build /out/run-worker/package.json ./
COPY --from=build /out/run-worker/dist ./dist
COPY --from=build /out/run-worker/node_modules ./node_modules
ENV RUNSTREAM_RUN_WORKER_METRICS_HOST=0.0.0.0 RUNSTREAM_RUN_WORKER_METRICS_PORT=9465
EXPOSE 9465
HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.RUNSTREAM_RUN_WORKER_METRICS_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
