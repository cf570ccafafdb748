#!/usr/bin/env node
// The `aks-gmsa` command: runs cli/main.ts under tsx in a child Node, passing arguments, stdio and the exit code
// through. tsx is resolved from this file, not the caller's directory, so the command works from anywhere.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const child = spawn(
  process.execPath,
  [
    '--import',
    import.meta.resolve('tsx'),
    fileURLToPath(new URL('./main.ts', import.meta.url)),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);

// Ctrl-C reaches the child from the terminal itself; a signal sent to this process only is passed on.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));

child.on('error', (err) => {
  process.stderr.write(`aks-gmsa: cannot start node: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1);
});
