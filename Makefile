# ngx_http_shared_session_module
#
#   make              build build/ngx_http_shared_session_module.so against
#                     Debian's nginx-dev (or NGINX_SRC=/path/to/nginx-x.y.z)
#   make test         the whole Test::Nginx suite against a private Redis
#   make demo         the seed's two-container scenario on this machine
#                     (make demo-stop, make demo-status); SPRING=1: container
#                     2 is the seed's real Spring Boot app
#   make test-e2e     the demo driven in headless Chromium (both variants)
#   make spring       the seed's Spring Boot app (t/spring) with Maven:
#                     build/spring/boot2.jar and boot3.jar
#   make check-docs   Markdown links and anchors resolve; every directive has
#                     its Syntax block in README.md (scripts/check-docs.sh)
#   make lint-docker  dockerfilelint, and the image builds with scripts/build.sh
#   make asan         the suite against nginx built with ASan+UBSan and the
#                     module compiled in
#   make fuzz         libFuzzer targets, FUZZ_SECONDS (60) each (fuzz/)
#   make bench        wrk benchmarks against a plain "return 200" (bench/)
#   make bench-compare BENCH_MODULE_BEFORE=old.so
#                     callgrind and heap per request, old module against new
#   make soak         100k+ requests across two Redis restarts: RSS, fds
#   make nginx-src    fetch nginx 1.22.1's upstream source (checksum checked)
#   make clean

SHELL := /bin/bash

MODULE := build/ngx_http_shared_session_module.so

.PHONY: all module test test-e2e check-docs lint-docker asan fuzz bench \
        bench-compare bench-beyond soak demo demo-stop demo-status \
        nginx-src spring clean

all: module

module:
	scripts/build.sh

test:
	scripts/test.sh

asan:
	scripts/asan.sh

fuzz:
	fuzz/run.sh

soak:
	bench/soak.sh

bench:
	bench/run.sh

bench-compare:
	bench/compare.sh

bench-beyond:
	bench/beyond.sh

demo:
	scripts/demo.sh start

demo-stop:
	scripts/demo.sh stop

demo-status:
	scripts/demo.sh status

test-e2e:
	scripts/e2e.sh

check-docs:
	scripts/check-docs.sh

lint-docker:
	scripts/lint-docker.sh

nginx-src:
	scripts/nginx-src.sh

spring:
	scripts/spring.sh

clean:
	-scripts/demo.sh stop
	rm -rf build t/servroot
