/** Where the lab keeps its state (git-ignored): `.lab/` for data, logs and pids; `.tools/` for built or installed tools. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LAB_DIR = process.env.GMSA_LAB_DIR ?? path.join(PROJECT_ROOT, '.lab');
export const TOOLS_DIR = process.env.GMSA_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools');
export const LAB_ENV_FILE = path.join(LAB_DIR, 'lab.env');

export const labPath = (...parts: string[]) => path.join(LAB_DIR, ...parts);
