import { eastAsianWidth } from 'get-east-asian-width';

/** Renders rows as an aligned plain-text table with a header line. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  return `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}

/**
 * Columns a terminal gives the text: Chinese holiday names (国庆节) and other wide characters take
 * two each, so a table of them stays aligned.
 */
export function width(text: string): number {
  let columns = 0;
  for (const char of text) columns += eastAsianWidth(char.codePointAt(0)!);
  return columns;
}
