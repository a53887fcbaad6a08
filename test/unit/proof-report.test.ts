// The proof report lines, exactly as the spec's example run prints them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLine, headerLines, RULE, sectionLine, summaryLines, waitingLine } from '../../src/proof/proof-report.js';
import { sampleValue } from '../../src/proof/proof-run.js';

test('prints the header, sections and check lines of the spec', () => {
  assert.equal(RULE.length, 68);
  assert.equal(headerLines(), `\n${RULE}\nP2.7 HeatBridge Proof: Shadow Wiring Layer\n${RULE}\n`);
  assert.equal(sectionLine('A'), '\n[A] Test: Basic injection → lookup keys created\n');
  assert.equal(sectionLine('E'), '\n[E] Verify HeatBridge health endpoint\n');
  assert.equal(
    checkLine({ test: 'A', ok: true, message: 'by_plan key created with correct fields' }),
    '✅ PASS: Test A: by_plan key created with correct fields\n',
  );
  assert.equal(checkLine({ test: 'E', ok: false, message: 'down' }), '❌ FAIL: Test E: down\n');
  assert.equal(waitingLine(10), '   Waiting up to 10s for processing...\n');
});

test('summarises all passed, or how many checks failed', () => {
  const pass = { test: 'D', ok: true, message: 'm' } as const;
  const fail = { test: 'E', ok: false, message: 'm' } as const;
  assert.equal(summaryLines([pass]), `\n${RULE}\n✅ SUMMARY: PASS (all tests passed)\n${RULE}\n`);
  assert.equal(summaryLines([pass, fail]), `\n${RULE}\n❌ SUMMARY: FAIL (1 of 2 checks failed)\n${RULE}\n`);
});

test('sampleValue reads an unlabelled sample and ignores its HELP and TYPE lines', () => {
  const text = '# HELP p27_in_messages_total x\n# TYPE p27_in_messages_total counter\np27_in_messages_total 456\n';
  assert.equal(sampleValue(text, 'p27_in_messages_total'), 456);
  assert.equal(sampleValue(text, 'p27_dedupe_skips_total'), null);
});
