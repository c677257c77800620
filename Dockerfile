# syntax=docker/dockerfile:1
#
# Amtsbote container image: a static binary on distroless, running as nonroot.
#
#   docker build --build-arg VERSION=1.0.0 -t amtsbote:1.0.0 .
#   docker run -p 8080:8080 -v amtsbote-data:/var/lib/amtsbote amtsbote:1.0.0
#
# Without arguments the container runs the built-in demo configuration on the
# embedded SQLite store in the volume. For production, mount a configuration
# and give the full command line, e.g.
#
#   docker run ... amtsbote:1.0.0 serve --config /etc/amtsbote/amtsbote.yaml \
#       --data-dir /var/lib/amtsbote --listen 0.0.0.0:8080

FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/amtsbote ./cmd/amtsbote \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="amtsbote" \
      org.opencontainers.image.description="Headless gateway for municipal e-government submissions" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/amtsbote /usr/local/bin/amtsbote
# The data directory (SQLite database, demo file drop) belongs to nonroot, so a
# fresh named volume mounted here is writable for the process.
COPY --from=build --chown=65532:65532 /out/data /var/lib/amtsbote

USER 65532:65532
WORKDIR /var/lib/amtsbote
VOLUME /var/lib/amtsbote
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/amtsbote"]
CMD ["serve", "--data-dir", "/var/lib/amtsbote", "--listen", "0.0.0.0:8080"]
