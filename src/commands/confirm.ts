// Asks the person at the terminal to confirm a destructive action; answers no when nobody can answer.

import { createInterface } from 'node:readline/promises';

/**
 * Prints question on stderr and reads one line from stdin: true only for y or yes. Returns null when
 * stdin is not a terminal, so a script never deletes by accident: it must say --yes.
 */
export async function confirm(question: string, stdin: NodeJS.ReadStream = process.stdin): Promise<boolean | null> {
  if (!stdin.isTTY) return null;
  const rl = createInterface({ input: stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
