# syntax=docker/dockerfile:1
#
# ownkey's container image: a static binary on distroless (CA certificates,
# tzdata, no shell), run as a non-root user, its data directory a volume.
#
#   docker build -t ownkey \
#     --build-arg VERSION="$(git describe --tags --always)" --build-arg COMMIT="$(git rev-parse HEAD)" .
#   docker run -p 8080:8080 -v ownkey-data:/data ownkey
#
# README.md, "Deployment", says more; cmd/ownkey/deploy_test.go checks what
# matters here (static build, non-root user, volume, health check).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# The modules first, so that a source change does not fetch them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore): the version and commit
# come in as build arguments and are linked in (ownkey version shows them).
ARG VERSION=dev
ARG COMMIT=
# CGO_ENABLED=0: a static binary (the SQLite driver is pure Go), which runs
# on an image without a C library.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/ownkey ./cmd/ownkey
# The data directory, owned by the non-root user, so that a new volume
# mounted there starts out with that owner and mode.
RUN mkdir -p /out/data && chmod 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ownkey /usr/local/bin/ownkey
COPY --from=build --chown=65532:65532 /out/data /data
# distroless's nonroot user.
USER 65532:65532
# Listen on every interface of the container; keep the SQLite database,
# the master key file (unless OWNKEY_MASTER_KEY is given), the usage spill
# and the billing journal on the volume.
ENV OWNKEY_ADDR=0.0.0.0:8080 \
    OWNKEY_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
# No shell or curl here: the binary asks itself (GET /healthz on 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ownkey", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ownkey"]
CMD ["serve"]
