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

# fails the build when the module does not load into this nginx
RUN nginx -t

EXPOSE 80

# nginx is up in milliseconds: no --start-period needed
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
    CMD curl -fsS http://127.0.0.1/health || exit 1

STOPSIGNAL SIGQUIT

CMD ["nginx", "-g", "daemon off;"]
