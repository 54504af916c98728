# Enterprise Connect broker (SPEC §10): a static binary on Alpine, run as a non-root user.
#
#   docker build -t enterprise-connect-broker .
#   docker run --rm -p 8080:8080 -v broker-data:/data enterprise-connect-broker
#
# Alpine rather than distroless so that HEALTHCHECK can use BusyBox wget (the broker has no
# health-check subcommand and distroless has no shell or HTTP client).

FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/broker ./cmd/broker

FROM alpine:3.22
RUN addgroup -S -g 10001 broker \
 && adduser -S -D -H -u 10001 -G broker -h /data broker \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
COPY --from=build /out/broker /usr/local/bin/broker
# Listen on every interface inside the container; the issuer still defaults to
# http://127.0.0.1:8080 (right for `docker run -p 8080:8080` on a laptop). Behind a real
# hostname set BROKER_ISSUER=https://broker.example.com.
ENV BROKER_LISTEN=0.0.0.0:8080 \
    BROKER_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001
# /healthz answers 200 while the process serves HTTP (SPEC §10). If you change the port in
# BROKER_LISTEN, change it here too.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/broker"]
CMD ["serve"]
