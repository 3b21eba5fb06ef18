// Browser test of the seed's scenario against the demo topology (front
// router, container 1, container 2, one Redis), as scripts/e2e.sh starts it.
//
// Headless Debian Chromium driven by playwright-core: open index.html, ask
// container 1, 2, 1 and check that the host switches while the session stays,
// look at Redis, check that another site's link and form cannot end the
// session, invalidate with the page's own form (a POST) and check that a
// new session follows, then stop Redis and check that the module's 503 is
// shown on the page.  The protected area /app/ (shared_session_require)
// sends the browser to index.html before it has a session, and shows what
// its backend was told once it has one.  Screenshots
// go to E2E_OUTPUT.  Prints "N passed, N failed" last; exits 1 on a failure.
//
// With E2E_SPRING=1 the demo's container 2 is the seed's real Spring Boot
// app (scripts/demo.sh with SPRING=1): the same steps show the host
// switching between nginx (container 1) and Spring (container 2) while the
// session stays; Redis is checked after Spring's answer too, the screenshot
// is shared-session-spring.png, and the 503 is asked of container 1 (the
// module's answer; Spring's own error page is not the module's).
//
// Environment (scripts/e2e.sh sets it):
//   E2E_BASE_URL        the front router, e.g. http://127.0.0.1:8080
//   E2E_REDIS_PORT      the demo's redis-server (redis-cli -p)
//   E2E_REDIS_PIDFILE   its pid file, to stop it for the 503 check
//   E2E_OUTPUT          where the screenshots go (default ./output)
//   E2E_SPRING          1: container 2 is the Spring Boot app
//   E2E_CONTAINER2_URL  container 2 itself (the Spring app's /events)
//   CHROMIUM            the browser (default /usr/bin/chromium)

"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const base = process.env.E2E_BASE_URL || "http://127.0.0.1:8080";
const redisPort = process.env.E2E_REDIS_PORT || "6379";
const redisPidfile = process.env.E2E_REDIS_PIDFILE || "";
const output = path.resolve(process.env.E2E_OUTPUT
                            || path.join(__dirname, "output"));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const spring = process.env.E2E_SPRING === "1";
const container2 = process.env.E2E_CONTAINER2_URL || "";
const variant = spring ? "-spring" : "";

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu",
  "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run",
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const NS = "spring:session:";

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function equal(actual, expected, what) {
  check(actual === expected,
        `${what}: expected ${JSON.stringify(expected)}, `
        + `got ${JSON.stringify(actual)}`);
}

function redis(...args) {
  return execFileSync("redis-cli", ["-p", redisPort, "--raw", ...args],
                      { encoding: "utf8", timeout: 5000,
                        stdio: ["ignore", "pipe", "pipe"] })
    .split("\n").filter((l) => l !== "");
}

function hgetall(key) {
  const l = redis("hgetall", key), h = {};
  for (let i = 0; i + 1 < l.length; i += 2) h[l[i]] = l[i + 1];
  return h;
}

// What the page shows, field by field.
async function shown(page) {
  const text = async (id) => (await page.locator("#" + id).textContent()).trim();
  const title = await page.locator("#last-updated").getAttribute("title");
  return {
    host: await text("host"),
    lastUpdated: await text("last-updated"),
    lastUpdatedMs: Number((title || "").split(" ")[0]),
    sessionId: await text("session-id"),
    previousHost: await text("previous-host"),
    isNew: await text("new"),
    created: await text("creation-time"),
  };
}

// Types the container number, presses "Shared Session", waits for the page
// to show the answer (a new history row) or an error, and returns it.
async function ask(page, n) {
  const rows = await page.locator("#history tr").count();
  await page.fill("#container", String(n));
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/" + n),
    page.click("#shared-session"),
  ]);
  await page.waitForFunction(
    (before) => document.querySelectorAll("#history tr").length > before
                || !document.getElementById("error").hidden,
    rows, { timeout: 10000 });
  if (await page.locator("#error").isVisible()) {
    throw new Error(`GET /${n} (HTTP ${response.status()}): page shows "`
                    + (await page.locator("#error").textContent()) + '"');
  }
  equal(response.status(), 200, `GET /${n} status`);
  return shown(page);
}

