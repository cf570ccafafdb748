/**
 * What the AD integration tests share: the lab DC client (lab/samba/client.ts: settings from the environment, a
 * missing one fails the test with its name, never skips it; run-unique names; an admin connection), and a lock in
 * the directory for tests of forest-wide things.
 */
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { AlreadyExistsError, Attribute, Change } from 'ldapts';
import { baseDn, connect, type AdLab } from '../../lab/samba/client.js';

export * from '../../lab/samba/client.js';

/**
 * Runs `body` holding a lock that lives in the directory itself (an entry only one client can add), so tests of one
 * forest-wide thing (the KDS root keys every DC picks from) never overlap, whichever process or checkout runs them
 * against this DC. A lock older than `staleMs` is a crashed holder's and is taken over.
 */
export async function withDirectoryLock<T>(
  lab: AdLab,
  name: string,
  body: () => Promise<T>,
  { timeoutMs = 120_000, staleMs = 600_000 }: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const dn = `CN=${name},CN=Users,${baseDn(lab)}`;
  const holder = `${os.hostname()} pid ${process.pid} at ${Date.now()}`;
  const deadline = Date.now() + timeoutMs;
  const s = await connect(lab);
  try {
    for (;;) {
      try {
        await s.client.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'container'] }),
          new Attribute({ type: 'description', values: [holder] }),
        ]);
        break;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      const held = String((await s.read(dn, ['description']))?.description ?? '');
      const since = Number(/ at (\d+)$/.exec(held)?.[1]);
      if (Number.isFinite(since) && Date.now() - since > staleMs) {
        // A crashed holder's lock, taken over in one modify that fails if someone else changed it first.
        const takeover = await s.client
          .modify(dn, [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'description', values: [held] }) }),
            new Change({ operation: 'add', modification: new Attribute({ type: 'description', values: [holder] }) }),
          ])
          .then(
            () => true,
            () => false,
          );
        if (takeover) break;
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${dn} still held after ${timeoutMs} ms, by ${held}`);
      await delay(200);
    }
  } finally {
    await s.close();
  }
  try {
    return await body();
  } finally {
    const r = await connect(lab);
    try {
      // Only our own lock: one taken over as stale must not be removed from under its new holder.
      if (String((await r.read(dn, ['description']))?.description ?? '') === holder) await r.client.del(dn);
    } finally {
      await r.close();
    }
  }
}
