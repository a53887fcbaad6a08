// Pure: the lines of the spec's proof output, shared by `heat-bridge proof` (scripts/proof_p27_heat_bridge.sh prints the same).

export const RULE = '='.repeat(68);

export const PROOF_SECTIONS = {
  A: 'Test: Basic injection → lookup keys created',
  B: 'Test: Deduplication → same plan_id not rewritten',
  C: 'Test: New plan_id for same symbol updates latest pointer',
  D: 'Verify HeatBridge metrics',
  E: 'Verify HeatBridge health endpoint',
} as const;

export type ProofTest = keyof typeof PROOF_SECTIONS;

export interface CheckResult {
  readonly test: ProofTest;
  readonly ok: boolean;
  readonly message: string;
}

export const headerLines = (): string => `\n${RULE}\nP2.7 HeatBridge Proof: Shadow Wiring Layer\n${RULE}\n`;

export const sectionLine = (test: ProofTest): string => `\n[${test}] ${PROOF_SECTIONS[test]}\n`;

export const waitingLine = (seconds: number): string => `   Waiting up to ${seconds}s for processing...\n`;

export const checkLine = (r: CheckResult): string => `${r.ok ? '✅ PASS' : '❌ FAIL'}: Test ${r.test}: ${r.message}\n`;

export function summaryLines(results: readonly CheckResult[]): string {
  const failed = results.filter((r) => !r.ok).length;
  const verdict =
    failed === 0
      ? '✅ SUMMARY: PASS (all tests passed)'
      : `❌ SUMMARY: FAIL (${failed} of ${results.length} checks failed)`;
  return `\n${RULE}\n${verdict}\n${RULE}\n`;
}