async function main() {
  fs.mkdirSync(output, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-chromium-"));
  const results = [];
  let context;

  const test = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
      results.push(true);
      console.log(`ok ${results.length} - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      results.push(false);
      console.log(`not ok ${results.length} - ${name}`);
      console.log("    " + String(e && e.message || e).split("\n").join("\n    "));
    }
  };

  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath, headless: true, args: FLAGS,
      viewport: { width: 1100, height: 900 },
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(10000);
    const s = [];

    await test("index.html loads through the front router", async () => {
      const r = await page.goto(base + "/index.html");
      equal(r.status(), 200, "GET /index.html status");
      equal(await page.title(), "Shared Session", "title");
      check(await page.locator("#shared-session").isVisible(),
            '"Shared Session" button not visible');
      equal((await page.locator("#shared-session").textContent()).trim(),
            "Shared Session", "button text");
      check(await page.locator("#invalidate").isVisible(),
            '"Invalidate Session" button not visible');
      equal(await page.locator("#invalidate-form").getAttribute("method"),
            "post", "Invalidate Session's form method");
    });

    await test("without a session, /app/ sends the browser to index.html",
               async () => {
      const r = await page.goto(base + "/app/");
      equal(page.url(), base + "/index.html", "page after GET /app/");
      const first = r.request().redirectedFrom();
      check(first, "no redirect from /app/");
      equal((await first.response()).status(), 302, "GET /app/ status");
      check(!(await context.cookies(base)).some((c) => c.name === "SESSION"),
            "a SESSION cookie was set");
      equal(redis("keys", NS + "*").length, 0, "keys in Redis");
    });

    await test("container 1, 2, 1: the host switches, the session stays",
               async () => {
      s[0] = await ask(page, 1);
      check(UUID.test(s[0].sessionId), `session id ${s[0].sessionId}`);
      equal(s[0].host, "container-1", "first answer's host");
      equal(s[0].isNew, "yes", "first answer is a new session");
      check(/^\(none/.test(s[0].previousHost),
            `first previous host: ${s[0].previousHost}`);
      check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(s[0].lastUpdated),
            `last updated not human-readable: ${s[0].lastUpdated}`);
      check(Math.abs(s[0].lastUpdatedMs - Date.now()) < 60000,
            `last updated ${s[0].lastUpdatedMs} is not now`);

      s[1] = await ask(page, 2);
      equal(s[1].host, "container-2", "second answer's host");
      if (spring) {
        // what Spring wrote, the seed's JSON, is what the module reads next
        const h = hgetall(NS + "sessions:" + s[1].sessionId);
        const attr = JSON.parse(h["sessionAttr:scopedTarget.sampleSession"]);
        equal(attr.host, "container-2", "attribute host after Spring");
        equal(attr.lastUpdatedAt[1], s[1].lastUpdatedMs,
              "attribute lastUpdatedAt after Spring");
        check(Number(h.lastAccessedTime) > s[0].lastUpdatedMs,
              "Spring did not touch lastAccessedTime");
      }
      equal(s[1].sessionId, s[0].sessionId, "session id after /2");
      equal(s[1].previousHost, "container-1", "previous host after /2");
      equal(s[1].isNew, "no", "second answer is new");
      equal(s[1].created, s[0].created, "creation time after /2");

      s[2] = await ask(page, 1);
      equal(s[2].host, "container-1", "third answer's host");
      equal(s[2].sessionId, s[0].sessionId, "session id after /1 again");
      equal(s[2].previousHost, "container-2", "previous host after /1 again");
      equal(s[2].isNew, "no", "third answer is new");
      check(s[2].lastUpdatedMs >= s[1].lastUpdatedMs
            && s[1].lastUpdatedMs >= s[0].lastUpdatedMs,
            "last updated times go backwards");
    });

    if (spring) {
      await test("container 2 is the Spring Boot app", async () => {
        check(container2, "E2E_CONTAINER2_URL not set");
        // /events is the app's own endpoint (the module has none)
        const r = await fetch(container2 + "/events");
        equal(r.status, 200, "GET /events of container 2");
        check(Array.isArray(await r.json()), "/events is not a JSON list");
      });
    }

    await test("Redis holds the session as Spring Session does", async () => {
      check(s[2], "no session from the previous test");
      const id = s[2].sessionId;
      const keys = redis("keys", NS + "*");
      check(keys.includes(NS + "sessions:" + id), `no hash in ${keys}`);
      check(keys.includes(NS + "sessions:expires:" + id),
            `no shadow key in ${keys}`);
      check(keys.some((k) => k.startsWith(NS + "expirations:")),
            `no expiration bucket in ${keys}`);
      const h = hgetall(NS + "sessions:" + id);
      equal(h.maxInactiveInterval, "1800", "maxInactiveInterval");
      equal(h.lastAccessedTime, String(s[2].lastUpdatedMs), "lastAccessedTime");
      const attr = JSON.parse(h["sessionAttr:scopedTarget.sampleSession"]);
      equal(attr.host, "container-1", "attribute host");
      equal(attr["@class"], "org.debugroom.mynavi.sample.aws.elasticache"
            + ".app.web.model.SampleSession", "attribute class");
      equal(attr.lastUpdatedAt[1], s[2].lastUpdatedMs, "attribute lastUpdatedAt");
    });

    await test("with the session, /app/ shows what its backend was told",
               async () => {
      check(s[2], "no session from the previous tests");
      const id = s[2].sessionId;
      const r = await page.goto(base + "/app/");
      equal(r.status(), 200, "GET /app/ status");
      equal(page.url(), base + "/app/", "page after GET /app/");
      const text = await page.locator("body").textContent();
      check(text.includes("X-Session-Id:        " + id),
            `the backend did not get the session id ${id}: ${text}`);
      check(text.includes("X-Session-Status:    valid"),
            `the backend did not get the status: ${text}`);
      check(text.includes("X-Session-Created:   "
                          + hgetall(NS + "sessions:" + id).creationTime),
            `the backend did not get the creation time: ${text}`);
      const h = hgetall(NS + "sessions:" + id);
      check(Number(h.lastAccessedTime) >= s[2].lastUpdatedMs,
            "the session was not touched by /app/");
      equal(JSON.parse(h["sessionAttr:scopedTarget.sampleSession"]).host,
            "container-1", "attribute host after /app/ (not written)");
      const shot = path.join(output, spring ? "protected-area-spring.png"
                                            : "protected-area.png");
      await page.screenshot({ path: shot, fullPage: true });
      check(fs.statSync(shot).size > 1000, "screenshot is empty");
      console.log(`    screenshot: ${shot}`);
      await page.goto(base + "/index.html");
    });

    // A page of another site (served by the browser itself) with a link and
    // a form to the endpoint: the link's GET carries the SameSite=Lax
    // cookie (a top-level navigation) and gets 405, the form's POST is
    // cross-site and gets 403.  The session lives on.
    await test("another site's link and form do not end the session",
               async () => {
      check(s[2], "no session from the previous tests");
      const id = s[2].sessionId;
      const target = base + "/invalidateSession";
      const other = "http://attacker.test/";
      await page.route(other + "**", (route) => route.fulfill({
        status: 200, contentType: "text/html",
        body: `<!DOCTYPE html><title>another site</title>`
              + `<a id="link" href="${target}">a link</a>`
              + `<form method="post" action="${target}">`
              + `<button id="post" type="submit">a form</button></form>`,
      }));
      try {
        for (const [what, selector, status] of [["link (GET)", "#link", 405],
                                                ["form (POST)", "#post", 403]]) {
          await page.goto(other);
          const [response] = await Promise.all([
            page.waitForResponse((r) => r.url() === target),
            page.click(selector),
          ]);
          equal(response.status(), status, `another site's ${what}: status`);
          equal(hgetall(NS + "sessions:" + id).maxInactiveInterval, "1800",
                `maxInactiveInterval after another site's ${what}`);
        }
      } finally {
        await page.unroute(other + "**");
        await page.goto(base + "/index.html");
      }
      check((await context.cookies(base)).some((c) => c.name === "SESSION"),
            "SESSION cookie gone");
    });

    await test("Invalidate Session ends it, a new session follows", async () => {
      check(s[2], "no session from the previous tests");
      const old = s[2].sessionId;
      await Promise.all([
        page.waitForURL(base + "/index.html"),
        page.click("#invalidate"),
      ]);
      const cookies = await context.cookies(base);
      check(!cookies.some((c) => c.name === "SESSION"),
            "SESSION cookie still set after invalidate");
      equal(hgetall(NS + "sessions:" + old).maxInactiveInterval, "0",
            "old session's maxInactiveInterval");
      equal(redis("exists", NS + "sessions:expires:" + old)[0], "0",
            "old shadow key exists");

      s[3] = await ask(page, 1);
      check(UUID.test(s[3].sessionId), `session id ${s[3].sessionId}`);
      check(s[3].sessionId !== old, `same session id ${old} after invalidate`);
      equal(s[3].isNew, "yes", "answer after invalidate is new");
      equal(s[3].host, "container-1", "host after invalidate");

      s[4] = await ask(page, 2);
      equal(s[4].sessionId, s[3].sessionId, "new session id after /2");
      equal(s[4].host, "container-2", "host of the new session on /2");
      equal(s[4].previousHost, "container-1", "previous host on /2");

      if (spring) {
        // two more rounds, for the history to show the switching
        for (const n of [1, 2]) {
          const r = await ask(page, n);
          equal(r.sessionId, s[3].sessionId, `session id after /${n}`);
          equal(r.host, `container-${n}`, `host of /${n}`);
        }
      }

      if (spring) {
        // a caption for the screenshot (the page itself does not know
        // which container is which)
        await page.evaluate(() => {
          const p = document.createElement("p");
          p.id = "e2e-caption";
          p.style.cssText = "background:#ddf4ff;border:1px solid #54aeff;"
            + "border-radius:6px;padding:.5rem 1rem;font-size:.9rem";
          p.textContent = "e2e, the mixed migration: container-1 is nginx "
            + "with the module, container-2 the seed's Spring Boot app "
            + "(java, build/spring/boot2.jar); one Redis. "
            + "(Caption added by the test.)";
          document.body.insertBefore(p, document.body.firstChild);
        });
      }

      const shot = path.join(output, `shared-session${variant}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      check(fs.statSync(shot).size > 1000, "screenshot is empty");
      console.log(`    screenshot: ${shot}`);
      if (spring) {
        await page.evaluate(() =>
          document.getElementById("e2e-caption").remove());
      }
    });

    // container 1, nginx, in both variants: the module's answer
    await test("Redis down: the page shows the module's 503", async () => {
      check(redisPidfile, "E2E_REDIS_PIDFILE not set");
      const pid = Number(fs.readFileSync(redisPidfile, "utf8").trim());
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100; i++) {
        try { redis("ping"); } catch (e) { break; }
        await new Promise((r) => setTimeout(r, 50));
      }
      const n = spring ? "1" : "2";
      await page.fill("#container", n);
      const [response] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === "/" + n),
        page.click("#shared-session"),
      ]);
      equal(response.status(), 503, "status with Redis down");
      await page.locator("#error").waitFor({ state: "visible" });
      const text = await page.locator("#error").textContent();
      check(/503/.test(text) && /session store unavailable/.test(text),
            `error shown: "${text}"`);
      await page.screenshot({ path: path.join(output,
                                              `redis-down${variant}.png`),
                              fullPage: true });
    });
  } catch (e) {
    results.push(false);
    console.log("not ok - the browser: " + (e && e.message || e));
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }

  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main();
