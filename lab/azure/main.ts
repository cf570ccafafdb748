/**
 * The Azure fake's process (started by lab/azure/index.ts as a daemon): listens, then writes its settings file
 * so the starter knows it is up. Options come from the environment the starter sets.
 */
import { writeFileSync } from 'node:fs';
import { ensureCertificates } from './certs.js';
import { expandPreset } from './latency-model.js';
import { startAzureFake } from './server.js';
import { azureLabDir, labSettings, SETTINGS_FILE } from './settings.js';

const env = process.env;
const secret = env.AZURE_LAB_CLIENT_SECRET;
if (!secret) throw new Error('AZURE_LAB_CLIENT_SECRET is required');
const certs = ensureCertificates(azureLabDir());
const fake = await startAzureFake({
  port: Number(env.AZURE_LAB_PORT ?? 0),
  certs,
  clientSecret: secret,
  kubeconfigFile: env.AZURE_LAB_KUBECONFIG || undefined,
  knobs: env.AZURE_LAB_KNOBS ? expandPreset(JSON.parse(env.AZURE_LAB_KNOBS)) : undefined,
  worldFile: env.AZURE_LAB_WORLD_FILE || undefined,
});
const settings = {
  ...labSettings(fake.armEndpoint, fake.world(), certs.caFile),
  // Which kubeconfig listClusterUserCredential hands out, so the starter can tell when it must restart.
  ...(env.AZURE_LAB_KUBECONFIG ? { AZURE_LAB_KUBECONFIG: env.AZURE_LAB_KUBECONFIG } : {}),
  // Where its world is kept, if anywhere: `npm start` asks for a fake that keeps it.
  ...(env.AZURE_LAB_WORLD_FILE ? { AZURE_LAB_WORLD_FILE: env.AZURE_LAB_WORLD_FILE } : {}),
};
writeFileSync(SETTINGS_FILE(), JSON.stringify(settings, null, 2));
console.log(
  `azure fake: ARM and token endpoint on ${fake.armEndpoint}${env.AZURE_LAB_WORLD_FILE ? `; world kept in ${env.AZURE_LAB_WORLD_FILE}` : ''}`,
);

const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
