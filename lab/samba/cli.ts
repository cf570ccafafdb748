/** Manual use: `tsx lab/samba/cli.ts start` prints the settings as shell assignments; `stop` stops the DC. */
import { sambaLab } from './index.js';

const shellQuote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

try {
  const command = process.argv[2];
  if (command === 'start') {
    const settings = await sambaLab.start();
    for (const [key, value] of Object.entries(settings)) process.stdout.write(`${key}=${shellQuote(value)}\n`);
  } else if (command === 'stop') {
    await sambaLab.stop();
  } else {
    process.stderr.write('usage: tsx lab/samba/cli.ts start|stop\n');
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
