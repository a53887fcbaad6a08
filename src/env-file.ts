// Parses an env file in the spec's format (KEY=VALUE lines, # comments) into a plain record.

export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

function unquote(raw: string): string {
  const value = raw.trim();
  const first = value[0];
  if (first === '"' || first === "'") {
    // A quoted value ends at its closing quote; only a comment may follow it.
    const close = value.indexOf(first, 1);
    const rest = close === -1 ? '' : value.slice(close + 1).trim();
    if (close !== -1 && (rest === '' || rest.startsWith('#'))) return value.slice(1, close);
  }
  // An unquoted value may carry a trailing comment, as in the spec's example file.
  const hash = value.search(/\s#/);
  return hash === -1 ? value : value.slice(0, hash).trimEnd();
}

/** Pure: returns the variables in file order; later lines win. Throws on a malformed line. */
export function parseEnvFile(text: string, source = 'env file'): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = LINE.exec(trimmed);
    if (match === null) {
      throw new EnvFileError(`${source}:${index + 1}: expected KEY=VALUE, got ${JSON.stringify(trimmed)}`);
    }
    const [, key, raw] = match as unknown as [string, string, string];
    vars[key] = unquote(raw);
  }
  return vars;
}
