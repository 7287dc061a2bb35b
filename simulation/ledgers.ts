import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoLedger } from '../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import { startDynalite } from '../test/helpers/dynalite.ts';
import type { SimLedger } from './harness.ts';
import { MarkingMemoryLedger, MemoryLedger } from './memory-ledger.ts';

export type LedgerKind = 'memory' | 'marks' | 'file' | 'dynamodb';
export const LEDGER_KINDS: readonly LedgerKind[] = ['memory', 'marks', 'file', 'dynamodb'];

/** Opens a fresh ledger for each run, of one kind; `close` frees what the kind started. */
export interface LedgerFactory {
  open(now: () => number): Promise<SimLedger>;
  close(): Promise<void>;
}

/**
 * Ledgers for the simulation: in memory (fast, the contract alone), in memory with marks of
 * calls' sending (as the file ledger keeps them), the file ledger in a fresh
 * temporary state folder per run (each engine its own instance on the folder, as two `serve`
 * processes), or DynamoDB on one dynalite server with a table per run (each engine its own
 * client instance).
 */
export async function ledgerFactory(kind: LedgerKind): Promise<LedgerFactory> {
  switch (kind) {
    case 'memory':
      return { open: async () => ({ ledger: new MemoryLedger() }), close: async () => undefined };
    case 'marks':
      return { open: async () => ({ ledger: new MarkingMemoryLedger() }), close: async () => undefined };
    case 'file':
      return {
        async open(now) {
          const dir = mkdtempSync(join(tmpdir(), 'nightshift-sim-'));
          const ledgers = [new FileLedger(dir, now), new FileLedger(dir, now)];
          return {
            ledger: ledgers[0]!,
            engineLedger: (i) => ledgers[i % 2]!,
            close: async () => rmSync(dir, { recursive: true, force: true }),
          };
        },
        close: async () => undefined,
      };
    case 'dynamodb': {
      const dynamo = await startDynalite();
      let tables = 0;
      return {
        async open(now) {
          const tableName = `sim-${++tables}`;
          await dynamo.createTable(tableName);
          const ledgers = [0, 1].map(() => new DynamoLedger(dynamo.client, { tableName, now }));
          return { ledger: ledgers[0]!, engineLedger: (i) => ledgers[i % 2]! };
        },
        close: () => dynamo.stop(),
      };
    }
  }
}
