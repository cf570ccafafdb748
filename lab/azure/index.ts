/**
 * The Azure lab part: the ARM fake (with its token endpoint and Key Vault data planes) as a background process
 * with a pid file under .lab/azure. Set AZURE_LAB_KUBECONFIG to the lab Kubernetes API's kubeconfig so that
 * listClusterUserCredential hands it out; AZURE_LAB_KNOBS (JSON) sets latency and faults from the start, e.g.
 * `{"azureLike":0.01}` for the latency model at 1/100 of real time. `azureLabPart({ keepWorld: true })` (`npm start`)
 * keeps the fake's world in `.lab/azure/world.json` across restarts; `azureLab` (tests, the CLI) keeps it in memory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import type { LabPart } from '../part.js';
import { runningPid, startDaemon, stopDaemon, waitUntil } from '../process.js';
import { adminGet } from './admin-client.js';
import { azureLabDir, SETTINGS_FILE } from './settings.js';

const pidFile = () => path.join(azureLabDir(), 'azure.pid');
const logFile = () => path.join(azureLabDir(), 'azure.log');

function readSettings(): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(SETTINGS_FILE(), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}

async function healthy(settings: Record<string, string> | undefined): Promise<boolean> {
  if (!settings) return false;
  return adminGet(settings, '/health').then(
    () => true,
    () => false,
  );
}

/** Where `npm start` keeps the fake's world. */
export const worldFilePath = () => path.join(azureLabDir(), 'world.json');

export function azureLabPart({ keepWorld = false }: { keepWorld?: boolean } = {}): LabPart {
  return {
    name: 'azure',
    async start(before) {
      const current = readSettings();
      const kubeconfig = before?.KUBECONFIG ?? process.env.AZURE_LAB_KUBECONFIG;
      const sameKubeconfig = current?.AZURE_LAB_KUBECONFIG === kubeconfig;
      const worldFile = keepWorld ? worldFilePath() : '';
      // A fake that keeps no world is restarted for one that must; one that keeps it serves anyone.
      const keepsWorld = !keepWorld || current?.AZURE_LAB_WORLD_FILE === worldFile;
      if (runningPid(pidFile()) !== undefined && sameKubeconfig && keepsWorld && (await healthy(current))) {
        return current as Record<string, string>;
      }
      await stopDaemon(pidFile());
      rmSync(SETTINGS_FILE(), { force: true });
      startDaemon({
        name: 'azure',
        command: process.execPath,
        args: ['--import', 'tsx', path.join('lab', 'azure', 'main.ts')],
        cwd: PROJECT_ROOT,
        pidFile: pidFile(),
        logFile: logFile(),
        env: {
          ...process.env,
          ...(kubeconfig ? { AZURE_LAB_KUBECONFIG: kubeconfig } : {}),
          AZURE_LAB_CLIENT_SECRET: randomBytes(24).toString('base64url'),
          AZURE_LAB_PORT: process.env.AZURE_LAB_PORT ?? '0',
          AZURE_LAB_WORLD_FILE: worldFile,
        },
      });
      await waitUntil('azure fake', async () => existsSync(SETTINGS_FILE()) && healthy(readSettings()), {
        timeoutMs: 30_000,
        logFile: logFile(),
      });
      return readSettings() as Record<string, string>;
    },
    async stop() {
      await stopDaemon(pidFile());
      rmSync(SETTINGS_FILE(), { force: true });
    },
    running: () => runningPid(pidFile()) !== undefined,
  };
}

/** The fake with its world in memory: tests and the CLI. */
export const azureLab: LabPart = azureLabPart();
