/**
 * The text with every occurrence of the given values replaced by `***`. Applied to upstream
 * answers before they are parsed: a gateway that quotes the access key or token it refused would
 * otherwise carry it into a result's errorMessage, the logs and the ledger.
 */
export function redact(text: string, secrets: readonly string[]): string {
  // A value of a character or two would mangle every message and hides nothing worth hiding.
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.replaceAll(secret, '***'), text);
}
