# ngx_http_shared_session_module
#
#   make              build build/ngx_http_shared_session_module.so against
#                     Debian's nginx-dev (or NGINX_SRC=/path/to/nginx-x.y.z)
#   make test         the whole Test::Nginx suite against a private Redis
#   make demo         the seed's two-container scenario on this machine
#   make nginx-src    fetch nginx 1.22.1's upstream source (checksum checked)
#   make clean

SHELL := /bin/bash

MODULE := build/ngx_http_shared_session_module.so

.PHONY: all module test demo demo-stop nginx-src clean

all: module

module:
	scripts/build.sh

test:
	scripts/test.sh

demo:
	@echo "make demo: not yet (the demo lands with the demo issue)."
	@echo "See README.md, 'Quick start', for a hand-written configuration."

nginx-src:
	scripts/nginx-src.sh

clean:
	rm -rf build t/servroot
