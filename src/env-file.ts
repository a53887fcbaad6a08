// Parses an env file exactly as systemd's EnvironmentFile= reads it, refusing each line a human or a shell would read otherwise.

/**
 * A line whose meaning is unclear or differs under systemd; the message names the file, the line
 * number, the variable when there is one, and what to do.
 */
export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

/** systemd's hint for the commonest mismatch (issue 10 §1); also used for values that reach us through systemd. */
export const INLINE_COMMENT_HINT = 'systemd keeps inline comments: put the comment on its own line';

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(.*)$/;
const EXPORT_LINE = /^export[ \t]+([A-Za-z_][A-Za-z0-9_]*)/;
/** Characters a backslash escapes inside double quotes (POSIX shell, and systemd.exec(5)). */
const DOUBLE_QUOTE_ESCAPES = new Set(['"', '\\', '`', '$']);

type Scan =
  | { readonly kind: 'value'; readonly value: string; readonly rest: string }
  | { readonly kind: 'problem'; readonly problem: string };

const CONTINUATION =
  'a backslash at the end of the line joins the next line to the value under systemd: keep the value on one line';
const UNCLOSED = 'the quote is not closed on this line (systemd would read on into the next lines): close it';

function scanSingle(text: string): Scan {
  const close = text.indexOf("'", 1);
  if (close === -1) return { kind: 'problem', problem: UNCLOSED };
  return { kind: 'value', value: text.slice(1, close), rest: text.slice(close + 1) };
}

function scanDouble(text: string): Scan {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') return { kind: 'value', value, rest: text.slice(i + 1) };
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) return { kind: 'problem', problem: CONTINUATION };
    // systemd keeps a backslash before any other character, as the shell does.
    value += DOUBLE_QUOTE_ESCAPES.has(next) ? next : `\\${next}`;
    i++;
  }
  return { kind: 'problem', problem: UNCLOSED };
}

function scanUnquoted(text: string): Scan {
  if (/[ \t]#/.test(text)) return { kind: 'problem', problem: INLINE_COMMENT_HINT };
  let value = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) return { kind: 'problem', problem: CONTINUATION };
    value += next;
    i++;
  }
  return { kind: 'value', value: value.replace(/[ \t]+$/, ''), rest: '' };
}

/** The value after "=", by systemd's rules, or the reason the line is refused. */
function scanValue(raw: string): Scan {
  const text = raw.replace(/^[ \t]+/, '');
  const first = text[0];
  if (first !== "'" && first !== '"') return scanUnquoted(text);
  const scan = first === "'" ? scanSingle(text) : scanDouble(text);
  if (scan.kind === 'problem') return scan;
  const rest = scan.rest.trim();
  if (rest === '') return scan;
  if (rest.startsWith('#')) return { kind: 'problem', problem: INLINE_COMMENT_HINT };
  return {
    kind: 'problem',
    problem: 'systemd joins the text after the closing quote to the value: quote the whole value',
  };
}

/**
 * Pure: the variables of an env file in file order (later lines win), read as systemd.exec(5)
 * EnvironmentFile= reads them, so the CLI's `--env-file` and the service under systemd see the same
 * values:
 * - blank lines and lines whose first non-blank character is `#` or `;` are comments;
 * - `KEY=VALUE`, blanks around `=` and at both ends ignored; no `$` expansion;
 * - unquoted: a backslash keeps the next character (`\\` is one backslash);
 * - `'…'` verbatim; `"…"` with `\"`, `\\`, `` \` ``, `\$` unescaped, other backslashes kept;
 * - CRLF line ends read as LF.
 * Refused with EnvFileError (line number, variable, what to do), because systemd reads them
 * differently from what they appear to say: an inline ` # comment` (systemd keeps it in the value),
 * the shell's `export` prefix (systemd ignores the line), text after a closing quote, a value that
 * continues on the next line (trailing backslash or unclosed quote), a line without `=` or with an
 * invalid name (systemd skips it), a byte order mark.
 */
export function parseEnvFile(text: string, source = 'env file'): Record<string, string> {
  const vars: Record<string, string> = {};
  const fail = (line: number, what: string): never => {
    throw new EnvFileError(`${source}:${line}: ${what}`);
  };
  if (text.startsWith('\uFEFF')) fail(1, 'the file starts with a byte order mark: save it as UTF-8 without BOM');
  for (const [index, rawLine] of text.split('\n').entries()) {
    const lineNo = index + 1;
    const line = rawLine.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line.trim() === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const exported = EXPORT_LINE.exec(line);
    if (exported !== null) {
      fail(
        lineNo,
        `${exported[1]}: systemd does not accept the shell's "export" prefix (it skips the line): remove "export"`,
      );
    }
    const match = KEY_LINE.exec(line);
    if (match === null) {
      // Never echo the whole line: it may hold a password.
      const equals = line.indexOf('=');
      const got = equals === -1 ? 'a line without "="' : `the name ${JSON.stringify(line.slice(0, equals).trim())}`;
      fail(lineNo, `expected KEY=VALUE with KEY made of A-Z, a-z, 0-9 and _ (systemd skips this line), got ${got}`);
    }
    const [, key, raw] = match as unknown as [string, string, string];
    const scan = scanValue(raw);
    if (scan.kind === 'problem') fail(lineNo, `${key}: ${scan.problem}`);
    else vars[key] = scan.value;
  }
  return vars;
}
