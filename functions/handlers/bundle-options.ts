/**
 * How every Lambda handler is bundled, shared by the CDK stack and `npm run bench`, so the bundle
 * measured is the bundle deployed: minified ESM for Node.js 22, tree-shaken, with a `require`
 * shim for the CommonJS dependencies.
 */
export const HANDLERS = ['tick', 'api', 'validate-config', 'savings', 'events', 'deliver'] as const;
export type HandlerName = (typeof HANDLERS)[number];

export const BUNDLE_TARGET = 'node22';

/**
 * Everything is bundled, the AWS SDK included: the version tested is the version deployed, and
 * one file imports faster than the runtime's many SDK files.
 */
export const EXTERNAL_MODULES: string[] = [];

/** ESM builds first: they tree-shake, which more than halves the AWS SDK's share. */
export const MAIN_FIELDS = ['module', 'main'];

export const ESM_REQUIRE_BANNER =
  "import { createRequire as __nightshiftCreateRequire } from 'node:module'; const require = __nightshiftCreateRequire(import.meta.url);";

/**
 * The esbuild options every Lambda-like bundle is built with outside the CDK (the bench, the
 * bundle tests): one set, so what is measured and tested is what the stack deploys.
 */
export const LAMBDA_BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  treeShaking: true,
  format: 'esm',
  platform: 'node',
  target: BUNDLE_TARGET,
  banner: { js: ESM_REQUIRE_BANNER },
  external: EXTERNAL_MODULES,
  mainFields: MAIN_FIELDS,
  logLevel: 'error',
} as const;

export function handlerEntry(name: HandlerName): string {
  return `functions/handlers/${name}.ts`;
}

/**
 * The CLI is bundled the same way (see `scripts/build-cli.ts`), but for the oldest Node.js it
 * supports, and split into chunks so that a command loads only its own code.
 */
export const CLI_TARGET = 'node20';
export const CLI_ENTRY = 'functions/cli/main.ts';
