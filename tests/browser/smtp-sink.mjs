// A real SMTP server for the browser tests: aiosmtpd (pip install aiosmtpd) run by
// `python3 tests/smtp_sink.py` on a free 127.0.0.1 port. Every message is decoded with Python's email
// package (transfer encoding and charset undone) and appended as one JSON line to a file.
// The server stops when its standard input closes, so it never outlives this process.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The script is shared with the Rust tests.
const SCRIPT = fileURLToPath(new URL('../smtp_sink.py', import.meta.url));

/** A port that was free a moment ago (aiosmtpd cannot listen on port 0 and report it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function startOnce(dir, port) {
  return new Promise((resolve, reject) => {
    const file = path.join(dir, `mail-${port}.jsonl`);
    const child = spawn('python3', [SCRIPT, file, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aiosmtpd did not start in 10 s:\n${log}`));
    }, 10_000);
    child.stderr.on('data', (d) => (log += d));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`aiosmtpd exited (${code}):\n${log}`)); });
    child.stdout.on('data', (d) => {
      if (!String(d).includes('ready')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, file, log: () => log });
    });
  });
}

/**
 * Starts the SMTP sink; its mail file goes in `dir`. Resolves to
 * { port, messages(), waitFor(pred, ms), stop() }.
 */
export async function startSmtpSink(dir) {
  let lastError;
  for (let i = 0; i < 5; i++) {
    const port = await freePort();
    let started;
    try {
      started = await startOnce(dir, port);
    } catch (e) {
      lastError = e; // most likely the port was taken in between: try another
      continue;
    }
    const { child, file, log } = started;
    const messages = () =>
      existsSync(file)
        ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
        : [];
    return {
      port,
      messages,
      /** The first message matching `pred`, polling the file until `ms` have passed. */
      async waitFor(pred, ms = 15_000) {
        const until = Date.now() + ms;
        for (;;) {
          const m = messages().find(pred);
          if (m) return m;
          if (Date.now() > until) {
            throw new Error(`no matching mail within ${ms} ms; received: ${JSON.stringify(messages())}\n${log()}`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop() {
        if (child.exitCode !== null) return;
        child.stdin.end();
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => clearTimeout(t));
      },
    };
  }
  throw lastError;
}
