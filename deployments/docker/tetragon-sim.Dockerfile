# syntax=docker/dockerfile:1
# tetragon-sim: Tetragon FineGuidanceSensors gRPC simulator (local stacks and tests).
#
# Build from the repository root (the Go workspace spans ingester/, fanout/ and shared/):
#   docker build -f deployments/docker/tetragon-sim.Dockerfile --build-arg VERSION=$(git describe --always --dirty) -t tetragon-fanout/tetragon-sim:dev .
# Multi-arch (make images does this when buildx exists):
#   docker buildx build --platform linux/amd64,linux/arm64 -f deployments/docker/tetragon-sim.Dockerfile .
#
# The builder runs on the build host's platform and cross-compiles (CGO_ENABLED=0),
# so an arm64 image does not need emulation. The final image is distroless
# static:nonroot: no shell, no package manager, uid/gid 65532. It runs with a
# read-only root filesystem; nothing is written outside mounted volumes.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# The whole workspace: go.work resolves the three modules from the tree, and
# module downloads are cached across builds by the cache mount.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/tetragon-fanout/tetragon-fanout/shared/buildinfo.Version=${VERSION}" \
      -o /out/tetragon-sim ./shared/cmd/tetragon-sim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tetragon-sim /usr/local/bin/tetragon-sim
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tetragon-sim"]
