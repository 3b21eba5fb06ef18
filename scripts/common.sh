# Sourced by the scripts in this folder.

# need_packages PKG...: installs the missing Debian packages when root,
# names them and fails otherwise.  Services the packages ship (nginx,
# redis-server) are not started: this project starts its own.
need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing packages, install them first:" >&2
        echo "    apt-get install ${missing[*]}" >&2
        exit 1
    fi

    echo "installing: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d placed=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
        placed=1
    fi

    export DEBIAN_FRONTEND=noninteractive
    local rc=0
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update >/dev/null \
             && apt-get install -y --no-install-recommends "${missing[@]}" \
                    >/dev/null; } || rc=$?

    [ -n "$placed" ] && rm -f "$policy"
    return $rc
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now
free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                     LocalPort => 0)->sockport, "\n"'
}

# nginx_user: the "user" directive for an nginx this project starts.  A root
# master runs its workers as "nobody", who cannot enter a checkout under a
# private (0700) directory; keep them as root then, as Test::Nginx does.
nginx_user() {
    [ "$(id -u)" = 0 ] && echo 'user root;'
    return 0
}
