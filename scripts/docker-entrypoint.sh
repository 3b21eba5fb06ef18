#!/bin/sh
#
# The image's ENTRYPOINT: writes nginx's "resolver" for the module, then
# runs the command (CMD: nginx -g 'daemon off;').
#
# With a resolver, the module resolves the Redis name (REDIS_CLUSTER_ENDPOINT)
# each time it connects, so a failover that moves the name (an ElastiCache
# primary endpoint) is followed without a reload; without one, the name is
# resolved once, when nginx starts.  nginx has no default resolver, and the
# servers a container may use are known only when it starts, so this script
# takes them from its /etc/resolv.conf (as the official nginx image's
# 15-local-resolvers.envsh does) and writes
#
#     resolver 10.0.0.2 valid=5s;
#
# into $SHARED_SESSION_RESOLVER_FILE, which the image's nginx.conf includes
# at http level (include /etc/nginx/conf.d/*.conf).
#
#   SHARED_SESSION_RESOLVER        unset or empty: the nameservers of
#                                  resolv.conf (the first three, as the C
#                                  library uses no more; IPv6 ones in
#                                  brackets, link-local ones with a zone
#                                  skipped: nginx cannot use them).
#                                  "off": no resolver (the name is resolved
#                                  once, at start).  Anything else: nginx's
#                                  resolver arguments, e.g. "10.0.0.2" or
#                                  "169.254.169.253 ipv6=off" (bare IPv6
#                                  addresses get brackets)
#   SHARED_SESSION_RESOLVER_VALID  how long nginx keeps an answer, instead of
#                                  its TTL: valid=, default 5s
#   SHARED_SESSION_RESOLV_CONF     the file read, default /etc/resolv.conf
#   SHARED_SESSION_RESOLVER_FILE   the file written, default
#                                  /etc/nginx/conf.d/resolver.conf
#
# What it wrote is printed on stderr (the container's log).  A value it
# cannot use, or a file it cannot write, stops the container with a
# message: a task that starts must follow a failover.  A resolv.conf without
# a usable nameserver gives no resolver, with a warning.
#
# POSIX sh and awk only: the image is debian:bookworm-slim (dash, mawk).

set -eu

me=${0##*/}
resolv_conf=${SHARED_SESSION_RESOLV_CONF:-/etc/resolv.conf}
out=${SHARED_SESSION_RESOLVER_FILE:-/etc/nginx/conf.d/resolver.conf}
valid=${SHARED_SESSION_RESOLVER_VALID:-5s}
resolver=${SHARED_SESSION_RESOLVER:-}

say() {
    printf '%s: %s\n' "$me" "$*" >&2
}

die() {
    say "$*"
    exit 1
}

# the nameservers of resolv.conf, as nginx's "resolver" takes them, on one
# line; a warning on stderr for each one that is skipped
nameservers() {
    awk -v me="$me" -v file="$1" '
        function warn(msg) {
            printf "%s: %s: %s\n", me, file, msg > "/dev/stderr"
        }
        function add(server) {
            if (n < 3) {
                ns[n++] = server
            } else {
                warn("nameserver " $2 " skipped: the C library uses 3 only")
            }
        }
        # comments: "#" or ";" in the first column, as the C library reads
        /^[#;]/ || $1 != "nameserver" { next }
        $2 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ { add($2); next }
        $2 ~ /%/ {
            warn("nameserver " $2 " skipped: nginx takes no IPv6 zone")
            next
        }
        $2 ~ /^[0-9A-Fa-f:.]+$/ && $2 ~ /:.*:/ { add("[" $2 "]"); next }
        { warn("nameserver \"" $2 "\" skipped: not an IP address") }
        END {
            for (i = 0; i < n; i++) {
                printf "%s%s", (i ? " " : ""), ns[i]
            }
        }
    ' "$1"
}

# explicit resolver arguments: bare IPv6 addresses get the brackets that
# nginx needs to tell them from a port; fails without an address (nginx
# would take "resolver valid=5s;" as no resolver at all)
bracket() {
    printf '%s\n' "$1" | awk '
        {
            for (i = 1; i <= NF; i++) {
                if ($i ~ /=/) {
                    continue
                }
                if ($i !~ /\[/ && $i ~ /:.*:/) {
                    $i = "[" $i "]"
                }
                addresses++
            }
            print
        }
        END { exit addresses == 0 }
    '
}

# nginx would also refuse these, but a ";", a "{" or a line break in an
# environment variable would be read as more configuration
case $resolver in
    *[!]A-Za-z0-9.:_=[\ -]*)
        die "SHARED_SESSION_RESOLVER=\"$resolver\": only addresses and" \
            "resolver parameters (letters, digits, \". : [ ] = _ -\"," \
            "spaces) are allowed"
        ;;
esac

case $valid in
    '' | *[!0-9yMwdhms]* | [!0-9]* | *ms*)
        die "SHARED_SESSION_RESOLVER_VALID=\"$valid\": not a time in" \
            "seconds or with a unit, such as 5s, 30s or 1m"
        ;;
esac

once="the Redis name is resolved once, at start"
warning=

if [ "$resolver" = off ]; then
    line=
    why="SHARED_SESSION_RESOLVER=off: $once"

elif [ -n "$resolver" ]; then
    servers=$(bracket "$resolver") \
        || die "SHARED_SESSION_RESOLVER=\"$resolver\": no address"
    line="resolver $servers valid=$valid;"
    why="from SHARED_SESSION_RESOLVER"

elif [ ! -r "$resolv_conf" ]; then
    line=
    why="cannot read $resolv_conf: $once"
    warning="warning: "

else
    servers=$(nameservers "$resolv_conf")
    if [ -n "$servers" ]; then
        line="resolver $servers valid=$valid;"
        why="the nameservers of $resolv_conf"
    else
        line=
        why="no nameserver in $resolv_conf: $once"
        warning="warning: "
    fi
fi

dir=$(dirname "$out")
mkdir -p "$dir" 2>/dev/null || die "cannot create $dir for $out"

# written beside and renamed: nginx never reads half a file
tmp="$out.tmp.$$"
{
    printf '# written by %s at container start\n' "$me"
    printf '# (%s)\n' "$why"
    if [ -n "$line" ]; then
        printf '%s\n' "$line"
    fi
} > "$tmp" 2>/dev/null || { rm -f "$tmp"; die "cannot write $out"; }
mv -f "$tmp" "$out" || { rm -f "$tmp"; die "cannot write $out"; }

if [ -n "$line" ]; then
    say "$out: $line ($why)"
else
    say "${warning}$out: no resolver ($why)"
fi

exec "$@"
