# syntax=docker/dockerfile:1
# Two images from one file:
#   - mtls-injector (the last stage, what a build without --target gives): one image for `webhook`, `rotator`
#     and `init` (the argument picks the component), which also keeps the static mtls-init binary at
#     /app/bin/mtls-init, so an install whose init.image names this image keeps working;
#   - mtls-init (`--target mtls-init`): only that binary (cmd/mtls-init, Go standard library only;
#     docs/adr/0009-native-mtls-init.md) on an empty base, the image the webhook gives every injected Linux
#     pod's init container, whose `command` is /app/bin/mtls-init (docs/adr/0010-dedicated-init-image.md).
# Build with dev dependencies, run with production dependencies only, on a distroless Node LTS base that has
# no shell and runs as a non-root user. scripts/check-dockerfile.sh proves this recipe without Docker: keep
# every instruction in the simple forms it understands (it fails loudly on anything else).
#
# The base images are build arguments whose defaults are the public images; the e2e suite builds this same file
# with buildah against locally assembled stand-ins (scripts/e2e/images.sh), since nothing can be pulled there.
ARG GO_IMAGE=golang:1.26-bookworm
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# mtls-init: static (no libc, so it runs on the distroless base), stripped, no build paths; no module downloads.
FROM ${GO_IMAGE} AS init-build
WORKDIR /src
COPY cmd/mtls-init ./
ENV CGO_ENABLED=0
ENV GOTOOLCHAIN=local
RUN go build -trimpath -ldflags='-s -w' -o bin/mtls-init .

# The init container's image: the binary and nothing else. It needs nothing from a filesystem: it only reads
# the files under --dir (the pod's Secret volume), verifies against the ca.crt there (no system CA files),
# prints UTC times (no zoneinfo), never writes (no /tmp) and looks up no user (no /etc/passwd).
FROM scratch AS mtls-init
LABEL org.opencontainers.image.title="mtls-init" \
      org.opencontainers.image.description="Per-pod SPIFFE X.509 identities for mutual TLS in Kubernetes" \
      org.opencontainers.image.source="https://github.com/mtls-injector/mtls-injector" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=init-build /src/bin/mtls-init /app/bin/mtls-init
USER 65532:65532
ENTRYPOINT ["/app/bin/mtls-init"]

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle-init.mjs ./scripts/bundle-init.mjs
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="mtls-injector" \
      org.opencontainers.image.description="Per-pod SPIFFE X.509 identities for mutual TLS in Kubernetes" \
      org.opencontainers.image.source="https://github.com/mtls-injector/mtls-injector" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=init-build /src/bin/mtls-init ./bin/mtls-init
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
