#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on the fly so Node 20 and 22+ run it without a build step.
import { register } from 'tsx/esm/api';

register();
const { main, processIo } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), processIo());
