/**
 * CSV as RFC 4180 writes it, so any spreadsheet opens it: records end with CRLF, and a field
 * holding a comma, a double quote, CR or LF is enclosed in double quotes, with each double quote
 * inside doubled. Empty and absent values are empty fields; every record has as many fields as
 * the first (the header).
 */
export function csv(records: readonly (readonly (string | number | undefined)[])[]): string {
  const width = records[0]?.length ?? 0;
  return records
    .map((record) => {
      if (record.length !== width)
        throw new RangeError(`a CSV record of ${record.length} fields, not ${width}`);
      return `${record.map(field).join(',')}\r\n`;
    })
    .join('');
}

function field(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
