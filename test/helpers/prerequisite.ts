import type { TestContext } from 'node:test';

/**
 * Tests that need something the machine or the build may lack (util-linux `script`, an error
 * code of the catalogue) call this first. Present: false, the test runs. Absent: the test is
 * skipped with `reason` shown in the report, except under CI (`CI=true`, as GitHub Actions and
 * most CI services set it), where a missing prerequisite is a failure: CI must never turn green
 * by skipping.
 */
export function missingPrerequisite(t: TestContext, present: boolean, reason: string): boolean {
  if (present) return false;
  if (process.env.CI === 'true') throw new Error(`${reason} (a failure under CI=true: a test must not skip silently)`);
  t.skip(reason);
  return true;
}
