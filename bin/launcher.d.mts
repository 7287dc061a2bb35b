export function freshBuild(root: string): string | undefined;
export function chooseEntry(
  root: string,
  env: Record<string, string | undefined>,
): { from: 'build' | 'sources'; entry: string };
