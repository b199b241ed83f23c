// Without SMTP_URL the service writes each mail it would send to its log, one JSON
// line per message; scripts/browser-test.sh runs it with LOG_FORMAT=json and hands
// us the log's path. This is the "inbox" of the test.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const WAIT_MS = 20_000;

/** The first link in the mail to `to` whose subject contains `subject`. */
export async function linkInMail(logPath, to, subject) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const mail = mailsIn(logPath).find((m) => m.to === to && m.subject.includes(subject));
    if (mail) {
      const link = mail.message.match(/https?:\/\/\S+/);
      if (!link) throw new Error(`no link in the mail to ${to}:\n${mail.message}`);
      return link[0];
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} with "${subject}" in ${logPath} after ${WAIT_MS} ms`);
    }
    await sleep(100);
  }
}

function mailsIn(logPath) {
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((event) => typeof event.to === 'string' && typeof event.subject === 'string');
}
