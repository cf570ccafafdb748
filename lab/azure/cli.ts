/** `tsx lab/azure/cli.ts start|stop|env`: run the Azure lab part by hand; `start` and `env` print its settings. */
import { azureLab } from './index.js';

const command = process.argv[2];
if (command === 'start' || command === 'env') {
  const settings = await azureLab.start();
  for (const [k, v] of Object.entries(settings)) console.log(`export ${k}=${JSON.stringify(v)}`);
} else if (command === 'stop') {
  await azureLab.stop();
} else {
  console.error('usage: lab/azure/cli.ts start|stop|env');
  process.exit(2);
}
