import { findNodeAtLocation, type Node, parseTree } from 'jsonc-parser';
import type { ConfigIssue } from './validate.ts';

/**
 * Line and column of each problem in the config text, so an editor (or a person counting lines)
 * finds it: the key of a field at fault, the value of an array item, or, for a field that is
 * missing, the object that lacks it. Computed only when there are problems to report.
 */
export function withPositions(issues: readonly ConfigIssue[], text: string): ConfigIssue[] {
  if (issues.length === 0) return [...issues];
  const root = parseTree(text, [], { allowTrailingComma: false, disallowComments: true });
  if (!root) return [...issues];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  return issues.map((issue) => {
    if (issue.line !== undefined) return issue;
    const segments = pathSegments(issue.path);
    if (!segments) return issue;
    const offset = offsetOf(root, segments);
    if (offset === undefined) return issue;
    let line = 0;
    while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= offset) line++;
    return { ...issue, line: line + 1, column: offset - lineStarts[line]! + 1 };
  });
}

/** Where the node of a path starts; a path that does not exist falls back to its nearest parent. */
function offsetOf(root: Node, segments: (string | number)[]): number | undefined {
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, segments.slice(0, n));
    if (!node) continue;
    // A field points at its key ("jobid": ...), which is what a person looks for.
    return node.parent?.type === 'property' ? node.parent.offset : node.offset;
  }
  return undefined;
}

/**
 * The segments of a path as `formatPath` writes it: `schedules[1].actions[0].cron`,
 * `targets["a b"].kind`; undefined for the pseudo-paths `(root)`, `(file)`, `(line …)`.
 */
export function pathSegments(path: string): (string | number)[] | undefined {
  if (path.startsWith('(')) return path === '(root)' ? [] : undefined;
  const segments: (string | number)[] = [];
  const pattern = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = 0;
  while (at < path.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(path);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(match[3]!) as string);
    at = pattern.lastIndex;
  }
  return segments;
}
