// Prints one closing line per vitest JSON report (written when CI is set), in the plain form CI reads:
//   unit: 612 passed, 0 failed, 9 skipped
// Exits non-zero when a report is missing or counted no test, so a run that tested nothing cannot pass.
import { existsSync, readFileSync } from 'node:fs';

let ok = true;
for (const name of process.argv.slice(2)) {
  const path = `.vitest/${name}.json`;
  if (!existsSync(path)) {
    console.log(`${name}: no report at ${path}`);
    ok = false;
    continue;
  }
  const r = JSON.parse(readFileSync(path, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0 || r.numFailedTests > 0) ok = false;
}
process.exitCode = ok ? 0 : 1;
