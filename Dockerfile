# syntax=docker/dockerfile:1
#
# The opencrvs-mosip image: the static binary of `make release` on a
# distroless base, run as a non-root user, with its data in the /data
# volume and nothing else written (a read-only root filesystem works; give
# it a writable /tmp). Build it with
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) -t opencrvs-mosip .
#
# or for both architectures with `docker buildx build --platform
# linux/amd64,linux/arm64 ...`. The same image runs the mediator (`serve`,
# the default), the simulators (`sim mosip`, `sim opencrvs`) and the
# operators' commands (`migrate`, `tx`, `keys`).

# The build runs on the builder's own platform and cross-compiles: no
# emulation, and the same `make release` as CI, for one platform.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
ARG SOURCE_DATE_EPOCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make release PLATFORMS=$TARGETOS/$TARGETARCH VERSION=$VERSION COMMIT=$COMMIT \
    && cp dist/opencrvs-mosip-$TARGETOS-$TARGETARCH /opencrvs-mosip \
    && mkdir -p /rootfs/data

# distroless/static: CA certificates, tzdata, /etc/passwd with the
# "nonroot" user (65532) and a /tmp; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /opencrvs-mosip /usr/local/bin/opencrvs-mosip
COPY --from=build --chown=65532:65532 /rootfs/data /data
USER 65532:65532
WORKDIR /data
ENV HOST=0.0.0.0 \
    PORT=2024 \
    SQLITE_DATABASE_PATH=/data/opencrvs-mosip.sqlite
VOLUME ["/data"]
EXPOSE 2024
# No curl in the image: the binary probes itself (GET /healthz on $PORT).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/opencrvs-mosip", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/opencrvs-mosip"]
CMD ["serve"]
