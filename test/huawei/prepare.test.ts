import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, type HttpRequest } from '../../functions/huawei/http.ts';

/**
 * `prepare`: the slow part of an admission (the engine's in-flight write) is done before the
 * request waits for a connection slot, so no slot is held while it is written; `admit` still
 * makes the last check as the request goes out.
 */
describe('requests prepared before they wait for a slot', () => {
  let server: Server | undefined;
  let client: HttpClient | undefined;
  afterEach(async () => {
    await client?.close();
    await new Promise((resolve) => server?.close(resolve));
    server = client = undefined;
  });

  /** A server answering each request after `delayMs`; counts the requests it has under way. */
  const start = async (delayMs: number) => {
    const seen = { received: 0, inFlight: 0 };
    server = createServer((req, res) => {
      seen.received += 1;
      seen.inFlight += 1;
      req.resume();
      setTimeout(() => {
        seen.inFlight -= 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/thing`;
    return { seen, url };
  };
  const request = (url: string, more: Partial<HttpRequest>): HttpRequest => ({
    account: 'prod',
    method: 'PUT',
    url,
    call: 'PUT /v1/thing',
    changesState: true,
    ...more,
  });

  it('prepares while the slots are busy, never more than the in-flight limit ahead; admits in its slot', async () => {
    const { seen, url } = await start(60);
    client = new HttpClient({ maxInFlightPerAccount: 2 });
    let waiting = 0;
    let mostWaiting = 0;
    // Requests admitted and not yet answered, as the client sees them (the server's own count
    // lags on a loaded machine: a request admitted may not have reached it yet).
    let underWay = 0;
    const log: string[] = [];
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client!
          .request(
            request(url, {
              prepare: async () => {
                await new Promise((resolve) => setTimeout(resolve, 5)); // a write
                log.push(`prepare ${i} (under way ${underWay})`);
                waiting += 1;
                mostWaiting = Math.max(mostWaiting, waiting);
                return true;
              },
              admit: async () => {
                waiting -= 1;
                underWay += 1;
                log.push(`admit ${i}`);
                return {};
              },
            }),
          )
          .finally(() => {
            underWay -= 1;
          }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(seen.received).toBe(8);
    // Prepared while both slots were busy (in its slot it could only be prepared with one free),
    // and never more than the limit waiting for a slot.
    expect(mostWaiting).toBeLessThanOrEqual(2);
    expect(log.some((l) => /^prepare \d \(under way 2\)/.test(l))).toBe(true);
    // Each was prepared before it was admitted.
    for (let i = 0; i < 8; i++) {
      const prepared = log.findIndex((l) => l.startsWith(`prepare ${i} `));
      expect(prepared).toBeGreaterThanOrEqual(0);
      expect(prepared).toBeLessThan(log.indexOf(`admit ${i}`));
    }
  });

  it('a refused (or failed) preparation: NOT_SENT, nothing sent, admit never asked', async () => {
    const { seen, url } = await start(0);
    client = new HttpClient();
    let admitted = 0;
    for (const prepare of [async () => false, async () => Promise.reject(new Error('ENOSPC'))]) {
      await expect(
        client.request(
          request(url, {
            prepare,
            admit: async () => {
              admitted += 1;
              return {};
            },
          }),
        ),
      ).rejects.toMatchObject({ code: 'NIGHTSHIFT.NOT_SENT', attempts: 0 });
    }
    expect(admitted).toBe(0);
    expect(seen.received).toBe(0);
  });

  it('prepared, then the deadline passes while it waits for a slot: not sent (the caller takes its record back)', async () => {
    const { seen, url } = await start(1_500);
    client = new HttpClient({ maxInFlightPerAccount: 1 });
    const deadline = Date.now() + 700;
    let prepared = 0;
    let admitted = 0;
    const outcomes = await Promise.allSettled(
      [0, 1].map(() =>
        client!.request(
          request(url, {
            deadline,
            prepare: async () => {
              prepared += 1;
              return true;
            },
            admit: async () => {
              admitted += 1;
              return {};
            },
          }),
        ),
      ),
    );
    expect(prepared).toBe(2);
    // The first went out (and was cut by the deadline); the second never had a slot in time.
    expect(admitted).toBe(1);
    expect(seen.received).toBe(1);
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'NIGHTSHIFT.DEADLINE' } });
  });
});
