import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger, PageSession } from '../../functions/engine/ledger.ts';
import { hashOf, newSessionId } from '../../functions/page/sign-in.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';

const NOW = Date.parse('2027-03-26T18:00:00Z');
const HOUR = 3600_000;
const session = (cookie: string, scope: 'read' | 'write' = 'write'): PageSession => ({
  idHash: hashOf(cookie),
  scope,
  name: 'alice@laptop',
  createdAt: new Date(NOW).toISOString(),
  expiresAt: new Date(NOW + 12 * HOUR).toISOString(),
});

/** What every ledger must do with the page's sessions and used links, on files and DynamoDB alike. */
function behaves(name: string, make: () => Promise<{ a: Ledger; b: Ledger }>) {
  describe(name, () => {
    it('a session stored by one process is found by another until it expires or is removed', async () => {
      const { a, b } = await make();
      const cookie = newSessionId();
      await a.putSession(session(cookie));
      expect(await b.session(hashOf(cookie), NOW + 12 * HOUR - 1)).toEqual(session(cookie));
      expect(await b.session(hashOf(cookie), NOW + 12 * HOUR)).toBeUndefined();
      expect(await b.session(hashOf(newSessionId()), NOW)).toBeUndefined();
      await b.removeSession(hashOf(cookie));
      expect(await a.session(hashOf(cookie), NOW)).toBeUndefined();
      await a.removeSession(hashOf(cookie));
    });

    it('a sign-in link is used once, whichever process and however many at a time', async () => {
      const { a, b } = await make();
      const link = hashOf('link-id-1');
      expect(await a.signInLinkUsed(link, NOW)).toBe(false);
      const tries = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).useSignInLink(link, NOW + HOUR)),
      );
      expect(tries.filter(Boolean)).toHaveLength(1);
      expect(await b.signInLinkUsed(link, NOW)).toBe(true);
      expect(await a.useSignInLink(hashOf('link-id-2'), NOW + HOUR)).toBe(true);
    });
  });
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-page-sessions-'));
  dirs.push(dir);
  return dir;
};

behaves('FileLedger: two ledgers on one state folder', async () => {
  const dir = folder();
  return { a: new FileLedger(dir, () => NOW), b: new FileLedger(dir, () => NOW) };
});

describe('FileLedger page sessions', () => {
  it('keeps the hash of the cookie, never the cookie; expired sessions and links go as later ones come', async () => {
    const dir = folder();
    let now = NOW;
    const ledger = new FileLedger(dir, () => now);
    const cookie = newSessionId();
    await ledger.putSession(session(cookie));
    await ledger.useSignInLink(hashOf('old-link'), NOW + HOUR);
    const files = readdirSync(join(dir, 'page-sessions'));
    expect(files).toEqual([`${hashOf(cookie)}.json`]);
    expect(readFileSync(join(dir, 'page-sessions', files[0]!), 'utf8')).not.toContain(cookie);
    now = NOW + 13 * HOUR;
    await ledger.putSession(session(newSessionId()));
    await ledger.useSignInLink(hashOf('new-link'), now + HOUR);
    expect(readdirSync(join(dir, 'page-sessions'))).toHaveLength(1);
    expect(readdirSync(join(dir, 'signin-links'))).toEqual([`${hashOf('new-link')}.json`]);
  });

  it('a session or used-link file holding `null` is no session, and blocks no later sign-in', async () => {
    const dir = folder();
    let now = NOW;
    const ledger = new FileLedger(dir, () => now);
    await ledger.putSession(session(newSessionId()));
    await ledger.useSignInLink(hashOf('link'), NOW + HOUR);
    for (const [sub, name] of [
      ['page-sessions', 'a'.repeat(64)],
      ['signin-links', hashOf('link')],
    ] as const)
      writeFileSync(join(dir, sub, `${name}.json`), 'null');
    expect(await ledger.session('a'.repeat(64), NOW)).toBeUndefined();
    expect(await ledger.signInLinkUsed(hashOf('link'), NOW)).toBe(false);
    now = NOW + 13 * HOUR; // prunes on the next write: the `null` files must not stop it
    const cookie = newSessionId();
    await ledger.putSession(session(cookie));
    expect(await ledger.useSignInLink(hashOf('next'), now + HOUR)).toBe(true);
  });

  it('refuses a name that is not a hash: nothing reaches outside its folder', async () => {
    const ledger = new FileLedger(folder(), () => NOW);
    await expect(ledger.session('../../etc/passwd', NOW)).rejects.toThrow(/64 hex digits/);
    await expect(ledger.useSignInLink('../x', NOW)).rejects.toThrow(/64 hex digits/);
  });
});

let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
const dynamoLedgers = async () => {
  const tableName = `page-sessions-${++tables}`;
  await dynamo.createTable(tableName);
  const make = () => new DynamoLedger(dynamo.client, { tableName, now: () => NOW });
  return { tableName, a: make(), b: make() };
};

behaves('DynamoLedger against dynalite: two containers on one table', dynamoLedgers);

describe('DynamoLedger page sessions', () => {
  it('items expire by TTL: a session at its end, a used link at the link’s own expiry', async () => {
    const { tableName, a } = await dynamoLedgers();
    const cookie = newSessionId();
    await a.putSession(session(cookie));
    await a.useSignInLink(hashOf('link'), NOW + HOUR);
    const item = async (pk: string, sk: string) =>
      (
        await dynamo.client.send(
          new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } } }),
        )
      ).Item!;
    const stored = await item(`SESSION#${hashOf(cookie)}`, 'SESSION');
    expect(Number(stored.ttl!.N)).toBe((NOW + 12 * HOUR) / 1000);
    expect(JSON.stringify(stored)).not.toContain(cookie);
    expect(Number((await item(`LINK#${hashOf('link')}`, 'LINK')).ttl!.N)).toBe((NOW + HOUR) / 1000);
  });
});
