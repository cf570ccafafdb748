/** The lab parts integration suites run against: test/integration/<dir>/ needs the part registered for <dir>. */
import type { LabPart } from '../lab/part.js';
import { labParts } from '../lab/parts.js';

export function integrationLabParts(): { dir: string; part: LabPart }[] {
  return labParts().map((e) => ({ dir: e.testDir, part: e.part }));
}
