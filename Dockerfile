# ngx_http_shared_session_module in Debian 12's nginx: the image the seed's
# ECS services run instead of their Spring Boot app.
#
#   docker build -t shared-session-nginx .
#   docker run -p 8080:80 -e REDIS_CLUSTER_ENDPOINT=redis.example \
#              -e REDIS_CLUSTER_PORT=6379 shared-session-nginx
#
# The module is built by scripts/build.sh, the script "make" runs, against
# the same Debian packages (nginx-dev, libhiredis-dev, libcjson-dev).  nginx
# reads REDIS_CLUSTER_ENDPOINT/REDIS_CLUSTER_PORT when it loads its
# configuration; the host a session records is the container's hostname.
#
# The entrypoint (scripts/docker-entrypoint.sh) writes nginx's "resolver"
# from the container's /etc/resolv.conf before nginx starts, so that the
# module resolves the Redis name on every reconnect and follows an
# ElastiCache failover.  SHARED_SESSION_RESOLVER="addresses" gives the
# servers, SHARED_SESSION_RESOLVER=off turns it off,
# SHARED_SESSION_RESOLVER_VALID (5s) sets how long an answer is kept.

FROM debian:bookworm-slim AS build

WORKDIR /src
COPY config ngx_http_shared_session_module.c ./
COPY src/ src/
COPY scripts/build.sh scripts/common.sh scripts/

# build.sh installs the packages it needs (gcc, nginx-dev, libhiredis-dev,
# ...): one list, in the one build script (see .dockerfilelintrc)
RUN apt-get update \
    && scripts/build.sh \
    && rm -rf /var/lib/apt/lists/*


FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        nginx-core libhiredis0.14 libcjson1 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /src/build/ngx_http_shared_session_module.so \
     /usr/lib/nginx/modules/
COPY conf/nginx.conf.example /etc/nginx/nginx.conf
COPY conf/index.html /usr/share/nginx/html/index.html
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# fails the build when the module does not load into this nginx, or when
# the entrypoint or the resolver it writes (here from the build's
# resolv.conf; each container writes its own) do not work in this image
RUN docker-entrypoint.sh nginx -t \
    && rm /etc/nginx/conf.d/resolver.conf

EXPOSE 80

# nginx is up in milliseconds: no --start-period needed
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
    CMD curl -fsS http://127.0.0.1/health || exit 1

STOPSIGNAL SIGQUIT

ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["nginx", "-g", "daemon off;"]
