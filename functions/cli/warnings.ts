/** What the CLI needs of `process` to tidy its warnings; tests pass their own. */
export interface WarningTarget {
  emitWarning: (warning: string | Error, ...rest: never[]) => void;
}

const NODE_VERSION_WARNING = /^(?:\w+: )?NodeVersionSupportWarning:?\s*/;

/**
 * The AWS SDK warns that its future versions need a newer Node.js with a nine-line block, and
 * more than one SDK client may warn. The CLI shows that notice at most once, on one line, with
 * `write`; every other warning goes to Node.js as before.
 */
export function tidySdkWarnings(target: WarningTarget, write: (line: string) => void): void {
  const emit = target.emitWarning.bind(target) as (...args: unknown[]) => void;
  let shown = false;
  target.emitWarning = (warning: string | Error, ...rest: never[]) => {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && NODE_VERSION_WARNING.test(text)) {
      if (!shown) write(`nightshift: warning: ${oneLine(text)}\n`);
      shown = true;
      return;
    }
    emit(warning, ...rest);
  };
}

/** `NodeVersionSupportWarning: The AWS SDK ... More information can be found at: URL` on one line. */
export function oneLine(text: string): string {
  return text
    .replace(NODE_VERSION_WARNING, '')
    .replace(/\s+/g, ' ')
    .replace(/ ?To continue receiving updates[^.]*\./, '')
    .replace(/ ?More information can be found at:? (\S+)/, ' ($1)')
    .trim();
}
