// Debian's Chromium, started the way it works on a machine with no network but
// the loopback: without the background-networking flags Chromium itself keeps
// dialling Google's hosts, which is noise we do not want mixed into what the page
// asks for. The profile is a fresh empty folder each run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium with an empty profile; `close()` removes the profile. */
export async function launch(executablePath) {
  const profile = mkdtempSync(join(tmpdir(), 'auth-browser-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL stays on this machine (loopback, or data/blob held by the page). */
export function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return LOCAL_HOSTS.has(hostname) || hostname.startsWith('127.');
}

/**
 * Records every request and WebSocket the pages of `context` open, and refuses the
 * ones that would leave the machine, so that a stray CDN link fails the test
 * instead of hanging it on the closed network. WebSockets go through their own
 * route: once requests are routed, Playwright no longer reports them as events.
 */
export async function recordRequests(context) {
  const seen = [];
  context.on('request', (request) => seen.push(`${request.method()} ${request.url()}`));
  await context.route(
    (url) => !isLocal(url.href),
    (route) => route.abort('blockedbyclient'),
  );
  await context.routeWebSocket(
    () => true,
    (socket) => {
      seen.push(`WEBSOCKET ${socket.url()}`);
      if (isLocal(socket.url())) socket.connectToServer();
      else socket.close();
    },
  );
  return {
    all: () => [...seen],
    offMachine: () => seen.filter((line) => !isLocal(line.slice(line.indexOf(' ') + 1))),
  };
}
